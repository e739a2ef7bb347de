"""The admin API's and the console's routes, mounted by http/app.py."""

from __future__ import annotations

from starlette.routing import Route

from tokensmith.admin import audit, clients, keys, stats
from tokensmith.console import routes as console


def admin_routes() -> list[Route]:
    return [
        Route(clients.COLLECTION, clients.list_clients, methods=["GET"]),
        Route(clients.COLLECTION, clients.create_client, methods=["POST"]),
        Route(clients.ITEM, clients.get_client, methods=["GET"]),
        Route(clients.ITEM, clients.update_client, methods=["PATCH"]),
        Route(clients.ITEM, clients.delete_client, methods=["DELETE"]),
        Route(clients.SECRETS, clients.add_secret, methods=["POST"]),
        Route(clients.SECRET, clients.remove_secret, methods=["DELETE"]),
        Route(clients.REVOKE_TOKENS, clients.revoke_tokens, methods=["POST"]),
        Route(keys.COLLECTION, keys.list_keys, methods=["GET"]),
        Route(keys.ROTATE, keys.rotate, methods=["POST"]),
        Route(audit.COLLECTION, audit.list_events, methods=["GET"]),
        Route(stats.PATH, stats.token_stats, methods=["GET"]),
    ]


def console_routes() -> list[Route]:
    """The console's pages, its files and its session (console/routes.py)."""
    return [
        Route(console.PAGE, console.console_page, methods=["GET"]),
        Route(console.LOGIN, console.login_page, methods=["GET"]),
        Route(console.LOGIN, console.log_in, methods=["POST"]),
        Route(console.SESSION, console.current_session, methods=["GET"]),
        Route(console.LOGOUT, console.log_out, methods=["POST"]),
        Route(console.ASSETS, console.asset, methods=["GET"]),
    ]
