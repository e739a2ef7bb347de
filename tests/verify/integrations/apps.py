"""One small API per framework, the same routes each, for the integration tests:

    GET /healthz          no token needed
    GET /orders           scope orders:read; answers the claims it was given
    GET /admin            scope admin
    GET /checked/orders   scope orders:read, and the token must not be revoked
                          (RFC 7662 introspection, answers not cached)
    GET /.well-known/oauth-protected-resource   RFC 9728 metadata

Run as its own process: ``python -m tests.verify.integrations.apps FRAMEWORK PORT``, with
APP_ISSUER, APP_AUDIENCE, APP_INTROSPECTION_ID and APP_INTROSPECTION_SECRET in the
environment. ASGI apps are served by uvicorn, WSGI apps by wsgiref's server (threaded).
"""

# No "from __future__ import annotations": FastAPI reads the routes' annotations at runtime,
# and they name objects local to fastapi_app().
import os
import sys
from socketserver import ThreadingMixIn
from typing import Annotated, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tokensmith.verify import IntrospectionRevocationCheck, TokenVerifier
from tokensmith.verify.resource_metadata import ProtectedResourceMetadata

SCOPES = {"orders:read": "Read orders", "admin": "Administer"}


def _answer(claims: dict[str, Any]) -> dict[str, Any]:
    return {"client_id": claims["client_id"], "sub": claims["sub"], "scope": claims["scope"]}


def verifiers(env: dict[str, str]) -> tuple[TokenVerifier, TokenVerifier]:
    issuer, audience = env["APP_ISSUER"], env["APP_AUDIENCE"]
    revocation = IntrospectionRevocationCheck(
        issuer + "/oauth2/introspect", env["APP_INTROSPECTION_ID"], env["APP_INTROSPECTION_SECRET"], cache_ttl=0
    )
    return TokenVerifier(issuer, audience), TokenVerifier(issuer, audience, revocation_check=revocation)


def metadata(env: dict[str, str]) -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(env["APP_AUDIENCE"], authorization_servers=[env["APP_ISSUER"]], scopes_supported=list(SCOPES))


def fastapi_app(env: dict[str, str]) -> Any:
    from fastapi import FastAPI, Security

    from tokensmith.verify.integrations.fastapi import Claims, TokenAuth

    plain, checked = verifiers(env)
    auth = TokenAuth(plain, scopes=SCOPES, resource_metadata=metadata(env))
    auth_checked = TokenAuth(checked, scopes=SCOPES, scheme_name="tokensmith-checked", resource_metadata=metadata(env))
    app = FastAPI()
    auth.install(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders")
    async def orders(claims: Annotated[Claims, Security(auth, scopes=["orders:read"])]) -> dict[str, Any]:
        return _answer(claims)

    @app.get("/admin")
    async def admin(claims: Annotated[Claims, Security(auth, scopes=["admin"])]) -> dict[str, Any]:
        return _answer(claims)

    @app.get("/checked/orders")
    async def checked_orders(claims: Annotated[Claims, Security(auth_checked, scopes=["orders:read"])]) -> dict[str, Any]:
        return _answer(claims)

    return app


def starlette_app(env: dict[str, str]) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tokensmith.verify import BearerAuthMiddleware, TokenHTTPException, require_scopes

    plain, checked = verifiers(env)
    resource = metadata(env)
    need_read, need_admin = require_scopes("orders:read", resource_metadata=resource), require_scopes("admin", resource_metadata=resource)
    checked_read = require_scopes("orders:read", verifier=checked, resource_metadata=resource)

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse(_answer(await need_read(request)))

    async def admin(request: Request) -> JSONResponse:
        return JSONResponse(_answer(await need_admin(request)))

    async def checked_orders(request: Request) -> JSONResponse:
        # Exempt from the middleware: require_scopes(verifier=) verifies with its own verifier.
        return JSONResponse(_answer(await checked_read(request)))

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def refused(request: Request, exc: Exception) -> Any:
        from starlette.responses import Response

        assert isinstance(exc, TokenHTTPException)
        return Response(exc.refusal.body, status_code=exc.refusal.status, headers=dict(exc.refusal.headers))

    routes = [Route("/healthz", healthz), Route("/orders", orders), Route("/admin", admin), Route("/checked/orders", checked_orders)]
    middleware = [Middleware(BearerAuthMiddleware, verifier=plain, exempt_paths=["/healthz", "/checked/orders"], resource_metadata=resource)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={TokenHTTPException: refused})


def flask_app(env: dict[str, str]) -> Any:
    from flask import Flask, g

    from tokensmith.verify.integrations.flask import TokenProtection

    plain, checked = verifiers(env)
    app = Flask(__name__)
    protection = TokenProtection(plain, app, resource_metadata=metadata(env))
    protection_checked = TokenProtection(checked, resource_metadata=metadata(env))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders")
    @protection.require("orders:read")
    def orders() -> dict[str, Any]:
        return _answer(g.token_claims)

    @app.get("/admin")
    @protection.require("admin")
    def admin() -> dict[str, Any]:
        return _answer(g.token_claims)

    @app.get("/checked/orders")
    @protection_checked.require("orders:read")
    def checked_orders() -> dict[str, Any]:
        return _answer(g.token_claims)

    return app


def django_app(env: dict[str, str]) -> Any:
    import django
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path

    plain, checked = verifiers(env)
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="tests-only",
        MIDDLEWARE=["tokensmith.verify.integrations.django.BearerTokenMiddleware"],
        TOKENSMITH={"VERIFIER": plain, "RESOURCE_METADATA": {"scopes_supported": list(SCOPES)}},
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    from tokensmith.verify.integrations.django import Protection, require_token

    with_revocation = Protection(checked, resource_metadata=metadata(env))

    @require_token("orders:read")
    def orders(request: Any) -> JsonResponse:
        return JsonResponse(_answer(request.token_claims))

    @require_token("admin")
    def admin(request: Any) -> JsonResponse:
        return JsonResponse(_answer(request.token_claims))

    @require_token("orders:read", using=with_revocation)
    def checked_orders(request: Any) -> JsonResponse:
        return JsonResponse(_answer(request.token_claims))

    def healthz(request: Any) -> JsonResponse:
        return JsonResponse({"status": "ok"})

    global urlpatterns
    urlpatterns = [path("healthz", healthz), path("orders", orders), path("admin", admin), path("checked/orders", checked_orders)]
    return get_wsgi_application()


urlpatterns: list[Any] = []
APPS = {"fastapi": fastapi_app, "starlette": starlette_app, "flask": flask_app, "django": django_app}
ASGI = {"fastapi", "starlette"}


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    framework, port = sys.argv[1], int(sys.argv[2])
    app = APPS[framework](dict(os.environ))
    if framework in ASGI:
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    else:
        make_server("127.0.0.1", port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler).serve_forever()


if __name__ == "__main__":
    main()
