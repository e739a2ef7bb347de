"""`tokensmith keys …`: the signing key ring."""

from __future__ import annotations

import time

import click
import orjson

from tokensmith.cli.context import prepared_node, user_errors
from tokensmith.domain.keys import KeyRing
from tokensmith.store.administration import Administration


@click.group()
def keys() -> None:
    """List and rotate signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def list_keys(as_json: bool) -> None:
    """List keys with their state; published ones are in the JWKS."""
    node = prepared_node()
    ring = KeyRing(node.keys.all(), int(time.time()), node.settings.retired_key_retention_seconds)
    published = {key.kid for key in ring.published}
    rows = [
        {
            "kid": key.kid,
            "algorithm": key.algorithm,
            "state": key.state.value,
            "published": key.kid in published,
            "created_at": key.created_at,
            "activated_at": key.activated_at,
            "retired_at": key.retired_at,
        }
        for key in ring.keys
    ]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        click.echo(f"{row['kid']}\t{row['algorithm']}\t{row['state']}\t{'published' if row['published'] else 'unpublished'}")


@keys.command()
@user_errors
def rotate() -> None:
    """next → active, active → retired (still published), and a fresh next key."""
    node = prepared_node()
    Administration(node).rotate_keys()
    ring = KeyRing(node.keys.all(), int(time.time()), node.settings.retired_key_retention_seconds)
    assert ring.active is not None
    click.echo(f"active key is now {ring.active.kid} ({ring.active.algorithm}); nodes sign with it within {node.settings.key_cache_seconds:g} s")
