"""A real `tokensmith serve` with an operators' client `ops` (scope tokensmith:admin),
and tokens for it fetched over HTTP from the seed endpoint, as an operator's tool would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.server import Tokensmith, record


@dataclass
class Admin:
    server: Tokensmith
    http: httpx.Client
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

    def token_for(self, client_id: str, secret: str, scope: str) -> str:
        return get_token(self.http, client_id, secret, scope)


def get_token(http: httpx.Client, client_id: str, secret: str, scope: str) -> str:
    """An access token from the seed endpoint (shared/seed/get-access-token.md)."""
    response = http.post("/v1/api/oauth/token", params={"scope": scope}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def new_client(server: Tokensmith, client_id: str, *scopes: str, extra: tuple[str, ...] = ()) -> str:
    """A client made with the command line; its secret."""
    secret: str = server.create_client(client_id, *extra, scopes=scopes)["client_secret"]
    return secret


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    server = Tokensmith(tmp_path_factory.mktemp("admin"))
    secret = new_client(server, "ops", "tokensmith:admin")
    server.start()
    with httpx.Client(base_url=server.url, timeout=15) as http:
        yield Admin(server, http, get_token(http, "ops", secret, "tokensmith:admin"))
    server.stop()


def created(admin: Admin, client_id: str, *scopes: str, **fields: object) -> dict[str, object]:
    """A client made through the API; its 201 body (the secret recorded for the log scanner)."""
    response = admin.call("POST", "/admin/v1/clients", json={"client_id": client_id, "scopes": list(scopes or ("read",)), **fields})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    record("secrets", str(body["client_secret"]))
    return body
