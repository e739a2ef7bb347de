"""TOKENSMITH_ADMIN_PORT: the admin API and the console on a listener of their own,
so they need not face the partners' network. With it set, a request for /admin or
/console that arrived on any other port gets the same 404 as an unknown path; the
admin listener serves everything (operators fetch their own tokens there too)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.http.errors import render_error

ADMIN_PATHS = ("/admin/", "/console/")


def is_admin_path(path: str) -> bool:
    return path.startswith(ADMIN_PATHS) or path in ("/admin", "/console")


class ListenerGate:
    def __init__(self, app: ASGIApp, admin_port: int | None, source: str) -> None:
        self.app = app
        self.admin_port = admin_port
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.admin_port is not None and scope["type"] == "http" and is_admin_path(scope["path"]):
            server = scope.get("server")
            if server is None or server[1] != self.admin_port:
                scope.setdefault("state", {})["problem"] = Problem.NOT_FOUND.name.lower()
                # Rendered as any unknown path is on this port (the seed's format).
                response = render_error(TokensmithError(Problem.NOT_FOUND), "/", self.source)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
