"""Experiment: the ceiling of the HTTP stack itself, not product code.

Two tiny ASGI apps on the same server and pinning as tokensmith:
  * `static_app_from_environment`: answers every POST with a fixed JSON body the size
    of a token response; no work at all. Its rate is what the server (uvicorn or
    granian) and the event loop cost per request.
  * `sign_app_from_environment`: the same, plus one RS256 signature per request over a
    fixed signing input (the key is generated at start). Its rate divided by the raw
    signing rate is the best any Python endpoint on this stack can reach.

Both drain the request body and send a precomputed header list, as a thin token
route would.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_BODY = b'{"access_token":"' + b"x" * 640 + b'","expires_in":1800000000,"token_type":"Bearer"}'
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"content-length", b"%d" % len(_BODY)),
]


async def _drain(receive: Any) -> None:
    message = await receive()
    while message.get("more_body"):
        message = await receive()


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def static_app_from_environment() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await _drain(receive)
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": _BODY})

    return app


def sign_app_from_environment() -> Any:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    signing_input = b"e" * 330

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await _drain(receive)
        signature = base64.urlsafe_b64encode(key.sign(signing_input, pkcs1, sha256)).rstrip(b"=")
        body = b'{"access_token":"' + signing_input + b"." + signature + b'","expires_in":1800000000,"token_type":"Bearer"}'
        headers = [*_HEADERS[:3], (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
