"""Trusts, federated credentials and credential uses in SQL, on SQLite and on
PostgreSQL (skipped without one, a failure under CI: tests/support/services.py),
both migrated with the product's migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.client_keys import ec_jwks
from tests.support.services import fresh_postgres_database, postgres_problem, require
from tokensmith.domain.audit import AuditAction, AuditEvent
from tokensmith.domain.client_keys import AuthMethod
from tokensmith.domain.clients import Client
from tokensmith.domain.secrets import SecretKind, StoredSecret
from tokensmith.domain.trusts import Condition, Federation, ReplayRule, Trust
from tokensmith.store.audit import AuditRepository
from tokensmith.store.clients import ClientRepository
from tokensmith.store.database import create_engine, upgrade
from tokensmith.store.sqlite_files import create_owner_only
from tokensmith.store.trusts import TrustAlreadyExists, TrustInUse, TrustRepository
from tokensmith.store.usage import CredentialUses

CLUSTER = Trust("cluster", "https://cluster.example", audience="https://tokens.example", created_at=1, updated_at=1)
BUNDLE = Trust("spiffe", "https://spiffe.example", jwks=ec_jwks("b1"), replay=ReplayRule.SINGLE_USE, max_token_age=300)
FEDERATION = Federation(
    "fed_0000000000000001", "cluster", "system:serviceaccount:ns:sa",
    (Condition("kubernetes.io.namespace", "ns"), Condition("kubernetes.io.serviceaccount.name", "s*")), 10,
)  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        create_owner_only(tmp_path / "store.db")
        made = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(made)
        yield made
        made.dispose()
        return
    require("PostgreSQL", postgres_problem())
    with fresh_postgres_database() as url:
        made = create_engine(url)
        upgrade(made)
        yield made
        made.dispose()


def event(action: AuditAction, subject: str) -> AuditEvent:
    return AuditEvent(action, subject, "ops", "host", 100)


def actions(engine: sa.Engine) -> list[str]:
    return [each.action.value for each in reversed(AuditRepository(engine).latest(100))]


def test_trusts_are_stored_listed_changed_and_removed_with_their_events(engine: sa.Engine) -> None:
    trusts = TrustRepository(engine)
    trusts.create(CLUSTER, event(AuditAction.TRUST_ADDED, "trust:cluster"))
    trusts.create(BUNDLE)
    with pytest.raises(TrustAlreadyExists):
        trusts.create(CLUSTER, event(AuditAction.TRUST_ADDED, "trust:cluster"))
    assert trusts.get("cluster") == CLUSTER
    assert trusts.get("spiffe") == BUNDLE
    assert trusts.get("nobody") is None
    assert [each.name for each in trusts.list()] == ["cluster", "spiffe"]

    changed = Trust("cluster", "https://cluster.example", jwks_uri="https://cluster.example/jwks", created_at=1, updated_at=2)
    assert trusts.update(changed, event(AuditAction.TRUST_CHANGED, "trust:cluster"))
    assert not trusts.update(Trust("nobody", "https://x.example"), event(AuditAction.TRUST_CHANGED, "trust:nobody"))
    assert trusts.get("cluster") == changed
    assert trusts.delete("spiffe", event(AuditAction.TRUST_REMOVED, "trust:spiffe")) == ()
    assert trusts.delete("spiffe", event(AuditAction.TRUST_REMOVED, "trust:spiffe")) is None
    assert actions(engine) == ["trust.added", "trust.changed", "trust.removed"]


def federated_client(client_id: str = "wl") -> Client:
    return Client(client_id, scopes=("edit",), default_scopes=("edit",), auth_method=AuthMethod.FEDERATED, created_at=5, updated_at=5)


def test_a_client_is_looked_up_with_its_federations_in_order(engine: sa.Engine) -> None:
    TrustRepository(engine).create(CLUSTER)
    clients = ClientRepository(engine)
    clients.create(federated_client())
    later = Federation("fed_0000000000000000", "cluster", "other", (), 20)
    clients.add_federation("wl", later, 21, event(AuditAction.CLIENT_FEDERATED, "wl"))
    clients.add_federation("wl", FEDERATION, 22, event(AuditAction.CLIENT_FEDERATED, "wl"))
    found = clients.get("wl")
    assert found is not None and found.federations == (FEDERATION, later) and found.updated_at == 22
    assert found.auth_method is AuthMethod.FEDERATED and found.secrets == ()
    [listed] = clients.list()
    assert listed == found
    assert clients.get("unknown") is None

    assert clients.remove_federation("wl", FEDERATION.federation_id, 30, event(AuditAction.CLIENT_UNFEDERATED, "wl"))
    assert not clients.remove_federation("wl", FEDERATION.federation_id, 31, event(AuditAction.CLIENT_UNFEDERATED, "wl"))
    assert not clients.remove_federation("someone-else", later.federation_id, 31)
    found = clients.get("wl")
    assert found is not None and found.federations == (later,) and found.updated_at == 30
    assert actions(engine) == ["client.federated", "client.federated", "client.unfederated"]


def test_a_client_with_secrets_and_federations_is_decoded_without_repeats(engine: sa.Engine) -> None:
    # Not a state the service makes (the domain keeps them apart), but the joined
    # lookup must not multiply either side if it ever exists.
    TrustRepository(engine).create(CLUSTER)
    clients = ClientRepository(engine)
    secrets = tuple(StoredSecret(f"sec_{n:012d}", SecretKind.GENERATED, "a" * 64, n, None) for n in range(3))
    clients.create(Client("both", scopes=("edit",), default_scopes=("edit",), secrets=secrets))
    for n in range(2):
        clients.add_federation("both", Federation(f"fed_{n:016d}", "cluster", f"s{n}", (), n), 1)
    found = clients.get("both")
    assert found is not None and found.secrets == secrets and [f.subject for f in found.federations] == ["s0", "s1"]


def test_a_federation_needs_its_trust(engine: sa.Engine) -> None:
    clients = ClientRepository(engine)
    clients.create(federated_client())
    with pytest.raises(sa.exc.IntegrityError):
        clients.add_federation("wl", FEDERATION, 21, event(AuditAction.CLIENT_FEDERATED, "wl"))
    assert actions(engine) == []


def test_a_trust_in_use_is_kept_unless_its_federations_go_with_it(engine: sa.Engine) -> None:
    trusts, clients = TrustRepository(engine), ClientRepository(engine)
    trusts.create(CLUSTER)
    for client_id in ("wl-a", "wl-b"):
        clients.create(federated_client(client_id))
    clients.add_federation("wl-a", FEDERATION, 11)
    second = Federation("fed_0000000000000002", "cluster", "system:serviceaccount:ns:other", (), 12)
    clients.add_federation("wl-b", second, 12)

    with pytest.raises(TrustInUse, match="used by 2 federated credentials"):
        trusts.delete("cluster", event(AuditAction.TRUST_REMOVED, "trust:cluster"))
    assert trusts.get("cluster") is not None and trusts.usage() == {"cluster": 2}

    removed = trusts.delete(
        "cluster", event(AuditAction.TRUST_REMOVED, "trust:cluster"), force=True, updated_at=50,
        federation_event=lambda client_id, federation: event(AuditAction.CLIENT_UNFEDERATED, client_id),
    )  # fmt: skip
    assert removed == (("wl-a", FEDERATION), ("wl-b", second))
    assert trusts.get("cluster") is None and trusts.usage() == {}
    for client_id in ("wl-a", "wl-b"):
        found = clients.get(client_id)
        assert found is not None and found.federations == () and found.updated_at == 50
    assert actions(engine) == ["client.unfederated", "client.unfederated", "trust.removed"]


def test_a_forced_removal_that_fails_leaves_everything_as_it_was(engine: sa.Engine) -> None:
    trusts, clients = TrustRepository(engine), ClientRepository(engine)
    trusts.create(CLUSTER)
    clients.create(federated_client())
    clients.add_federation("wl", FEDERATION, 11)

    def failing(client_id: str, federation: Federation) -> AuditEvent:
        raise RuntimeError("the event could not be made")

    with pytest.raises(RuntimeError):
        trusts.delete("cluster", event(AuditAction.TRUST_REMOVED, "trust:cluster"), force=True, federation_event=failing)
    assert trusts.get("cluster") == CLUSTER
    found = clients.get("wl")
    assert found is not None and found.federations == (FEDERATION,)
    assert actions(engine) == []


def test_credential_uses_keep_the_latest_instant_of_each_credential(engine: sa.Engine) -> None:
    uses = CredentialUses(engine)
    uses.record({})
    uses.record({("a", "sec_1"): 100, ("a", "key:k1"): 200, ("b", "fed_1"): 300})
    uses.record({("a", "sec_1"): 150, ("a", "key:k1"): 120})  # one node's later flush, another's late one
    assert uses.for_client("a") == {"sec_1": 150, "key:k1": 200}
    assert uses.for_client("b") == {"fed_1": 300}
    assert uses.for_client("c") == {}


def test_removing_a_credential_or_its_client_forgets_its_uses(engine: sa.Engine) -> None:
    TrustRepository(engine).create(CLUSTER)
    clients, uses = ClientRepository(engine), CredentialUses(engine)
    secret = StoredSecret("sec_000000000001", SecretKind.GENERATED, "a" * 64, 1, None)
    clients.create(Client("svc", scopes=("edit",), default_scopes=("edit",), secrets=(secret,)))
    clients.create(federated_client())
    clients.add_federation("wl", FEDERATION, 2)
    uses.record({("svc", secret.secret_id): 10, ("svc", "sec_other"): 11, ("wl", FEDERATION.federation_id): 12, ("wl", "key:x"): 13})
    clients.remove_secret("svc", secret.secret_id, 20)
    clients.remove_federation("wl", FEDERATION.federation_id, 20)
    assert uses.for_client("svc") == {"sec_other": 11}
    assert uses.for_client("wl") == {"key:x": 13}
    clients.delete("svc")
    assert uses.for_client("svc") == {}


def test_a_change_away_from_secrets_removes_them_in_the_same_write(engine: sa.Engine) -> None:
    clients = ClientRepository(engine)
    secret = StoredSecret("sec_000000000001", SecretKind.GENERATED, "a" * 64, 1, None)
    client = Client("svc", scopes=("edit",), default_scopes=("edit",), secrets=(secret,))
    clients.create(client)
    keyed = Client("svc", scopes=("edit",), default_scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1"))
    clients.update(keyed, event(AuditAction.CLIENT_CHANGED, "svc"), remove_secrets=True)
    found = clients.get("svc")
    assert found is not None and found.secrets == () and found.auth_method is AuthMethod.PRIVATE_KEY_JWT
    assert found.jwks == keyed.jwks


def test_a_change_of_keys_forgets_the_uses_of_keys_the_client_no_longer_has(engine: sa.Engine) -> None:
    clients, uses = ClientRepository(engine), CredentialUses(engine)
    keyed = Client("pk", scopes=("edit",), default_scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1", "k2"))
    clients.create(keyed)
    uses.record({("pk", "key:k1"): 10, ("pk", "key:k2"): 11, ("pk", "key:remote"): 12, ("pk", "sec_x"): 13, ("other", "key:k1"): 14})
    rotated = Client("pk", scopes=("edit",), default_scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k2", "k3"))
    clients.update(rotated, keys_changed=True)
    assert uses.for_client("pk") == {"key:k2": 11, "sec_x": 13}
    clients.update(Client("pk", scopes=("edit",), default_scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT,
                          jwks_uri="https://pk.example/jwks"), keys_changed=True)  # fmt: skip
    assert uses.for_client("pk") == {"sec_x": 13} and uses.for_client("other") == {"key:k1": 14}


def test_deleting_a_federated_client_takes_its_federations(engine: sa.Engine) -> None:
    trusts, clients = TrustRepository(engine), ClientRepository(engine)
    trusts.create(CLUSTER)
    clients.create(federated_client())
    clients.add_federation("wl", FEDERATION, 11)
    assert clients.delete("wl", event(AuditAction.CLIENT_DELETED, "wl"))
    assert clients.get("wl") is None and trusts.usage() == {}
    assert trusts.delete("cluster") == ()  # no longer in use
