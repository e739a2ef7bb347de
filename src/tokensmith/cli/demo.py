"""`tokensmith demo`: a first client to try the service with (used by `make run`)."""

from __future__ import annotations

import shlex
import time
from dataclasses import replace

import click

from tokensmith.cli.context import prepared_node, user_errors
from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.domain.registration import build_client, new_secret
from tokensmith.store.administration import Administration


def local_base_url(host: str, port: int) -> str:
    """Where a client on this machine reaches `tokensmith serve`: a wildcard listen
    address is not one to connect to, and an IPv6 literal needs brackets (RFC 3986 §3.2.2)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@click.command()
@click.option("--client-id", default="demo", show_default=True)
@user_errors
def demo(client_id: str) -> None:
    """Create a demo client when the store has none, and print how to use it."""
    node = prepared_node(create=True)  # `make run` on a fresh checkout
    if node.clients.count() > 0:
        click.echo("tokensmith: the store already has clients; no demo client made (see `tokensmith clients list`).")
        return
    now = int(time.time())
    client = build_client(
        client_id=client_id,
        name="Demo client",
        scopes=("edit", "read"),
        default_scopes=("read",),
        audiences=(),
        claims={"firstVisionId": "00000AUNAB"},  # the seed's example custom claim
        lifetime=FixedLifetime(node.settings.default_lifetime_seconds),
        now=now,
    )
    secret, text = new_secret(client, node.checker, now)
    Administration(node).create_client(replace(client, secrets=(secret,)))
    url = f"{local_base_url(node.settings.host, node.settings.port)}/v1/api/oauth/token?scope=edit"
    click.echo(f"Demo client created.\n  client_id:     {client_id}\n  client_secret: {text}   (shown once)\n")
    click.echo("Get a token (the seed's request):")
    click.echo(f"  curl -s -X POST -u {shlex.quote(client_id + ':' + text)} {shlex.quote(url)}\n")
