"""`tokensmith clients …`: register clients, change them, give and take secrets,
keys and federated credentials."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson

from tokensmith.cli.context import changes_on, fail, prepared_node, user_errors
from tokensmith.domain.client_keys import MAX_JWKS_BYTES, AuthMethod
from tokensmith.domain.registration import MAX_SECRET_EXPIRY_SECONDS
from tokensmith.domain.sender_constraints import TokenBinding
from tokensmith.service import clients as service
from tokensmith.service.descriptions import describe, describe_federation, describe_secret
from tokensmith.service.revocations import revoke_client_tokens

_DURATION = re.compile(r"([0-9]{1,12})([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_claims(values: tuple[str, ...]) -> dict[str, Any]:
    """`K=V` is a string claim; `K:=JSON` a typed one (number, boolean, list, object).
    Parsed by the standard library, which keeps every integer exact (orjson makes a
    30-digit one a float), so the domain's range check sees what was typed."""
    claims: dict[str, Any] = {}
    for item in values:
        if ":=" in item and item.index(":=") < item.find("=") + 1:
            name, _, raw = item.partition(":=")
            try:
                claims[name] = json.loads(raw, parse_constant=_no_constant)
            except RecursionError:
                fail(f"claim {name}: nested too deeply")
            except ValueError:  # json.JSONDecodeError, and NaN / Infinity
                fail(f"claim {name}: not valid JSON")
        elif "=" in item:
            name, _, value = item.partition("=")
            claims[name] = value
        else:
            fail(f"claim {item!r}: expected NAME=VALUE or NAME:=JSON")
    return claims


def parse_expiry(text: str | None, now: int) -> int | None:
    if text is None:
        return None
    match = _DURATION.fullmatch(text.strip())
    if not match:
        fail("expiry must be a duration like 3600, 90m, 12h or 30d")
    seconds = int(match[1]) * _UNITS[match[2]]
    if seconds > MAX_SECRET_EXPIRY_SECONDS:
        fail("expiry must be at most 3650d; leave it out for a secret that does not expire")
    return now + seconds


# A JWKS file may be pretty-printed; the document itself is bounded by keys_of_jwks.
MAX_JWKS_FILE_BYTES = 4 * MAX_JWKS_BYTES
AUTH_METHODS = click.Choice([method.value for method in AuthMethod])
TOKEN_BINDINGS = click.Choice([binding.value for binding in TokenBinding])


def read_jwks_file(path: str | None) -> Mapping[str, Any] | None:
    """The JSON document in the file, checked as a JWKS later by the domain."""
    if path is None:
        return None
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_JWKS_FILE_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read the JWKS file {path}: {exc.strerror or exc}")
    if len(data) > MAX_JWKS_FILE_BYTES:
        fail(f"the JWKS file {path} is larger than {MAX_JWKS_FILE_BYTES} bytes")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        fail(f"the JWKS file {path} is not JSON")
    if not isinstance(document, dict):
        fail(f"the JWKS file {path} does not hold a JSON object")
    return document


def emit(data: Any, as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    for key, value in data.items():
        if isinstance(value, (list, dict)):
            value = orjson.dumps(value).decode()
        click.echo(f"{key + ':':16}{value}")


def read_secret_from_stdin() -> str:
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        fail("no secret on standard input")
    return text


@click.group()
def clients() -> None:
    """Register and manage clients."""


@clients.command()
@click.option("--client-id", help="The client's id (generated when left out).")
@click.option("--name", default="", help="A human-readable name.")
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope the client may request (repeat).")
@click.option("--default-scope", "default_scopes", multiple=True, help="Granted when a request names none (default: all its scopes).")
@click.option("--audience", "audiences", multiple=True, help="An audience the client may request; the first is its default.")
@click.option("--claim", "claims", multiple=True, help="A custom claim NAME=VALUE (string) or NAME:=JSON (repeat).")
@click.option("--lifetime", default=None, help="Seconds (default 3600) or 'HH:MM Area/City' for until the next such time.")
@click.option("--secret-stdin", is_flag=True, help="Import the client's existing secret from standard input (kept with argon2id).")
@click.option("--secret-expires-in", default=None, help="Expire the secret after a duration (e.g. 90d).")
@click.option("--rate-limit", type=int, default=None, help="At most this many tokens per minute (default: no limit).")
@click.option(
    "--reuse-tokens", is_flag=True,
    help="Answer a repeated request (same scopes and audience) with the client's last token while it has most of its lifetime left.",
)  # fmt: skip
@click.option(
    "--auth-method", type=AUTH_METHODS, default=AuthMethod.CLIENT_SECRET_BASIC.value, show_default=True,
    help="How the client authenticates: with a secret, with assertions signed by its key (private_key_jwt), "
    "or with a platform token (federated; see `clients federate`).",
)  # fmt: skip
@click.option("--jwks-file", default=None, help="private_key_jwt: a file holding the client's public keys (a JWKS).")
@click.option("--jwks-uri", default=None, help="private_key_jwt: where the client publishes its public keys (a JWKS).")
@click.option(
    "--token-binding", type=TOKEN_BINDINGS, default=TokenBinding.NONE.value, show_default=True,
    help="What the client's tokens must be bound to: nothing (bearer; a DPoP proof still binds), "
    "a DPoP key (RFC 9449: no proof, no token), or its TLS client certificate (RFC 8705).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@user_errors
def create(
    client_id: str | None,
    name: str,
    scopes: tuple[str, ...],
    default_scopes: tuple[str, ...],
    audiences: tuple[str, ...],
    claims: tuple[str, ...],
    lifetime: str | None,
    secret_stdin: bool,
    secret_expires_in: str | None,
    rate_limit: int | None,
    reuse_tokens: bool,
    auth_method: str,
    jwks_file: str | None,
    jwks_uri: str | None,
    token_binding: str,
    as_json: bool,
) -> None:
    """Register a client and print its secret (shown this once); a private_key_jwt or
    federated client gets none."""
    method = AuthMethod(auth_method)
    if secret_stdin and not method.uses_secrets:
        fail(f"a {method.value} client has no secret to import")
    jwks = read_jwks_file(jwks_file)
    node = prepared_node()
    now = int(time.time())
    imported = read_secret_from_stdin() if secret_stdin else None
    spec = service.ClientSpec(
        client_id=client_id,
        name=name,
        scopes=scopes,
        default_scopes=default_scopes or None,
        audiences=audiences,
        claims=parse_claims(claims),
        lifetime=lifetime,
        rate_limit=rate_limit,
        reuse_tokens=reuse_tokens,
        imported_secret=imported,
        secret_expires_at=parse_expiry(secret_expires_in, now),
        auth_method=method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        token_binding=TokenBinding(token_binding),
    )
    try:
        client, secret = service.create_client(changes_on(node), spec, now)
    except service.ClientAlreadyExists as exc:
        fail(f"a client {str(exc)!r} already exists")
    shown = describe(client, now)
    if secret is None:
        emit({"client_id": client.client_id, **shown}, as_json)
        return
    output = {"client_id": client.client_id, "client_secret": secret.text, "secret_id": secret.stored.secret_id, **shown}
    if imported is not None:
        del output["client_secret"]  # the caller already has it; never echo it back
    emit(output, as_json)
    if not as_json and imported is None:
        click.echo("The secret is shown this once; only its hash is stored.", err=True)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def list_clients(as_json: bool) -> None:
    """List clients."""
    node = prepared_node()
    now = int(time.time())
    everyone = node.clients.list()
    if as_json:
        emit([describe(client, now) for client in everyone], True)
        return
    for client in everyone:
        state = "enabled" if client.enabled else "disabled"
        click.echo(f"{client.client_id}\t{state}\t{' '.join(client.scopes)}\t{client.name}")


@clients.command()
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def show(client_id: str, as_json: bool) -> None:
    """Show one client (never its secrets, which are not kept), with when each of its
    secrets, keys and federated credentials was last used."""
    node = prepared_node()
    client = node.clients.get(client_id)
    if client is None:
        fail(f"no client {client_id!r}")
    emit(describe(client, int(time.time()), node.credential_uses.for_client(client_id)), as_json)


@clients.command()
@click.argument("client_id")
@click.option("--name", default=None)
@click.option("--scope", "scopes", multiple=True, help="Replace the allowed scopes.")
@click.option("--default-scope", "default_scopes", multiple=True, help="Replace the default scopes.")
@click.option("--audience", "audiences", multiple=True, help="Replace the allowed audiences.")
@click.option("--clear-audiences", is_flag=True, help="Remove every audience.")
@click.option("--claim", "claims", multiple=True, help="Set a custom claim NAME=VALUE or NAME:=JSON.")
@click.option("--remove-claim", "removed_claims", multiple=True, help="Remove a custom claim.")
@click.option("--lifetime", default=None)
@click.option("--rate-limit", type=int, default=None, help="At most this many tokens per minute.")
@click.option("--no-rate-limit", is_flag=True, help="Remove the client's issuance limit.")
@click.option("--reuse-tokens/--no-reuse-tokens", default=None, help="Turn token reuse on or off (docs/configuration.md).")
@click.option("--auth-method", type=AUTH_METHODS, default=None, help="Change how the client authenticates.")
@click.option("--jwks-file", default=None, help="private_key_jwt: replace the client's public keys with this JWKS.")
@click.option("--jwks-uri", default=None, help="private_key_jwt: take the client's public keys from this URI instead.")
@click.option("--remove-secrets", is_flag=True, help="With a change away from secrets: remove the client's live secrets too.")
@click.option("--token-binding", type=TOKEN_BINDINGS, default=None, help="Change what the client's tokens must be bound to (none, dpop, mtls).")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def update(
    client_id: str,
    name: str | None,
    scopes: tuple[str, ...],
    default_scopes: tuple[str, ...],
    audiences: tuple[str, ...],
    clear_audiences: bool,
    claims: tuple[str, ...],
    removed_claims: tuple[str, ...],
    lifetime: str | None,
    rate_limit: int | None,
    no_rate_limit: bool,
    reuse_tokens: bool | None,
    auth_method: str | None,
    jwks_file: str | None,
    jwks_uri: str | None,
    remove_secrets: bool,
    token_binding: str | None,
    as_json: bool,
) -> None:
    """Change a client's settings."""
    if rate_limit is not None and no_rate_limit:
        fail("give --rate-limit or --no-rate-limit, not both")
    if jwks_file is not None and jwks_uri is not None:
        fail("give --jwks-file or --jwks-uri, not both")
    jwks = read_jwks_file(jwks_file)
    node = prepared_node()
    what = service.ClientChanges(
        name=name,
        scopes=scopes or None,
        default_scopes=default_scopes or None,
        audiences=() if clear_audiences else (audiences or None),
        set_claims=parse_claims(claims),
        removed_claims=removed_claims,
        lifetime=lifetime,
        rate_limit=rate_limit,
        clear_rate_limit=no_rate_limit,
        reuse_tokens=reuse_tokens,
        auth_method=AuthMethod(auth_method) if auth_method is not None else None,
        jwks=jwks,
        jwks_uri=jwks_uri,
        remove_secrets=remove_secrets,
        token_binding=TokenBinding(token_binding) if token_binding is not None else None,
    )
    now = int(time.time())
    emit(describe(service.update_client(changes_on(node), client_id, what, now), now), as_json)


def _set_enabled(client_id: str, enabled: bool) -> None:
    node = prepared_node()
    service.set_enabled(changes_on(node), client_id, enabled, int(time.time()))
    click.echo(f"{client_id} {'enabled' if enabled else 'disabled'}")


@clients.command()
@click.argument("client_id")
@user_errors
def disable(client_id: str) -> None:
    """Refuse the client's requests until it is enabled again."""
    _set_enabled(client_id, False)


@clients.command()
@click.argument("client_id")
@user_errors
def enable(client_id: str) -> None:
    """Accept a disabled client's requests again."""
    _set_enabled(client_id, True)


@clients.command()
@click.argument("client_id")
@user_errors
def delete(client_id: str) -> None:
    """Delete a client and its secrets; its tokens turn inactive at introspection."""
    node = prepared_node()
    service.delete_client(changes_on(node), client_id, int(time.time()))
    click.echo(f"{client_id} deleted")


@clients.command("revoke-tokens")
@click.argument("client_id")
@user_errors
def revoke_tokens(client_id: str) -> None:
    """Revoke every token issued to the client up to now.

    They turn inactive at introspection (on every node at once with Redis); tokens
    asked for once the command has returned are live. Its secrets stay as they are:
    remove a leaked one with `clients secret remove`."""
    node = prepared_node()
    not_before = revoke_client_tokens(changes_on(node), client_id)
    click.echo(f"tokens of {client_id} issued before {not_before} (epoch seconds) are revoked")


@clients.group()
def secret() -> None:
    """Add and remove a client's secrets (two may be live, for rotation)."""


@secret.command("add")
@click.argument("client_id")
@click.option("--stdin", "from_stdin", is_flag=True, help="Import a secret from standard input (kept with argon2id).")
@click.option("--expires-in", default=None, help="Expire the secret after a duration (e.g. 90d).")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def secret_add(client_id: str, from_stdin: bool, expires_in: str | None, as_json: bool) -> None:
    """Give a client another secret (printed this once)."""
    node = prepared_node()
    now = int(time.time())
    imported = read_secret_from_stdin() if from_stdin else None
    secret = service.add_secret(changes_on(node), client_id, now, imported=imported, expires_at=parse_expiry(expires_in, now))
    output: dict[str, Any] = {"client_id": client_id, **describe_secret(secret.stored, now)}
    if imported is None:
        output["client_secret"] = secret.text
    emit(output, as_json)


@secret.command("remove")
@click.argument("client_id")
@click.argument("secret_id")
@user_errors
def secret_remove(client_id: str, secret_id: str) -> None:
    """Remove one of a client's secrets."""
    node = prepared_node()
    if not service.remove_secret(changes_on(node), client_id, secret_id, int(time.time())):
        fail(f"client {client_id!r} has no secret {secret_id!r}")
    click.echo(f"secret {secret_id} removed from {client_id}")


@clients.command()
@click.argument("client_id")
@click.option("--trust", "trust", required=True, help="The trusted issuer whose tokens the client presents (`tokensmith trust add`).")
@click.option("--subject", required=True, help="The token's exact `sub` (e.g. system:serviceaccount:NAMESPACE:NAME).")
@click.option(
    "--condition", "conditions", multiple=True,
    help="CLAIM=PATTERN: a claim (dotted path, e.g. kubernetes.io.namespace) whose string value must match the glob (repeat).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@user_errors
def federate(client_id: str, trust: str, subject: str, conditions: tuple[str, ...], as_json: bool) -> None:
    """Let a federated client authenticate with tokens of a trusted issuer; prints the
    federated credential's id."""
    node = prepared_node()
    federation = service.federate(changes_on(node), client_id, trust, subject, conditions, int(time.time()))
    if as_json:
        emit({"client_id": client_id, **describe_federation(federation)}, True)
    else:
        click.echo(federation.federation_id)


@clients.command()
@click.argument("client_id")
@click.argument("federation_id")
@user_errors
def unfederate(client_id: str, federation_id: str) -> None:
    """Remove one of a client's federated credentials."""
    node = prepared_node()
    if not service.unfederate(changes_on(node), client_id, federation_id, int(time.time())):
        fail(f"client {client_id!r} has no federated credential {federation_id!r}")
    click.echo(f"federated credential {federation_id} removed from {client_id}")
