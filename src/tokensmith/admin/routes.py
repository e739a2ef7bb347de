"""The admin API's and the console's routes, mounted by http/app.py. A path taking
several methods is one route, so a 405 lists all of them in Allow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tokensmith.admin import audit, clients, federations, keys, revocations, stats, trusts
from tokensmith.console import routes as console

Endpoint = Callable[[Request], Awaitable[Response]]


def _route(path: str, **endpoints: Endpoint) -> Route:
    by_method = {method.upper(): endpoint for method, endpoint in endpoints.items()}
    if len(by_method) == 1:
        (method, endpoint), = by_method.items()
        return Route(path, endpoint, methods=[method])

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await by_method[method](request)

    return Route(path, dispatch, methods=list(by_method))


def admin_routes() -> list[Route]:
    return [
        _route(clients.COLLECTION, get=clients.list_clients, post=clients.create_client),
        _route(clients.ITEM, get=clients.get_client, patch=clients.update_client, delete=clients.delete_client),
        _route(clients.SECRETS, post=clients.add_secret),
        _route(clients.SECRET, delete=clients.remove_secret),
        _route(clients.REVOKE_TOKENS, post=clients.revoke_tokens),
        _route(federations.COLLECTION, get=federations.list_federations, post=federations.add_federation),
        _route(federations.FEDERATION, delete=federations.remove_federation),
        _route(trusts.COLLECTION, get=trusts.list_trusts, post=trusts.add_trust),
        _route(trusts.ITEM, get=trusts.get_trust, patch=trusts.update_trust, delete=trusts.remove_trust),
        _route(revocations.COLLECTION, post=revocations.revoke),
        _route(keys.COLLECTION, get=keys.list_keys),
        _route(keys.ROTATE, post=keys.rotate),
        _route(audit.COLLECTION, get=audit.list_events),
        _route(stats.PATH, get=stats.token_stats),
    ]


def console_routes() -> list[Route]:
    """The console's pages, its files and its session (console/routes.py)."""
    return [
        _route(console.PAGE, get=console.console_page),
        _route(console.LOGIN, get=console.login_page, post=console.log_in),
        _route(console.SESSION, get=console.current_session),
        _route(console.LOGOUT, post=console.log_out),
        _route(console.ASSETS, get=console.asset),
    ]
