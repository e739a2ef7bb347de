"""Routes that match their path exactly as it was sent, and nothing else.

Starlette anchors a route's pattern with `$`, which in Python also matches just
before a trailing newline: `POST /oauth2/token%0A` reached the token endpoint and
issued a token, while the metrics, the access log and any proxy rule keyed on the
path saw another path. `\\Z` matches at the very end only.

The server also decodes percent-encoding into `scope["path"]` (as ASGI asks), so
`/metric%73` was served as /metrics and `/oauth2%2Fintrospect` reached introspection:
a proxy or firewall rule on the path as sent (RFC 9110 §4.2.3 lets intermediaries
compare the encoded form) did not see the endpoint it reached. No route's path holds
a `%`, so a route is reached only when the path was sent without percent-encoding.
Either way the request is a 404 like any other unknown path (docs/errors.md, 240109).
"""

from __future__ import annotations

import re

from starlette.routing import Match, Route
from starlette.types import Scope


def path_as_sent(scope: Scope) -> bool:
    """Whether `scope["path"]` is the request target's path exactly as sent, so that a
    route may match it: no percent-encoding in the raw path. The one check for every
    route, the token endpoints' (http/token_route.py, http/protocol.py) included."""
    raw: bytes | None = scope.get("raw_path")
    # Some servers give the query too; uvicorn gives the path alone.
    return raw is None or b"%" not in raw.partition(b"?")[0]


class ExactRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not path_as_sent(scope):
            return Match.NONE, {}
        return super().matches(scope)


def exact(route: Route) -> Route:
    """`route` matching its path exactly as sent (above)."""
    strict = ExactRoute(route.path, route.endpoint, methods=route.methods, name=route.name, include_in_schema=route.include_in_schema)
    pattern = strict.path_regex.pattern
    if pattern.endswith("$"):
        strict.path_regex = re.compile(pattern[: -len("$")] + r"\Z", strict.path_regex.flags)
    return strict
