"""The accounts API: GET /accounts needs scope `read` (or `edit`), POST /accounts
needs `edit`, POST /transfers `edit` on a DPoP-bound token (RFC 9449). Every route except /healthz needs a tokensmith access token.

Configured from the environment (see README.md):

    TOKENSMITH_ISSUER              the issuer, exactly as in the tokens' "iss" (required)
    ACCOUNTS_AUDIENCE              this API's audience (default https://accounts.example.com)
    ACCOUNTS_INTROSPECTION_CLIENT_ID / ACCOUNTS_INTROSPECTION_CLIENT_SECRET
                                   set both to refuse revoked tokens (RFC 7662 introspection)
    ACCOUNTS_REVOCATION_CACHE_SECONDS  how long an introspection answer is reused (default 30)
    ACCOUNTS_DPOP_NONCES           true: DPoP proofs must carry this API's nonce (RFC 9449 §9)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tokensmith.verify import (
    BearerAuthMiddleware,
    DPoPChecker,
    IntrospectionRevocationCheck,
    TokenHTTPException,
    TokenVerifier,
    require_scopes,
)

need_read = require_scopes("read")
need_edit = require_scopes("edit")
# Moving money takes a DPoP-bound token (RFC 9449): a copied token alone is useless.
need_dpop_edit = require_scopes("edit", dpop=True)


def verifier_from_env(env: Mapping[str, str]) -> TokenVerifier:
    issuer = env.get("TOKENSMITH_ISSUER")
    if not issuer:
        raise RuntimeError("set TOKENSMITH_ISSUER to the tokensmith issuer URL, e.g. http://127.0.0.1:8080")
    audience = env.get("ACCOUNTS_AUDIENCE", "https://accounts.example.com")
    revocation_check = None
    client_id = env.get("ACCOUNTS_INTROSPECTION_CLIENT_ID")
    if client_id:
        # Off by default: a JWT is otherwise valid until its exp, revoked or not.
        revocation_check = IntrospectionRevocationCheck(
            f"{issuer}/oauth2/introspect",
            client_id=client_id,
            client_secret=env["ACCOUNTS_INTROSPECTION_CLIENT_SECRET"],
            cache_ttl=float(env.get("ACCOUNTS_REVOCATION_CACHE_SECONDS", "30")),
        )
    # RFC 9449 §9: DPoP proofs must carry a nonce this process hands out (DPoP-Nonce).
    dpop = DPoPChecker(nonce_key=os.urandom(32)) if env.get("ACCOUNTS_DPOP_NONCES") == "true" else None
    return TokenVerifier(issuer, audience, revocation_check=revocation_check, dpop=dpop)


async def _json_object(request: Request) -> dict[str, object]:
    """The request's JSON object body; empty when it is anything else."""
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def create_app(env: Mapping[str, str] = os.environ) -> Starlette:
    accounts: list[dict[str, object]] = []
    next_id = itertools.count(1)

    async def list_accounts(request: Request) -> JSONResponse:
        try:
            claims = await need_edit(request)  # edit implies read
        except TokenHTTPException:
            claims = await need_read(request)  # a refusal here names the scope "read"
        return JSONResponse({"accounts": accounts, "client_id": claims["client_id"]})

    async def create_account(request: Request) -> JSONResponse:
        claims = await need_edit(request)
        name = (await _json_object(request)).get("name")
        if not isinstance(name, str) or not name:
            return JSONResponse({"error": "a JSON object with a non-empty 'name' is required"}, status_code=422)
        account = {"id": next(next_id), "name": name, "created_by": claims["client_id"]}
        accounts.append(account)
        return JSONResponse(account, status_code=201)

    async def create_transfer(request: Request) -> JSONResponse:
        claims = await need_dpop_edit(request)
        amount = (await _json_object(request)).get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return JSONResponse({"error": "a JSON object with a positive integer 'amount' is required"}, status_code=422)
        return JSONResponse({"amount": amount, "by": claims["client_id"], "key": claims["cnf"]["jkt"]}, status_code=201)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def token_refused(request: Request, exc: TokenHTTPException) -> JSONResponse:
        # require_scopes' refusals in the same JSON shape the middleware uses
        # (Starlette alone would render them as text/plain).
        error = exc.token_error
        body = {"error": error.error, "error_description": error.description}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    return Starlette(
        routes=[
            Route("/accounts", list_accounts, methods=["GET"]),
            Route("/accounts", create_account, methods=["POST"]),
            Route("/transfers", create_transfer, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        exception_handlers={TokenHTTPException: token_refused},
        middleware=[
            Middleware(
                BearerAuthMiddleware,
                verifier=verifier_from_env(env),
                realm="accounts-api",
                exempt_paths=["/healthz"],
            )
        ],
    )


app = create_app()
