"""A store lookup of an unknown client id does the work of a known one
(store/clients.py): the query returns a decoy row of a client's shape, which is decoded
like a real client and then dropped, so the time of a lookup does not tell which ids
exist. Real SQLite store, migrated with the product's migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokensmith.domain.clients import Client
from tokensmith.domain.secrets import SecretKind, StoredSecret
from tokensmith.store import clients as client_store
from tokensmith.store.clients import ClientRepository
from tokensmith.store.database import create_engine, upgrade
from tokensmith.store.sqlite_files import create_owner_only


@pytest.fixture
def repository(tmp_path: Path) -> ClientRepository:
    create_owner_only(tmp_path / "decoy.db")  # the engine opens only an existing store
    engine = create_engine(f"sqlite:///{tmp_path / 'decoy.db'}")
    upgrade(engine)
    repository = ClientRepository(engine)
    secrets = (
        StoredSecret("sec_aaaaaaaaaaaa", SecretKind.GENERATED, "a" * 64, 10, None),
        StoredSecret("sec_bbbbbbbbbbbb", SecretKind.GENERATED, "b" * 64, 20, 99),
    )
    repository.create(Client("known", scopes=("edit",), default_scopes=("edit",), secrets=secrets, created_at=5, updated_at=5))
    repository.create(Client("no-secrets", scopes=("edit",)))
    return repository


def test_known_ids_are_found_with_their_secrets_and_unknown_ids_are_not(repository: ClientRepository) -> None:
    known = repository.get("known")
    assert known is not None and known.client_id == "known" and known.scopes == ("edit",)
    assert [secret.secret_id for secret in known.secrets] == ["sec_aaaaaaaaaaaa", "sec_bbbbbbbbbbbb"]
    assert repository.get("no-secrets") == Client("no-secrets", scopes=("edit",))
    for unknown in ("nobody", "", "KNOWN", "known ", "sec_000000000000"):
        assert repository.get(unknown) is None


def test_an_unknown_id_is_decoded_like_a_known_one(repository: ClientRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[tuple[str, int]] = []
    original = client_store._to_client

    def counting(row: object, secrets: list[StoredSecret]) -> Client:
        client = original(row, secrets)
        decoded.append((client.client_id, len(client.secrets)))
        return client

    monkeypatch.setattr(client_store, "_to_client", counting)
    assert repository.get("nobody") is None
    assert repository.get("known") is not None
    # The decoy carries the asked id and one secret: the same decoding as a real client.
    assert decoded == [("nobody", 1), ("known", 2)]
