"""Fixtures for client SDK tests: a real HTTP token endpoint + protected API stub."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import pytest

from tests.support.clock import FakeClock
from tests.support.stub_server import Recorded, Response, StubHTTPServer
from tokensmith.client import JWT_BEARER_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, ClientCredentialsAuth

# Characters that break naive "id:secret" Basic encoding (RFC 6749 §2.3.1).
CLIENT_ID = "orders:svc client"
CLIENT_SECRET = "p@ss:w+rd/é&=%"
STANDARD_PATH = "/oauth2/token"
SEED_PATH = "/v1/api/oauth/token"
SEED_ALIAS_PATH = "/gateway/legacy-token"  # the seed endpoint behind a path that does not reveal it
API_PATH = "/api/resource"


class TokenServer(StubHTTPServer):
    """Issues opaque tokens at both tokensmith token endpoints and guards an API.

    Real HTTP on 127.0.0.1:<free port>. Knobs: ``expires_in`` (standard
    endpoint, seconds), ``seed_exp`` (seed endpoint, epoch seconds), ``delay``
    (seconds the token endpoints take), ``refuse`` (an error response to
    return instead of a token), ``echo_assertion`` (refuse a client assertion,
    quoting it back, as a careless server might) and ``always_401`` for the API.
    A client assertion is accepted as it is: the tests read it back from the
    recorded request and check it themselves.
    """

    # Exposed here so test modules never import from conftest.
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    standard_path = STANDARD_PATH
    seed_path = SEED_PATH
    seed_alias_path = SEED_ALIAS_PATH
    api_path = API_PATH

    def __init__(self) -> None:
        self.expires_in: Any = 3600
        self.seed_exp: Any = None
        self.delay = 0.0
        self.refuse: tuple[int, dict[str, Any]] | None = None
        self.token_body: dict[str, Any] | None = None  # overrides the whole success body
        self.always_401 = False
        self.echo_assertion = False
        self.valid_tokens: set[str] = set()
        self._counter = itertools.count(1)
        super().__init__(backlog=256)  # 50 concurrent connects must not overflow the backlog

    # -- inspection -------------------------------------------------------

    def last(self, path: str) -> Recorded:
        with self._lock:
            return [r for r in self.requests if r.path == path][-1]

    @property
    def token_requests(self) -> int:
        return self.count(STANDARD_PATH) + self.count(SEED_PATH) + self.count(SEED_ALIAS_PATH)

    def revoke_all(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    # -- endpoints --------------------------------------------------------

    def respond(self, request: Recorded) -> Response:
        if request.path in (STANDARD_PATH, SEED_PATH, SEED_ALIAS_PATH) and request.method == "POST":
            time.sleep(self.delay)
            return self._token(request, seed=request.path != STANDARD_PATH)
        if request.path == API_PATH:
            return self._api(request)
        return 404, {"error": "not_found"}, {}

    def _token(self, request: Recorded, *, seed: bool) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if not self._authenticated(request, form):
            return 401, {"error": "invalid_client"}, {"WWW-Authenticate": 'Basic realm="token"'}
        if self.echo_assertion and "client_assertion" in form:
            return 401, {"error": "invalid_client", "error_description": f"rejected {form['client_assertion']}"}, {}
        if self.refuse is not None:
            return self.refuse[0], self.refuse[1], {}
        if not seed and form.get("grant_type") not in ("client_credentials", JWT_BEARER_GRANT_TYPE):
            return 400, {"error": "unsupported_grant_type"}, {}
        token = f"token-{next(self._counter)}"
        with self._lock:
            self.valid_tokens.add(token)
        if self.token_body is not None:
            return 200, {"access_token": token, **self.token_body}, {}
        if seed:
            exp = self.seed_exp if self.seed_exp is not None else int(time.time()) + 3600
            return 200, {"access_token": token, "expires_in": exp, "token_type": "Bearer"}, {}
        scope = form.get("scope", "")
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in, "scope": scope}, {}

    @staticmethod
    def _authenticated(request: Recorded, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization")
        in_body = "client_secret" in form
        if form.get("grant_type") == JWT_BEARER_GRANT_TYPE:  # RFC 7523 §2.1: the assertion is the grant
            return not header and not in_body and "client_assertion" not in form and bool(form.get("assertion")) and form.get("client_id") == CLIENT_ID
        if "client_assertion" in form:  # RFC 7521 §4.2, and nothing else
            return (
                not header
                and not in_body
                and form.get("client_assertion_type") == JWT_BEARER_ASSERTION_TYPE
                and form.get("client_id") == CLIENT_ID
            )
        if header and in_body:
            return False  # RFC 6749 §2.3: exactly one authentication method
        if header:
            scheme, _, encoded = header.partition(" ")
            raw_id, _, raw_secret = base64.b64decode(encoded).decode("ascii").partition(":")
            return scheme == "Basic" and (unquote_plus(raw_id), unquote_plus(raw_secret)) == (CLIENT_ID, CLIENT_SECRET)
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def _api(self, request: Recorded) -> Response:
        time.sleep(float(request.query.get("delay", ["0"])[0]))  # ?delay=s: a slow API call
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            valid = token in self.valid_tokens and not self.always_401
        if not valid:
            return 401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return 200, {"token": token, "body": request.body.decode()}, {}


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    server = TokenServer()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def make_auth(token_server: TokenServer) -> Callable[..., ClientCredentialsAuth]:
    """ClientCredentialsAuth for the stub; ``path`` picks the endpoint."""

    def make(path: str = STANDARD_PATH, **options: Any) -> ClientCredentialsAuth:
        options.setdefault("scope", "orders:read")
        return ClientCredentialsAuth(token_server.url + path, CLIENT_ID, CLIENT_SECRET, **options)

    return make


@pytest.fixture
def api_url(token_server: TokenServer) -> str:
    return token_server.url + API_PATH


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
