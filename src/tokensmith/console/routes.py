"""The console's pages and its session: `/console` (the app, needs a session),
`/console/login` (the page a login link opens: it posts the link's code, read from
the URL's fragment, which no server or Referer ever sees), `/console/session` (who is
logged in, and the CSRF token the page sends with every write), `/console/logout`.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's
page sends it), Secure when the console is served over https, and names nothing but
a random session id whose hash the store keeps."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tokensmith.admin.authorisation import SESSION_COOKIE, authorise
from tokensmith.admin.bodies import Fields, invalid, json_object
from tokensmith.admin.calls import json_response
from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.audit import Actor
from tokensmith.node import Node
from tokensmith.service.changes import Changes
from tokensmith.service.console import end_session, redeem_login_link, session_of

PAGE = "/console"
LOGIN = "/console/login"
LOGOUT = "/console/logout"
SESSION = "/console/session"
ASSETS = "/console/static/{name}"
# Nothing from another origin, no framing (clickjacking), no inline script.
PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
ASSET_TYPES = {
    "console.js": "text/javascript; charset=utf-8",
    "login.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


@dataclass
class Assets:
    """The console's files, read from the package on first use."""

    _read: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str) -> bytes:
        if name not in self._read:
            self._read[name] = resources.files("tokensmith.console").joinpath("static", name).read_bytes()
        return self._read[name]


def _assets(request: Request) -> Assets:
    assets: Assets = request.app.state.console_assets
    return assets


def _page(request: Request, name: str, status: int = 200) -> Response:
    return Response(_assets(request).get(name), status, PAGE_HEADERS, media_type="text/html; charset=utf-8")


def _changes(request: Request) -> Changes:
    node: Node = request.app.state.node
    return Changes(node, Actor("console", request.client.host if request.client else "unknown"))


async def console_page(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    session = await anyio.to_thread.run_sync(session_of, _changes(request), cookie, int(time.time())) if cookie else None
    if session is None:
        return RedirectResponse(LOGIN, 303, headers={"cache-control": "no-store"})
    return _page(request, "index.html")


async def login_page(request: Request) -> Response:
    return _page(request, "login.html")


def _secure(request: Request) -> bool:
    node: Node = request.app.state.node
    console_url = node.settings.console_url or node.settings.issuer
    return request.url.scheme == "https" or console_url.startswith("https://")


async def log_in(request: Request) -> Response:
    """Redeems a login link's code (JSON `{"code": …}`): 204 with the session cookie,
    or 401 for a code that is unknown, used or expired (which of these is not said)."""
    fields = Fields(await json_object(request))
    code = fields.text("code")
    fields.done()
    if not code or len(code) > 200:
        invalid("code is required")
    now = int(time.time())
    opened = await anyio.to_thread.run_sync(redeem_login_link, _changes(request), code, now)
    if opened is None:
        raise AdminError(AdminProblem.UNAUTHENTICATED, "This login link has been used or has expired; ask for a new one")
    session, cookie = opened
    response = Response(status_code=204, headers={"cache-control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=session.expires_at - now, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )
    return response


async def current_session(request: Request) -> Response:
    caller = await authorise(request, "tokensmith:console")
    if caller.session is None:
        raise AdminError(AdminProblem.UNAUTHENTICATED, "No console session")
    session = caller.session
    return json_response({"person": session.person, "csrf_token": session.csrf_token, "expires_at": session.expires_at})


async def log_out(request: Request) -> Response:
    caller = await authorise(request, "tokensmith:console")  # a write: the CSRF token too
    if caller.session is not None:
        await anyio.to_thread.run_sync(end_session, caller.changes, caller.session, int(time.time()))
    response = Response(status_code=204, headers={"cache-control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict")
    return response


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise AdminError(AdminProblem.NOT_FOUND)
    return Response(_assets(request).get(name), 200, {"cache-control": "no-cache", "x-content-type-options": "nosniff"}, media_type=media_type)
