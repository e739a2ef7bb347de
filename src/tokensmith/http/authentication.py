"""Client authentication for the endpoints that require it: the token endpoints,
introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import authenticate
from tokensmith.http.client_auth import client_credentials
from tokensmith.node import Node


async def authenticated_client(request: Request, node: Node, form: Mapping[str, str]) -> Client:
    credentials = client_credentials(request.headers.get("authorization"), form)
    if credentials is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    request.state.client_id = credentials.client_id[:128]
    client = await node.client_cache.get(credentials.client_id) if credentials.is_plausible() else None
    return authenticate(client, credentials, node.checker, int(time.time()))
