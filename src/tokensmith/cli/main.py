"""The `tokensmith` command line (DESIGN.md §6)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from typing import Any

import click

from tokensmith.cli.audit import audit
from tokensmith.cli.clients import clients
from tokensmith.cli.console import console
from tokensmith.cli.context import fail, load_settings, open_node, user_errors
from tokensmith.cli.demo import demo
from tokensmith.cli.keys import algorithm_note, keys
from tokensmith.cli.metrics_dir import prepare_multiprocess_metrics
from tokensmith.cli.trusts import trust
from tokensmith.config import Settings
from tokensmith.service.changes import Changes
from tokensmith.service.keys import ensure_signing_key
from tokensmith.store.database import current_revision, head_revision, is_at_head, upgrade


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
    _prepare_store(settings)
    prepare_multiprocess_metrics(settings)  # before the workers start
    # uvicorn ends a graceful shutdown by raising the signal it caught again; with the
    # default action that kills the process before the log thread (logs.py) has written
    # its last lines. Exit through Python instead (status 143), so atexit flushes them.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    options: dict[str, Any] = dict(
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        # uvicorn's httptools protocol with bounds on the request head's size and time.
        http="tokensmith.http.protocol:BoundedHttpToolsProtocol",
    )
    if settings.admin_port is None:
        uvicorn.run(APP, **options)
    else:
        _serve_two_listeners(settings, options)


APP = "tokensmith.http.app:app_from_environment"


def _serve_two_listeners(settings: Settings, options: dict[str, Any]) -> None:
    """The main and the admin listener (TOKENSMITH_ADMIN_PORT) served by the same
    workers: the app tells them apart by the port a request arrived on
    (admin/listener.py)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    assert settings.admin_port is not None
    if settings.admin_port == settings.port:
        fail("TOKENSMITH_ADMIN_PORT must differ from TOKENSMITH_PORT")
    config = uvicorn.Config(APP, **options)
    sockets = [config.bind_socket()]
    admin = uvicorn.Config(APP, **{**options, "host": settings.admin_host or settings.host, "port": settings.admin_port})
    sockets.append(admin.bind_socket())
    if settings.workers > 1:
        Multiprocess(config, sockets=sockets).run()
    else:
        uvicorn.Server(config).run(sockets=sockets)


def _prepare_store(settings: Settings) -> None:
    """What prepared_node does (the current schema, a signing key), with the migration
    machinery kept out of this process, which goes on to serve (with one worker, it is
    the worker): the schema is checked without Alembic, and upgraded, when it must be,
    by `tokensmith db upgrade` in a child process."""
    node = open_node(settings)
    try:
        if not is_at_head(node.engine):
            done = subprocess.run(
                [sys.executable, "-m", "tokensmith", "db", "upgrade"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or ["the store's schema upgrade failed"]
                fail(lines[-1].removeprefix("tokensmith: "))
        ensure_signing_key(Changes.of_process(node))
        note = algorithm_note(node)
        if note:
            click.echo(f"tokensmith: note: {note}", err=True)
    finally:
        node.engine.dispose()


@cli.group()
def db() -> None:
    """The store's schema."""


@db.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Create the store, or upgrade its schema to this version's."""
    node = open_node(create=True)
    before = current_revision(node.engine)
    upgrade(node.engine)
    click.echo(f"store at revision {head_revision()} (was {before or 'empty'})")


cli.add_command(clients)
cli.add_command(keys)
cli.add_command(demo)
cli.add_command(audit)
cli.add_command(console)
cli.add_command(trust)


def main() -> None:
    """Runs the command line. Click's own refusals (a missing option, a bad value for
    a typed option) become one line on stderr like every other user error, not
    click's usage block (DESIGN.md §6)."""
    try:
        status = cli.main(prog_name="tokensmith", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `tokensmith clients` alone: the help is the answer
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "tokensmith"
        click.echo(f"tokensmith: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"tokensmith: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("tokensmith: aborted", err=True)
        sys.exit(1)
    except OSError as exc:
        if exc.errno != errno.EPIPE:  # the reader of our output went away (| head)
            raise
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
