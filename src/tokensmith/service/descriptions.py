"""Clients and secrets as JSON objects: what `tokensmith clients … --json` prints and
what the admin API answers, field for field."""

from __future__ import annotations

from typing import Any

from tokensmith.domain.clients import Client, check_custom_claims
from tokensmith.domain.secrets import StoredSecret


def describe(client: Client, now: int) -> dict[str, Any]:
    return {
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
        "secrets": [describe_secret(secret, now) for secret in client.secrets],
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    }


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
