"""Routes that match their path exactly, and nothing else.

Starlette anchors a route's pattern with `$`, which in Python also matches just
before a trailing newline: `POST /oauth2/token%0A` reached the token endpoint and
issued a token, while the metrics, the access log and any proxy rule keyed on the
path saw another path. `\\Z` matches at the very end only, so such a path is a 404
like any other unknown path (docs/errors.md, 240109)."""

from __future__ import annotations

import re

from starlette.routing import Route


def exact(route: Route) -> Route:
    pattern = route.path_regex.pattern
    if pattern.endswith("$"):
        route.path_regex = re.compile(pattern[: -len("$")] + r"\Z", route.path_regex.flags)
    return route
