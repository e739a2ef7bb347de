"""`/admin/v1/keys`: the signing key ring (never a private key), and its rotation."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import KEYS_READ, KEYS_WRITE, authorise
from tokensmith.admin.bodies import Fields, invalid, json_object
from tokensmith.admin.calls import json_response, run
from tokensmith.domain.audit import rotation_summary
from tokensmith.domain.keys import SigningKey
from tokensmith.service.keys import rotate_keys

COLLECTION = "/admin/v1/keys"
ROTATE = "/admin/v1/keys/rotate"
_STATE_ORDER = {"next": 0, "active": 1, "retired": 2}


def describe_key(key: SigningKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "algorithm": key.algorithm,
        "state": key.state.value,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
    }


async def list_keys(request: Request) -> Response:
    caller = await authorise(request, KEYS_READ)
    keys = await run(caller.changes.node.keys.all)
    keys.sort(key=lambda key: (_STATE_ORDER.get(key.state.value, 3), -key.created_at))
    return json_response({"items": [describe_key(key) for key in keys]})


async def rotate(request: Request) -> Response:
    """next → active, active → retired, and a new next key (`tokensmith keys rotate`);
    `algorithm` picks the new next key's (default TOKENSMITH_SIGNING_ALGORITHM)."""
    caller = await authorise(request, KEYS_WRITE)
    fields = Fields(await json_object(request, empty_ok=True))
    algorithm = fields.text("algorithm")
    fields.done()
    if algorithm == "":
        invalid("algorithm must name one (RS256, PS256, ES256, EdDSA); leave it out for TOKENSMITH_SIGNING_ALGORITHM")
    rotation = await run(rotate_keys, caller.changes, algorithm)
    return json_response(rotation_summary(rotation))
