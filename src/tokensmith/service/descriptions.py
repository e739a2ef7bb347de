"""Clients, their credentials and trusts as JSON objects: what `tokensmith clients …
--json` prints and what the admin API answers, field for field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.domain.audit import federation_summary
from tokensmith.domain.client_keys import KEY_PREFIX, jwks_kids, key_credential_id, keys_of_jwks
from tokensmith.domain.clients import Client, check_custom_claims
from tokensmith.domain.secrets import StoredSecret
from tokensmith.domain.trusts import Federation, Trust


def describe(client: Client, now: int, uses: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The client as commands show it; with `uses` (store/usage.py), when each
    credential was last used (null: never, or not since uses were recorded)."""
    shown = {
        "client_id": client.client_id,
        "name": client.name,
        "enabled": client.enabled,
        "scopes": list(client.scopes),
        "default_scopes": list(client.default_scopes),
        "audiences": list(client.audiences),
        "claims": shown_claims(client),
        "lifetime": str(client.lifetime),
        "rate_limit": client.rate_limit,
        "reuse_tokens": client.reuse_tokens,
        "tokens_not_before": client.tokens_not_before,
        "auth_method": client.auth_method.value,
        "token_binding": client.token_binding.value,
        "profile": client.profile.value,
        "tls_subject_dn": client.tls_subject_dn,
        "tls_san_dns": list(client.tls_san_dns),
        "tls_san_uri": list(client.tls_san_uri),
        "jwks_uri": client.jwks_uri,
        "keys": describe_keys(client, uses),
        "federations": [describe_federation(federation) for federation in client.federations],
        "secrets": [describe_secret(secret, now) for secret in client.secrets],
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    }
    if uses is not None:
        for credential in (*shown["secrets"], *shown["federations"]):
            credential_id = credential.get("secret_id") or credential["federation_id"]
            credential["last_used_at"] = uses.get(credential_id)
    return shown


def describe_keys(client: Client, uses: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """The inline keys' kids and algorithms; for a client with a jwks_uri, the keys
    it has been seen to use (the document itself is remote)."""
    keys: dict[str, dict[str, Any]] = {}
    if client.jwks is not None:
        for key in keys_of_jwks(client.jwks):
            keys.setdefault(key.kid, {"kid": key.kid, "algorithms": []})["algorithms"].append(key.alg)
    elif uses is not None and client.jwks_uri is not None:
        for credential_id in sorted(uses):
            if credential_id.startswith(KEY_PREFIX):
                kid = credential_id.removeprefix(KEY_PREFIX)
                keys[kid] = {"kid": kid, "algorithms": None}
    if uses is not None:
        for kid, shown in keys.items():
            shown["last_used_at"] = uses.get(key_credential_id(kid))
    return list(keys.values())


def describe_federation(federation: Federation) -> dict[str, Any]:
    return {**federation_summary(federation), "created_at": federation.created_at}


def shown_claims(client: Client) -> Any:
    """The client's claims, or what is wrong with them: a client stored before the
    claim rules (domain/clients.py) may hold one that cannot be printed as JSON."""
    try:
        check_custom_claims(client.claims)
    except ValueError as exc:
        return {"invalid": f"{exc}; fix with `tokensmith clients update {client.client_id} --remove-claim NAME`"}
    return dict(client.claims)


def describe_secret(secret: StoredSecret, now: int) -> dict[str, Any]:
    return {
        "secret_id": secret.secret_id,
        "kind": secret.kind.value,
        "created_at": secret.created_at,
        "expires_at": secret.expires_at,
        "live": secret.is_live(now),
    }


def key_source(trust: Trust) -> str:
    if trust.jwks is not None:
        return "jwks"
    return "jwks_uri" if trust.jwks_uri is not None else "discovery"


def describe_trust(trust: Trust, federations: int) -> dict[str, Any]:
    """The trust as `tokensmith trust show --json` shows it; `federations`: how many
    federated credentials use it."""
    return {
        "name": trust.name,
        "issuer": trust.issuer,
        "keys_from": key_source(trust),
        "jwks_uri": trust.jwks_uri,
        "jwks_kids": jwks_kids(trust.jwks) if trust.jwks is not None else None,
        "audience": trust.audience,  # null: this server's issuer identifier
        "replay": trust.replay.value,
        "max_token_age": trust.max_token_age,
        "federated_credentials": federations,
        "created_at": trust.created_at,
        "updated_at": trust.updated_at,
    }
