"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the store
answers too). Readiness also reports Redis and the fan-out subscription in its
details, but does not depend on them: without Redis a node still issues tokens,
with per-process limits."""

from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse

from tokensmith.node import Node

READINESS_TIMEOUT_SECONDS = 2.0
NO_STORE = {"cache-control": "no-store"}


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def readyz(request: Request) -> JSONResponse:
    node: Node = request.app.state.node
    store_ok = False
    with anyio.move_on_after(READINESS_TIMEOUT_SECONDS):
        store_ok = await anyio.to_thread.run_sync(node.store_answers, abandon_on_cancel=True)
    if store_ok:
        node.gate.succeeded()  # let cold paths try the store again at once
    signing_ok = node.key_cache.signer is not None
    ready = store_ok and signing_ok
    body = {"status": "ready" if ready else "unavailable", "store": "ok" if store_ok else "unreachable", "signing_key": "ok" if signing_ok else "missing"}
    body["redis"] = "disabled"
    if node.redis is not None:
        redis_ok = False
        with anyio.move_on_after(READINESS_TIMEOUT_SECONDS):
            redis_ok = await node.redis.ping()
        body["redis"] = "ok" if redis_ok else "unreachable"
    listener = getattr(request.app.state, "fanout", None)
    body["fanout"] = "disabled" if listener is None else ("subscribed" if listener.subscribed else "disconnected")
    return JSONResponse(body, status_code=200 if ready else 503, headers=NO_STORE)
