"""`GET /docs`: an API explorer that works with no internet.

Swagger UI's files come from the swagger-ui-bundle package, installed with
tokensmith, and are served from /docs/assets/; the page and its start-up script are
tokensmith's own. Nothing the page loads, and nothing it asks for, is off this host:
Swagger UI's online validator badge is switched off, and the Content-Security-Policy
forbids any other origin.

Only the named files are served (no directory listing, no path to traverse); each
is read once, on its first request: a worker that never serves /docs never holds
the 1.2 MB bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.domain.errors import Problem, TokensmithError

PATH = "/docs"
ASSETS_PATH = "/docs/assets/{name}"
ASSET_CACHE = "public, max-age=86400"
PAGE_CACHE = "no-cache"

# Swagger UI 4 renders OpenAPI 3.0 documents only. /openapi.json is 3.1 and keeps to
# what 3.0 can also say (http/openapi.py) but for lists of types (a form's unknown
# parameters: any scalar), so the script shows it relabelled as 3.0.3 with those lists
# left out (a schema without a type: any value).
START_SCRIPT = """\
"use strict";
// tokensmith's API explorer: Swagger UI served by this server, pointed at /openapi.json.
(function () {
  var explorer = document.getElementById("explorer");
  // The page is /docs (or PREFIX/docs behind a proxy): the API is beside it.
  var base = new URL(".", window.location.href).href.replace(/\\/$/, "");
  fetch(base + "/openapi.json", { headers: { Accept: "application/vnd.oai.openapi+json, application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("GET /openapi.json answered " + response.status); }
      return response.json();
    })
    .then(function (spec) {
      (function as30(node) {
        if (Array.isArray(node)) { node.forEach(as30); return; }
        if (node === null || typeof node !== "object") { return; }
        if (Array.isArray(node.type)) { delete node.type; }
        Object.keys(node).forEach(function (key) { as30(node[key]); });
      })(spec);
      spec.openapi = "3.0.3";
      spec.servers = [{ url: base }];
      window.ui = SwaggerUIBundle({
        spec: spec,
        domNode: explorer,
        deepLinking: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout"
      });
    })
    .catch(function (error) {
      explorer.textContent = "The API description could not be loaded: " + error.message;
    });
})();
"""

# Relative references: from /docs, "docs/assets/x" is /docs/assets/x, also behind a
# proxy that serves tokensmith under a prefix.
PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokensmith API explorer</title>
<link rel="icon" type="image/png" sizes="32x32" href="docs/assets/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="docs/assets/favicon-16x16.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="explorer">Loading the API description&hellip;</div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/explorer.js"></script>
</body>
</html>
"""

# Swagger UI needs inline styles (style-src 'unsafe-inline') and data: images for its
# icons; scripts, styles and requests stay on this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "cache-control": PAGE_CACHE,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
}

# The files of the swagger-ui-bundle package the page uses, and their media types.
BUNDLED_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
START_SCRIPT_NAME = "explorer.js"
ASSET_NAMES = (*BUNDLED_FILES, START_SCRIPT_NAME)


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


def read_asset(name: str) -> Asset:
    if name == START_SCRIPT_NAME:
        return Asset(START_SCRIPT.encode(), "text/javascript; charset=utf-8")
    from swagger_ui_bundle import swagger_ui_path

    return Asset((Path(str(swagger_ui_path)) / name).read_bytes(), BUNDLED_FILES[name])


def load_assets() -> dict[str, Asset]:
    return {name: read_asset(name) for name in ASSET_NAMES}


class Assets:
    """The named files, each read on its first request and kept (one per app)."""

    def __init__(self) -> None:
        self.loaded: dict[str, Asset] = {}

    def get(self, name: str) -> Asset | None:
        found = self.loaded.get(name)
        if found is None and name in ASSET_NAMES:
            # Read without awaiting: concurrent first requests cannot read it twice.
            found = self.loaded[name] = read_asset(name)
        return found


async def page(request: Request) -> Response:
    return Response(PAGE.encode(), 200, PAGE_HEADERS, media_type="text/html; charset=utf-8")


async def asset(request: Request) -> Response:
    assets: Assets = request.app.state.explorer_assets
    found = assets.get(request.path_params["name"])
    if found is None:
        raise TokensmithError(Problem.NOT_FOUND)
    headers = {"cache-control": ASSET_CACHE, "x-content-type-options": "nosniff"}
    return Response(found.body, 200, headers, media_type=found.media_type)
