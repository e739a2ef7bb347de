"""Who is calling the admin API, and may they: a bearer access token issued by this
server (checked in-process as introspection checks it: our key ring, our issuer, not
expired or revoked, its client still enabled) whose `aud` holds the issuer, with a
scope below; or a console session cookie, whose writes also need its CSRF token.

Scopes: `tokensmith:admin` allows everything; the others one resource, `.write`
including `.read`."""

from __future__ import annotations

import functools
import hmac
import time
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request

from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.audit import Actor
from tokensmith.domain.console import Session
from tokensmith.http.introspection import live_claims
from tokensmith.node import Node
from tokensmith.service.changes import Changes
from tokensmith.service.console import session_of
from tokensmith.verify.certificates import TrustedProxies, check_certificate_binding, scope_certificate
from tokensmith.verify.dpop import DPoPChecker, asgi_presentation
from tokensmith.verify.errors import TokenError

ADMIN_SCOPE = "tokensmith:admin"
CLIENTS_READ = "tokensmith:clients.read"
CLIENTS_WRITE = "tokensmith:clients.write"
KEYS_READ = "tokensmith:keys.read"
KEYS_WRITE = "tokensmith:keys.write"
AUDIT_READ = "tokensmith:audit.read"
STATS_READ = "tokensmith:stats.read"
# Trusted external issuers (a client's federated credentials are the clients.* scopes').
TRUSTS_READ = "tokensmith:trusts.read"
TRUSTS_WRITE = "tokensmith:trusts.write"
SCOPES = (ADMIN_SCOPE, CLIENTS_READ, CLIENTS_WRITE, KEYS_READ, KEYS_WRITE, AUDIT_READ, STATS_READ, TRUSTS_READ, TRUSTS_WRITE)

SESSION_COOKIE = "tokensmith_console"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _satisfies(scope: str, needed: str) -> bool:
    return scope in (needed, ADMIN_SCOPE) or (needed.endswith(".read") and scope == needed.removesuffix(".read") + ".write")


@dataclass(frozen=True)
class Caller:
    """Who a request acts for, and the changes it makes (service/changes.py)."""

    changes: Changes
    session: Session | None = None


# DPoP-bound tokens (RFC 9449 §7): each proof once in this process, as tokensmith.verify does.
_DPOP = DPoPChecker()


def _presented_token(request: Request) -> tuple[str, str] | None:
    """The scheme and token of `Authorization: Bearer …` (RFC 6750 §2.1) or `DPoP …`
    (RFC 9449 §7.1); None without the header."""
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    name = {"bearer": "Bearer", "dpop": "DPoP"}.get(scheme.lower())
    if name is None or not token.strip():
        raise _unauthenticated("The Authorization header must be `Bearer <access token>`")
    return name, token.strip()


def _check_binding(request: Request, scheme: str, token: str, claims: dict[str, Any], trusted_proxies: tuple[str, ...]) -> None:
    """A DPoP-bound token only with its proof for this request; never as Bearer. A
    certificate-bound one only over a connection (or a trusted proxy's Client-Cert)
    with its certificate (RFC 8705 §3)."""
    try:
        _DPOP.check(claims, token, asgi_presentation(request.scope, scheme) if scheme == "DPoP" else None)
        check_certificate_binding(claims.get("cnf"), scope_certificate(request.scope, _trusted(trusted_proxies)))
    except TokenError as refused:
        raise _unauthenticated(refused.description) from None


@functools.cache
def _trusted(networks: tuple[str, ...]) -> TrustedProxies:
    return TrustedProxies(networks)


def _unauthenticated(detail: str | None = None) -> AdminError:
    challenge = 'Bearer realm="tokensmith-admin"' + (', error="invalid_token"' if detail else "")
    return AdminError(AdminProblem.UNAUTHENTICATED, detail, {"www-authenticate": challenge})


def _host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authorise(request: Request, needed: str) -> Caller:
    """The caller, when it may use a route that needs scope `needed`; AdminError otherwise."""
    node: Node = request.app.state.node
    presented = _presented_token(request)
    if presented is not None:
        scheme, token = presented
        claims = await live_claims(node, token)
        if claims is None or not _for_this_server(claims, node.settings.issuer):
            raise _unauthenticated("The access token is not valid here")
        if scheme == "DPoP" or "cnf" in claims:
            _check_binding(request, scheme, token, claims, node.settings.trusted_proxies)
        scopes = str(claims.get("scope", "")).split()
        if not any(_satisfies(scope, needed) for scope in scopes):
            raise AdminError(
                AdminProblem.INSUFFICIENT_SCOPE,
                f"This route needs scope {needed} (or {ADMIN_SCOPE})",
                {"www-authenticate": f'Bearer realm="tokensmith-admin", error="insufficient_scope", scope="{needed}"'},
            )
        request.scope.setdefault("state", {})["client_id"] = claims["client_id"]  # for the access log
        return Caller(Changes(node, Actor(f"client:{claims['client_id']}", _host(request))))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        changes = Changes(node, Actor("console", _host(request)))
        now = int(time.time())
        session = await anyio.to_thread.run_sync(session_of, changes, cookie, now)
        if session is None:
            raise _unauthenticated("The console session has ended; log in again")
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf_token.encode()):
                raise AdminError(AdminProblem.CSRF)
        return Caller(Changes(node, Actor(session.actor_name, _host(request))), session)
    raise _unauthenticated()


def _for_this_server(claims: dict[str, Any], issuer: str) -> bool:
    """The admin API is an API of the issuer: a token meant for another audience (a
    partner's API) is not accepted here, even when it carries an admin scope."""
    audience = claims["aud"]
    return issuer in ([audience] if isinstance(audience, str) else audience)
