"""`tokensmith demo`: a first client to try the service with (used by `make run`)."""

from __future__ import annotations

import shlex
import time

import click

from tokensmith.cli.console import print_login_link
from tokensmith.cli.context import changes_on, local_base_url, prepared_node, user_errors
from tokensmith.service.clients import ClientSpec, create_client


@click.command()
@click.option("--client-id", default="demo", show_default=True)
@user_errors
def demo(client_id: str) -> None:
    """Create a demo client when the store has none, and print how to use it."""
    node = prepared_node(create=True)  # `make run` on a fresh checkout
    if node.clients.count() > 0:
        click.echo("tokensmith: the store already has clients; no demo client made (see `tokensmith clients list`).")
        print_login_link(node)
        return
    now = int(time.time())
    spec = ClientSpec(
        client_id=client_id,
        name="Demo client",
        scopes=("edit", "read"),
        default_scopes=("read",),
        claims={"firstVisionId": "00000AUNAB"},  # the seed's example custom claim
    )
    _, secret = create_client(changes_on(node), spec, now)
    assert secret is not None  # a client_secret_basic client always gets one
    text = secret.text
    url = f"{local_base_url(node.settings.host, node.settings.port)}/v1/api/oauth/token?scope=edit"
    click.echo(f"Demo client created.\n  client_id:     {client_id}\n  client_secret: {text}   (shown once)\n")
    click.echo("Get a token (the seed's request):")
    click.echo(f"  curl -s -X POST -u {shlex.quote(client_id + ':' + text)} {shlex.quote(url)}\n")
    print_login_link(node)
