"""Registering clients and giving them secrets, keys or federated credentials, and
trusting external issuers: the rules an administrator's change must follow, whatever
tool makes it."""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from tokensmith.domain.client_keys import MAX_URI_LENGTH, AuthMethod, check_jwks_uri, keys_of_jwks
from tokensmith.domain.clients import Client, check_custom_claims, check_rate_limit, is_valid_client_id
from tokensmith.domain.lifetimes import Lifetime
from tokensmith.domain.scopes import validate_scope_tokens
from tokensmith.domain.secrets import (
    MAX_LIVE_SECRETS,
    MAX_SECRET_LENGTH,
    MIN_IMPORTED_SECRET_LENGTH,
    SecretChecker,
    SecretKind,
    StoredSecret,
    generate_secret,
    generate_secret_id,
)
from tokensmith.domain.sender_constraints import TokenBinding
from tokensmith.domain.trusts import (
    MAX_CONDITIONS,
    MAX_FEDERATIONS_PER_CLIENT,
    MAX_SUBJECT_LENGTH,
    MAX_TOKEN_AGE,
    Federation,
    ReplayRule,
    Trust,
    is_valid_trust_name,
    parse_condition,
)

MAX_CLAIM_PATH_LENGTH = 256
MAX_PATTERN_LENGTH = 512

# A secret meant to outlive ten years should not expire at all; the bound also keeps
# the instant inside the store's 64-bit integer.
MAX_SECRET_EXPIRY_SECONDS = 3650 * 86400


def generate_client_id() -> str:
    return "cl_" + random.token_hex(8)


def _check_audience(audience: str) -> None:
    if not audience or len(audience) > 512 or any(ch.isspace() for ch in audience):
        raise ValueError(f"not a valid audience: {audience!r}")


def _check_audiences(audiences: tuple[str, ...]) -> None:
    for audience in audiences:
        _check_audience(audience)


def check_client_keys(auth_method: AuthMethod, jwks: Mapping[str, Any] | None, jwks_uri: str | None) -> None:
    """A private_key_jwt client has its keys inline or at a URI, exactly one of the
    two; no other client has either (a secret client's keys would be a second,
    unintended way in; a federated client's keys are its trusts')."""
    if auth_method is AuthMethod.PRIVATE_KEY_JWT:
        if (jwks is None) == (jwks_uri is None):
            raise ValueError("a private_key_jwt client needs its keys: a JWKS file or a JWKS URI, exactly one")
        if jwks is not None:
            keys_of_jwks(jwks)
        if jwks_uri is not None:
            check_jwks_uri(jwks_uri)
    elif jwks is not None or jwks_uri is not None:
        raise ValueError(f"a {auth_method.value} client has no registered keys; only private_key_jwt has")


def build_client(
    *,
    client_id: str | None,
    name: str,
    scopes: tuple[str, ...],
    default_scopes: tuple[str, ...] | None,
    audiences: tuple[str, ...],
    claims: Mapping[str, Any],
    lifetime: Lifetime,
    now: int,
    rate_limit: int | None = None,
    reuse_tokens: bool = False,
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
    jwks: Mapping[str, Any] | None = None,
    jwks_uri: str | None = None,
    token_binding: TokenBinding = TokenBinding.NONE,
) -> Client:
    client_id = client_id or generate_client_id()
    if not is_valid_client_id(client_id):
        raise ValueError("client id must be 1 to 128 printable ASCII characters without spaces")
    scopes = validate_scope_tokens(scopes)
    if not scopes:
        raise ValueError("a client needs at least one scope")
    defaults = scopes if default_scopes is None else validate_scope_tokens(default_scopes)
    if not set(defaults) <= set(scopes):
        raise ValueError("default scopes must be among the client's scopes")
    _check_audiences(audiences)
    check_custom_claims(claims, client_id=client_id, scopes=scopes, audiences=audiences)
    check_rate_limit(rate_limit)
    check_client_keys(auth_method, jwks, jwks_uri)
    return Client(
        client_id=client_id,
        name=name,
        scopes=scopes,
        default_scopes=defaults,
        audiences=tuple(dict.fromkeys(audiences)),
        claims=dict(claims),
        lifetime=lifetime,
        enabled=True,
        created_at=now,
        updated_at=now,
        rate_limit=rate_limit,
        reuse_tokens=reuse_tokens,
        auth_method=auth_method,
        jwks=dict(jwks) if jwks is not None else None,
        jwks_uri=jwks_uri,
        token_binding=TokenBinding(token_binding),
    )


def change_client(client: Client, now: int, **changes: Any) -> Client:
    """The client with `changes` applied, checked by the same rules as a new one."""
    changed = replace(client, **changes, updated_at=now)
    build_client(
        client_id=changed.client_id,
        name=changed.name,
        scopes=changed.scopes,
        default_scopes=changed.default_scopes,
        audiences=changed.audiences,
        claims=changed.claims,
        lifetime=changed.lifetime,
        now=now,
        rate_limit=changed.rate_limit,
        reuse_tokens=changed.reuse_tokens,
        auth_method=changed.auth_method,
        jwks=changed.jwks,
        jwks_uri=changed.jwks_uri,
        token_binding=changed.token_binding,
    )
    if changed.auth_method is not AuthMethod.FEDERATED and changed.federations:
        raise ValueError(
            f"client {client.client_id!r} has {len(changed.federations)} federated credential(s): "
            "remove them first (clients unfederate)"
        )
    return changed


def new_secret(
    client: Client, checker: SecretChecker, now: int, *, imported: str | None = None, expires_at: int | None = None
) -> tuple[StoredSecret, str]:
    """A new secret for `client` and the text to show once. An imported secret keeps
    its text and is hashed with argon2id; otherwise one is generated."""
    if not client.auth_method.uses_secrets:
        raise ValueError(f"client {client.client_id!r} authenticates with {client.auth_method.value}: it has no secrets")
    if len(client.live_secrets(now)) >= MAX_LIVE_SECRETS:
        raise ValueError(f"a client has at most {MAX_LIVE_SECRETS} live secrets: remove one first")
    if expires_at is not None and expires_at <= now:
        raise ValueError("a secret's expiry must be in the future")
    if expires_at is not None and expires_at - now > MAX_SECRET_EXPIRY_SECONDS:
        raise ValueError("a secret expires within 3650 days at most; leave the expiry out for one that does not expire")
    if imported is None:
        text = generate_secret()
        stored = StoredSecret(generate_secret_id(), SecretKind.GENERATED, checker.hash_generated(text), now, expires_at)
        return stored, text
    if not MIN_IMPORTED_SECRET_LENGTH <= len(imported) <= MAX_SECRET_LENGTH:
        raise ValueError(f"an imported secret must be {MIN_IMPORTED_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters")
    stored = StoredSecret(generate_secret_id(), SecretKind.IMPORTED, checker.hash_imported(imported), now, expires_at)
    return stored, imported


def generate_federation_id() -> str:
    return "fed_" + random.token_hex(8)


def _check_text(what: str, text: str, limit: int) -> None:
    if not text or len(text) > limit or not text.isprintable():
        raise ValueError(f"{what} must be 1 to {limit} printable characters")


def new_federation(client: Client, trust: Trust, subject: str, conditions: Sequence[str], now: int) -> Federation:
    """A federated credential for `client`: tokens of `trust` whose `sub` is exactly
    `subject` and whose claims meet each CLAIM=PATTERN condition."""
    if client.auth_method is not AuthMethod.FEDERATED:
        raise ValueError(
            f"client {client.client_id!r} authenticates with {client.auth_method.value}, not federated: "
            "create it with --auth-method federated"
        )
    if len(client.federations) >= MAX_FEDERATIONS_PER_CLIENT:
        raise ValueError(f"a client has at most {MAX_FEDERATIONS_PER_CLIENT} federated credentials: remove one first")
    _check_text("a subject", subject, MAX_SUBJECT_LENGTH)
    if len(conditions) > MAX_CONDITIONS:
        raise ValueError(f"a federated credential has at most {MAX_CONDITIONS} conditions")
    parsed = tuple(parse_condition(text) for text in conditions)
    for condition in parsed:
        _check_text(f"condition {str(condition)!r}: a claim", condition.claim, MAX_CLAIM_PATH_LENGTH)
        _check_text(f"condition {str(condition)!r}: a pattern", condition.pattern, MAX_PATTERN_LENGTH)
    for federation in client.federations:
        if (federation.trust, federation.subject, set(federation.conditions)) == (trust.name, subject, set(parsed)):
            raise ValueError(f"client {client.client_id!r} already has this federated credential: {federation.federation_id}")
    return Federation(generate_federation_id(), trust.name, subject, tuple(dict.fromkeys(parsed)), now)


def check_issuer(issuer: str) -> str:
    """An issuer identifier as OIDC discovery takes it (OpenID Connect Discovery §2):
    an absolute URL without credentials, query or fragment. https or http: the
    outbound policy decides at each fetch whether it may be reached."""
    parts = urlsplit(issuer)
    if len(issuer) > MAX_URI_LENGTH or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("an issuer must be an absolute https URL")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError("an issuer may not carry credentials, a query or a fragment")
    return issuer


def parse_replay_rule(text: str) -> ReplayRule:
    try:
        return ReplayRule(text)
    except ValueError:
        raise ValueError(f"unknown replay rule {text!r}; one of: {', '.join(rule.value for rule in ReplayRule)}") from None


def build_trust(
    *,
    name: str,
    issuer: str,
    jwks_uri: str | None,
    jwks: Mapping[str, Any] | None,
    audience: str | None,
    replay: ReplayRule,
    max_token_age: int,
    now: int,
) -> Trust:
    """A trusted issuer; its keys by discovery (neither `jwks_uri` nor `jwks`), at
    `jwks_uri`, or inline."""
    if not is_valid_trust_name(name):
        raise ValueError("a trust's name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit")
    check_issuer(issuer)
    if jwks_uri is not None and jwks is not None:
        raise ValueError("give a trust's keys by JWKS URI or JWKS file, not both (neither: by discovery)")
    if jwks_uri is not None:
        check_jwks_uri(jwks_uri)
    if jwks is not None:
        keys_of_jwks(jwks)
    if audience is not None:
        _check_audience(audience)
    if not 1 <= max_token_age <= MAX_TOKEN_AGE:
        raise ValueError(f"a maximum token age is 1 to {MAX_TOKEN_AGE} seconds")
    return Trust(
        name=name,
        issuer=issuer,
        jwks_uri=jwks_uri,
        jwks=dict(jwks) if jwks is not None else None,
        audience=audience,
        replay=replay,
        max_token_age=max_token_age,
        created_at=now,
        updated_at=now,
    )


def change_trust(trust: Trust, now: int, **changes: Any) -> Trust:
    changed = replace(trust, **changes, updated_at=now)
    build_trust(
        name=changed.name,
        issuer=changed.issuer,
        jwks_uri=changed.jwks_uri,
        jwks=changed.jwks,
        audience=changed.audience,
        replay=changed.replay,
        max_token_age=changed.max_token_age,
        now=now,
    )
    return changed
