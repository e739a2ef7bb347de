"""`tokensmith console login-link`: a one-time link into the web console."""

from __future__ import annotations

import time

import click

from tokensmith.cli.context import changes_on, local_base_url, prepared_node, user_errors
from tokensmith.config import Settings
from tokensmith.node import Node
from tokensmith.service.changes import process_actor
from tokensmith.service.console import issue_login_link


def console_base_url(settings: Settings) -> str:
    """Where the console is reached: TOKENSMITH_CONSOLE_URL, else the admin listener
    (TOKENSMITH_ADMIN_PORT) on this machine, else the issuer."""
    if settings.console_url:
        return settings.console_url.rstrip("/")
    if settings.admin_port is not None:
        return local_base_url(settings.admin_host or settings.host, settings.admin_port)
    return settings.issuer


def login_link(settings: Settings, code: str) -> str:
    # The code rides in the fragment: browsers never send it to a server, so it is in
    # no access log and no Referer (console/routes.py).
    return f"{console_base_url(settings)}/console/login#{code}"


@click.group()
def console() -> None:
    """The web console."""


@console.command("login-link")
@click.option("--ttl", type=click.IntRange(10, 3600), default=None, help="Seconds the link stays usable (default TOKENSMITH_CONSOLE_LINK_SECONDS, 600).")
@click.option("--person", default=None, help="Who logs in with it, for the audit log (default: TOKENSMITH_ACTOR or the OS user).")
@user_errors
def login_link_command(ttl: int | None, person: str | None) -> None:
    """Print a one-time login link (usable once, until it expires)."""
    click.echo(new_login_link(prepared_node(), ttl, person))


def new_login_link(node: Node, ttl: int | None = None, person: str | None = None) -> str:
    settings = node.settings
    code = issue_login_link(changes_on(node), person or process_actor(settings).name, ttl or settings.console_link_seconds, int(time.time()))
    return login_link(settings, code)


def print_login_link(node: Node) -> None:
    """For `tokensmith demo`: a way into the console too."""
    link = new_login_link(node)
    click.echo(f"Open the web console (this link works once, for {node.settings.console_link_seconds // 60} minutes):\n  {link}\n")
