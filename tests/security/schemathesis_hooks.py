"""Schemathesis hooks for tests/security/test_schemathesis.py (loaded through
schemathesis.toml, not by pytest).

Schemathesis lets a token URL that the document declares (the two token endpoints)
refuse a schema-valid request with 400: the schema says what is well formed, not what
the store holds. This check narrows that to the reasons below, each a relation OpenAPI
cannot state (between the query and the body, between two parameters, or between a
parameter and what is registered for the client): a schema-valid request refused with
400 for any other reason fails the run.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

from tokensmith.domain.errors import Problem

TOKEN_OPERATIONS = frozenset({"/v1/api/oauth/token", "/oauth2/token"})
RELATIONAL_REFUSALS = (
    # The seed endpoint: the tolerated form may repeat a query parameter, not contradict it.
    "The body's scope differs from the query's scope",
    "The body's audience differs from the query's audience",
    "The body's resource differs from the query's resource",
    # RFC 8707: one target per token.
    "Give resource or audience, not both",
    # RFC 8707 §2 invalid_target / RFC 6749 §5.2 invalid_scope: well formed, not registered.
    Problem.INVALID_TARGET.spec.message,
    Problem.INVALID_SCOPE.spec.message,
)


def _is_dpop_refusal(body: Any) -> bool:
    """A DPoP proof is a JWT signed for this very request (RFC 9449 §4.3): no schema
    can generate a valid one, so a generated DPoP header's refusal is expected."""
    if isinstance(body, dict):
        return body.get("error") in ("invalid_dpop_proof", "use_dpop_nonce")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode") in (Problem.INVALID_DPOP_PROOF.spec.code, Problem.USE_DPOP_NONCE.spec.code)
    return False


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        return body.get("error_description")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        params = body[0].get("invalid-params") or [None]
        return params[0]
    return None


# The admin API's 422s that a schema cannot foresee (admin/problems.py): a rule of the
# domain (REFUSED), and an Idempotency-Key already used for another request body.
ADMIN_RELATIONAL = frozenset({"urn:tokensmith:problem:refused", "urn:tokensmith:problem:idempotency_key_reused"})


@schemathesis.check
def positive_refusals_are_relational(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if case.operation.path.startswith("/admin/") and response.status_code == 422:
        kind = json.loads(response.content).get("type")
        if kind not in ADMIN_RELATIONAL:
            raise AssertionError(f"A schema-valid request was refused as {kind}: {response.text[:300]}")
        return None
    if response.status_code != 400:
        return None
    if case.operation.path not in TOKEN_OPERATIONS:
        return None  # positive_data_acceptance allows no 400 there at all
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if _is_dpop_refusal(body):
        return None
    message = _message(body)
    if message not in RELATIONAL_REFUSALS:
        raise AssertionError(f"A schema-valid request was refused with 400: {message!r}")
    return None
