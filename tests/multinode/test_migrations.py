"""Schema migrations on both stores: from an empty database to the head, and from
the previous release's revision (0002) to the head, where a client registered
before the upgrade must keep getting tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.server import Tokensmith
from tests.support.services import fresh_postgres_database
from tokensmith.domain.key_encryption import KeyEncryption, decode_kek, generate_kek
from tokensmith.domain.secrets import SecretChecker, generate_secret
from tokensmith.store.database import create_engine, current_revision, head_revision, upgrade
from tokensmith.store.sqlite_files import create_owner_only

PREVIOUS = "0002"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        create_owner_only(tmp_path / "store.db")  # the engine opens only an existing store
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    request.getfixturevalue("postgres_service")
    with fresh_postgres_database() as url:
        yield url


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_from_an_empty_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert {"clients", "client_secrets", "signing_keys", "revocations", "audit_events"} <= _tables(engine)
        assert "rate_limit" in {column["name"] for column in sa.inspect(engine).get_columns("clients")}
        upgrade(engine)  # a second upgrade is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_from_the_previous_revision_keeps_existing_clients_working(database_url: str, tmp_path: Path) -> None:
    kek = generate_kek()
    secret = generate_secret()
    engine = create_engine(database_url)
    try:
        upgrade(engine, PREVIOUS)
        assert current_revision(engine) == PREVIOUS
        assert "audit_events" not in _tables(engine)
        checker = SecretChecker(KeyEncryption(decode_kek(kek)).secret_hash_key)
        now = int(time.time())
        # The rows as the previous release wrote them (no rate_limit column yet).
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO clients (client_id, name, scopes, default_scopes, audiences, claims, lifetime, enabled, created_at, updated_at)"
                    " VALUES ('veteran', 'Old client', '[\"edit\"]', '[\"edit\"]', '[]', '{\"firstVisionId\": \"00000AUNAB\"}', '3600', :yes, :now, :now)"
                ),
                {"yes": True, "now": now},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO client_secrets (secret_id, client_id, kind, digest, created_at, expires_at)"
                    " VALUES ('sec_old', 'veteran', 'hmac-sha256', :digest, :now, NULL)"
                ),
                {"digest": checker.hash_generated(secret), "now": now},
            )
    finally:
        engine.dispose()

    server = Tokensmith(
        tmp_path,
        env_overrides={"TOKENSMITH_DATABASE_URL": database_url, "TOKENSMITH_KEY_ENCRYPTION_KEY": kek},
    )
    server.start()  # serve upgrades the schema before it listens
    try:
        engine = create_engine(database_url)
        try:
            assert current_revision(engine) == head_revision()
        finally:
            engine.dispose()
        response = httpx.post(f"{server.url}/v1/api/oauth/token", params={"scope": "edit"}, auth=("veteran", secret), timeout=10)
        assert response.status_code == 200, response.text
        shown = server.cli("clients", "show", "veteran", "--json").stdout
        assert '"rate_limit": null' in shown
        server.cli("clients", "update", "veteran", "--rate-limit", "100")
        assert '"rate_limit": 100' in server.cli("clients", "show", "veteran", "--json").stdout
    finally:
        server.stop()
