"""GET /docs: the API explorer works with no internet. The page, and every file it
references, is served by tokensmith itself; nothing points at another host."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.e2e.wire import SEED_ERROR_KEYS
from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.http import explorer
from tokensmith.http.app import create_app


class References(HTMLParser):
    """Every URL an HTML page makes the browser load or link to."""

    ATTRIBUTES = frozenset({"src", "href", "srcset", "action", "data", "poster", "formaction"})

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.urls.append(value)
        self._in_script = tag == "script" and not dict(attrs).get("src")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def test_the_page_and_every_file_it_references_are_served_here(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _references(page.text)
    assert references.urls, "the page loads Swagger UI's files"
    # CSP script-src 'self': no inline script; the start-up script is a file too.
    assert references.inline_scripts == 0
    page_url = str(page.url)
    for reference in references.urls:
        assert not urlsplit(reference).scheme and not reference.startswith("//"), f"{reference} is off-host"
        target = urljoin(page_url, reference)
        assert urlsplit(target).netloc == urlsplit(page_url).netloc
        response = http.get(target)
        assert response.status_code == 200, target
        assert response.content, target
        assert response.headers["content-type"].split(";")[0] in {"text/css", "text/javascript", "image/png"}, target
    loaded = {urlsplit(urljoin(page_url, reference)).path for reference in references.urls}
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/explorer.js"} <= loaded


def test_the_start_up_script_asks_this_server_only(http: httpx.Client) -> None:
    script = http.get("/docs/assets/explorer.js").text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", script, re.IGNORECASE)
    # Swagger UI would otherwise send the document to its online validator for a badge.
    assert "validatorUrl: null" in script
    assert '"/openapi.json"' in script


def test_the_page_forbids_loading_from_other_origins(http: httpx.Client) -> None:
    policy = http.get("/docs").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    for directive in ("script-src", "connect-src"):
        assert directives[directive] == "'self'"


def test_the_swagger_ui_files_are_the_installed_packages(http: httpx.Client) -> None:
    from swagger_ui_bundle import swagger_ui_path

    served = http.get("/docs/assets/swagger-ui-bundle.js").content
    assert served == (swagger_ui_path / "swagger-ui-bundle.js").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/index.html",
        "/docs/assets/swagger-ui-bundle.js.map",
        "/docs/assets/..%2F..%2Fpyproject.toml",
        "/docs/assets/%2e%2e",
        "/docs/assets/",
        "/docs/",
    ],
)
def test_nothing_else_is_served_under_docs(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    [problem] = response.json()
    assert list(problem) == SEED_ERROR_KEYS
    assert problem["errorCode"] == "240109"


def test_every_named_asset_exists() -> None:
    assert set(explorer.load_assets()) == set(explorer.ASSET_NAMES)


def test_each_file_is_read_on_its_first_request_not_when_the_app_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    read = explorer.read_asset
    monkeypatch.setattr(explorer, "read_asset", lambda name: reads.append(name) or read(name))
    node = open_node(Settings(database_url=f"sqlite:///{tmp_path / 'tokensmith.db'}"), create=True)
    app = create_app(node)
    assert reads == []  # a worker that never serves /docs never holds the 1.2 MB bundle

    async def fetch(*paths: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tokensmith.test") as http:
            return [await http.get(path) for path in paths]

    page, first, again = asyncio.run(fetch("/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui-bundle.js"))
    node.engine.dispose()
    assert page.status_code == first.status_code == again.status_code == 200
    assert first.content == again.content and first.content
    assert reads == ["swagger-ui-bundle.js"]
