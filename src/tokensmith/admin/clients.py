"""`/admin/v1/clients`: list, create, read, change and delete clients; add and remove
their secrets; revoke their tokens. Fields are named as in `tokensmith clients …
--json` (service/descriptions.py). A client's way of authenticating is `auth_method`
with its keys (`jwks` or `jwks_uri`); its federated credentials are a sub-resource
(admin/federations.py)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import CLIENTS_READ, CLIENTS_WRITE, Caller, authorise
from tokensmith.admin.bodies import Fields, etag, expected_revision, invalid, json_object, query_flag, query_integer, query_text
from tokensmith.admin.calls import json_response, run
from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.client_keys import AuthMethod, parse_auth_method
from tokensmith.domain.clients import Client
from tokensmith.domain.registration import MAX_SECRET_EXPIRY_SECONDS
from tokensmith.domain.sender_constraints import TokenBinding, parse_token_binding
from tokensmith.service import clients as service
from tokensmith.service.descriptions import describe, describe_secret
from tokensmith.service.revocations import revoke_client_tokens

PREFIX = "/admin/v1/clients"
COLLECTION = PREFIX
ITEM = PREFIX + "/{client_id}"
SECRETS = ITEM + "/secrets"
SECRET = SECRETS + "/{secret_id}"
REVOKE_TOKENS = ITEM + "/revoke-tokens"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
T = TypeVar("T")


def _client_response(
    client: Client,
    status: int = 200,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    uses: dict[str, int] | None = None,
) -> Response:
    """The client as `clients show --json` shows it; with `uses`, when each of its
    credentials was last used."""
    now = int(time.time())
    body = {**(extra or {}), **describe(client, now, uses)}
    return json_response(body, status, {"etag": etag(client), **(headers or {})})


async def _existing(caller: Caller, client_id: str) -> Client:
    return await run(service.existing, caller.changes, client_id)


def not_itself(caller: Caller, client_id: str, what: str) -> None:
    """An admin client does not lock itself out: another operator must disable,
    delete or revoke it (the command line can, always)."""
    if caller.changes.actor.name == f"client:{client_id}":
        raise AdminError(AdminProblem.CONFLICT, f"a client cannot {what} itself through the admin API")


async def list_clients(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_READ)
    limit = query_integer(request, "limit", 50, 1, 500)
    assert limit is not None
    query = service.ClientQuery(
        text=query_text(request, "q"),
        enabled=query_flag(request, "enabled"),
        scope=query_text(request, "scope"),
        after=query_text(request, "cursor", 128),
        limit=limit,
    )
    page = await run(service.find_clients, caller.changes, query)
    now = int(time.time())
    # A full page may have more after it: its last id is the cursor of the next one.
    cursor = page[-1].client_id if len(page) == limit else None
    return json_response({"items": [describe(client, now) for client in page], "next_cursor": cursor})


def _expires_at(fields: Fields, name: str, now: int) -> int | None:
    seconds = fields.integer(name)
    if seconds is None:
        return None
    if not 1 <= seconds <= MAX_SECRET_EXPIRY_SECONDS:
        invalid(f"{name} must be 1 to {MAX_SECRET_EXPIRY_SECONDS} seconds; leave it out for a secret that does not expire")
    return now + seconds


def _named(fields: Fields, name: str, parse: Callable[[str], T]) -> T | None:
    """A field naming one of a set of values, read by `parse`, whose ValueError is
    the refusal (422 `refused`, in the command line's words)."""
    text = fields.text(name)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise AdminError(AdminProblem.REFUSED, str(exc)) from None


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and key.isascii() and key.isprintable()):
        invalid(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters")
    return key


async def create_client(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_WRITE)
    data = await json_object(request)
    key = _idempotency_key(request)
    now = int(time.time())
    fields = Fields(data)
    scopes = fields.texts("scopes")
    if scopes is None:
        invalid("scopes is required")
    client_id = fields.text("client_id")
    if client_id == "":
        invalid("client_id may not be empty; leave it out for a generated one")
    spec = service.ClientSpec(
        client_id=client_id,
        name=fields.text("name") or "",
        scopes=scopes,
        default_scopes=fields.texts("default_scopes"),
        audiences=fields.texts("audiences") or (),
        claims=fields.obj("claims") or {},
        lifetime=fields.lifetime("lifetime"),
        rate_limit=fields.integer("rate_limit", nullable=True),
        reuse_tokens=bool(fields.flag("reuse_tokens")),
        secret_expires_at=_expires_at(fields, "secret_expires_in", now),
        auth_method=_named(fields, "auth_method", parse_auth_method) or AuthMethod.CLIENT_SECRET_BASIC,
        jwks=fields.obj("jwks"),
        jwks_uri=fields.text("jwks_uri"),
        token_binding=_named(fields, "token_binding", parse_token_binding) or TokenBinding.NONE,
    )
    fields.done()
    claim = None
    if key is not None:
        fingerprint = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        claim = service.IdempotencyClaim(caller.changes.actor.name, key, fingerprint)
    try:
        client, secret = await run(service.create_client, caller.changes, spec, now, claim)
    except (service.IdempotencyKeyUsed, sa.exc.IntegrityError):
        return await _replay(caller, claim)
    # A private_key_jwt or federated client has no secret: nothing to show once.
    extra = {} if secret is None else {"client_secret": secret.text, "secret_id": secret.stored.secret_id}
    return _client_response(client, 201, extra, {"location": f"{PREFIX}/{client.client_id}"})


async def _replay(caller: Caller, claim: service.IdempotencyClaim | None) -> Response:
    """A create repeated with its Idempotency-Key: the client it made, without the
    secret (shown once, in the first answer); a different request with the key: 422."""
    if claim is None:  # two creates of one new id at once: the other one made it
        raise AdminError(AdminProblem.CONFLICT, "a client of that id was created at the same time")
    made = await run(caller.changes.node.clients.made_by_key, claim.actor, claim.key)
    if made is None:
        raise AdminError(AdminProblem.CONFLICT, "a client of that id was created at the same time")
    client_id, fingerprint = made
    if fingerprint != claim.fingerprint:
        raise AdminError(AdminProblem.IDEMPOTENCY_KEY_REUSED)
    client = await _existing(caller, client_id)
    return _client_response(client, 200, headers={"idempotent-replayed": "true", "location": f"{PREFIX}/{client_id}"})


async def get_client(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_READ)
    client = await _existing(caller, request.path_params["client_id"])
    uses = await run(service.credential_uses, caller.changes, client.client_id)
    return _client_response(client, uses=uses)


def _changes(data: dict[str, Any], client: Client) -> service.ClientChanges:
    fields = Fields(data)
    claims = fields.obj("claims")
    rate_limit_given = fields.has("rate_limit")
    rate_limit = fields.integer("rate_limit", nullable=True)
    what = service.ClientChanges(
        name=fields.text("name"),
        scopes=fields.texts("scopes"),
        default_scopes=fields.texts("default_scopes"),
        audiences=fields.texts("audiences"),
        # A whole new set of claims: those not in it go.
        set_claims=claims or {},
        removed_claims=() if claims is None else tuple(name for name in client.claims if name not in claims),
        lifetime=fields.lifetime("lifetime"),
        rate_limit=rate_limit,
        clear_rate_limit=rate_limit_given and rate_limit is None,
        reuse_tokens=fields.flag("reuse_tokens"),
        enabled=fields.flag("enabled"),
        auth_method=_named(fields, "auth_method", parse_auth_method),
        jwks=fields.obj("jwks"),
        jwks_uri=fields.text("jwks_uri"),
        remove_secrets=bool(fields.flag("remove_secrets")),
        token_binding=_named(fields, "token_binding", parse_token_binding),
    )
    fields.done()
    return what


async def update_client(request: Request) -> Response:
    """PATCH: the fields given replace the client's (`claims` as a whole object;
    `rate_limit: null` removes the limit), checked as `clients update` checks them."""
    caller = await authorise(request, CLIENTS_WRITE)
    data = await json_object(request)
    client = await _existing(caller, request.path_params["client_id"])
    what = _changes(data, client)
    if what.enabled is False:
        not_itself(caller, client.client_id, "disable")
    if what.auth_method not in (None, client.auth_method):
        not_itself(caller, client.client_id, "change the authentication method of")
    revision = expected_revision(request, client)
    now = int(time.time())
    changed = await run(lambda: service.update_client(caller.changes, client.client_id, what, now, expected_revision=revision))
    return _client_response(changed)


async def delete_client(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_WRITE)
    client = await _existing(caller, request.path_params["client_id"])
    not_itself(caller, client.client_id, "delete")
    revision = expected_revision(request, client)
    now = int(time.time())
    await run(lambda: service.delete_client(caller.changes, client.client_id, now, expected_revision=revision))
    return Response(status_code=204, headers={"cache-control": "no-store"})


async def add_secret(request: Request) -> Response:
    """A new generated secret (shown in this answer only), optionally expiring."""
    caller = await authorise(request, CLIENTS_WRITE)
    fields = Fields(await json_object(request, empty_ok=True))
    now = int(time.time())
    expires_at = _expires_at(fields, "expires_in", now)
    fields.done()
    client_id = request.path_params["client_id"]
    secret = await run(lambda: service.add_secret(caller.changes, client_id, now, expires_at=expires_at))
    body = {"client_id": client_id, **describe_secret(secret.stored, now), "client_secret": secret.text}
    return json_response(body, 201, {"location": f"{PREFIX}/{client_id}/secrets/{secret.stored.secret_id}"})


async def remove_secret(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_WRITE)
    client_id, secret_id = request.path_params["client_id"], request.path_params["secret_id"]
    now = int(time.time())
    if not await run(service.remove_secret, caller.changes, client_id, secret_id, now):
        raise AdminError(AdminProblem.NOT_FOUND, f"client {client_id!r} has no secret {secret_id!r}")
    return Response(status_code=204, headers={"cache-control": "no-store"})


async def revoke_tokens(request: Request) -> Response:
    """Every token issued to the client up to now turns inactive (`clients revoke-tokens`)."""
    caller = await authorise(request, CLIENTS_WRITE)
    fields = Fields(await json_object(request, empty_ok=True))
    fields.done()
    client_id = request.path_params["client_id"]
    not_itself(caller, client_id, "revoke the tokens of")
    instant = await run(revoke_client_tokens, caller.changes, client_id)
    return json_response({"client_id": client_id, "tokens_not_before": instant})
