"""The `tokensmith` command line (DESIGN.md §6)."""

from __future__ import annotations

import os

import click

from tokensmith.cli.clients import clients
from tokensmith.cli.context import load_settings, prepared_node, user_errors
from tokensmith.cli.demo import demo
from tokensmith.cli.keys import keys
from tokensmith.store.database import current_revision, head_revision, upgrade
from tokensmith.node import Node


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tokensmith")
def cli() -> None:
    """tokensmith: OAuth 2.0 tokens for machine-to-machine APIs."""


@cli.command()
@click.option("--host", help="Address to listen on (TOKENSMITH_HOST, default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (TOKENSMITH_PORT, default 8080).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (TOKENSMITH_WORKERS, default 1).")
@user_errors
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the token endpoints (upgrades the store and makes a signing key first)."""
    import uvicorn

    # Workers read their settings from the environment, so flags go there too.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"TOKENSMITH_{name}"] = str(value)
    settings = load_settings()
    prepared_node(settings).engine.dispose()
    uvicorn.run(
        "tokensmith.http.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


@cli.group()
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Upgrade the store's schema to this version's."""
    node = Node.from_settings(load_settings())
    before = current_revision(node.engine)
    upgrade(node.engine)
    click.echo(f"store at revision {head_revision()} (was {before or 'empty'})")


cli.add_command(clients)
cli.add_command(keys)
cli.add_command(demo)


def main() -> None:
    cli(prog_name="tokensmith")
