"""`tokensmith keys …`: the signing key ring."""

from __future__ import annotations

import time

import click
import orjson

from tokensmith.cli.context import changes_on, fail, prepared_node, user_errors
from tokensmith.domain.keys import ALGORITHMS, KeyRing
from tokensmith.node import Node
from tokensmith.service.keys import publish_next_key, remove_key, rotate_keys


@click.group()
def keys() -> None:
    """List, rotate and (when compromised) remove signing keys."""


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
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default=None,
    help="Move to this algorithm: publishes a next key of it first if the next key is not (default: TOKENSMITH_SIGNING_ALGORITHM for the new next key).",
)
@user_errors
def rotate(algorithm: str | None) -> None:
    """next → active, active → retired (still published), and a fresh next key.

    With --algorithm X and a next key of another algorithm, nothing is promoted yet:
    a next key of X is published in its place, and the active key goes on signing.
    Run the same command again once verifiers have the new key (after their JWKS
    cache period) to sign with it."""
    node = prepared_node()
    now = int(time.time())
    retention = node.settings.retired_key_retention_seconds
    before = KeyRing(node.keys.all(), now, retention)
    if algorithm is not None and (before.next is None or before.next.algorithm != algorithm) and before.active is not None:
        publish_next_key(changes_on(node), algorithm)
        ring = KeyRing(node.keys.all(), int(time.time()), retention)
        assert ring.active is not None and ring.next is not None
        click.echo(
            f"published next key {ring.next.kid} ({algorithm}); the active key {ring.active.kid} ({ring.active.algorithm}) "
            f"still signs. Run `tokensmith keys rotate --algorithm {algorithm}` again once verifiers have the new key "
            f"(nodes within {node.settings.key_cache_seconds:g} s; other verifiers after their JWKS cache period)"
        )
        return
    rotate_keys(changes_on(node), algorithm)
    ring = KeyRing(node.keys.all(), int(time.time()), retention)
    assert ring.active is not None
    click.echo(f"active key is now {ring.active.kid} ({ring.active.algorithm}); nodes sign with it within {node.settings.key_cache_seconds:g} s")
    note = algorithm_note(node) if algorithm is None else None
    if note:
        click.echo(f"note: {note}", err=True)


@keys.command()
@click.argument("kid")
@click.option("--compromised", is_flag=True, help="Confirm: the key's private part is (or may be) known to someone else.")
@user_errors
def remove(kid: str, compromised: bool) -> None:
    """Emergency removal of a compromised signing key.

    The key leaves the key ring and the JWKS at once, so every token it signed stops
    verifying (introspection refuses them on every node at once with Redis). If it was
    the active key the next key signs from now on, and a new next key is published.
    For a planned change use `tokensmith keys rotate`, which breaks no token."""
    if not compromised:
        fail("removing a key breaks every token it signed; give --compromised to confirm, or use `tokensmith keys rotate`")
    node = prepared_node()
    remove_key(changes_on(node), kid)
    ring = KeyRing(node.keys.all(), int(time.time()), node.settings.retired_key_retention_seconds)
    assert ring.active is not None
    click.echo(
        f"removed key {kid}; the active key is {ring.active.kid} ({ring.active.algorithm}). Verifiers that cached the "
        f"JWKS drop the key when they next fetch it; nodes at once with Redis, else within {node.settings.key_cache_seconds:g} s"
    )


def algorithm_note(node: Node) -> str | None:
    """What an operator should know when TOKENSMITH_SIGNING_ALGORITHM is not the
    algorithm the ring signs with (a configured change takes effect through the ring,
    never by replacing the active key at once: tokens in flight must keep verifying)."""
    wanted = node.settings.signing_algorithm
    ring = KeyRing(node.keys.all(), int(time.time()), node.settings.retired_key_retention_seconds)
    if ring.active is None or ring.active.algorithm == wanted:
        return None
    if ring.next is not None and ring.next.algorithm == wanted:
        return (
            f"TOKENSMITH_SIGNING_ALGORITHM is {wanted} and the next key is {wanted}; the active key signs "
            f"{ring.active.algorithm} until the next `tokensmith keys rotate`"
        )
    return (
        f"TOKENSMITH_SIGNING_ALGORITHM is {wanted} but the active key signs {ring.active.algorithm}: "
        f"`tokensmith keys rotate --algorithm {wanted}` publishes a {wanted} key to move to"
    )
