"""Clients, their secret hashes and their federated credentials in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from tokensmith.domain.audit import AuditEvent
from tokensmith.domain.client_keys import AuthMethod, jwks_kids
from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import parse_lifetime
from tokensmith.domain.secrets import SecretKind, StoredSecret
from tokensmith.domain.sender_constraints import Profile, TokenBinding
from tokensmith.domain.trusts import Federation
from tokensmith.store import audit
from tokensmith.store.schema import client_federations, client_secrets, clients, idempotency_keys
from tokensmith.store.trusts import federation_row, to_federation
from tokensmith.store.usage import forget_credentials, forget_key_uses


def _client_row(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "scopes": list(client.scopes),
        "default_scopes": list(client.default_scopes),
        "audiences": list(client.audiences),
        "claims": dict(client.claims),
        "lifetime": str(client.lifetime),
        "enabled": client.enabled,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
        "rate_limit": client.rate_limit,
        "reuse_tokens": client.reuse_tokens,
        "tokens_not_before": client.tokens_not_before,
        "auth_method": client.auth_method.value,
        "jwks": dict(client.jwks) if client.jwks is not None else None,
        "jwks_uri": client.jwks_uri,
        "token_binding": client.token_binding.value,
        "profile": client.profile.value,
        "tls_subject_dn": client.tls_subject_dn,
        "tls_san_dns": list(client.tls_san_dns) or None,
        "tls_san_uri": list(client.tls_san_uri) or None,
    }


def _secret_row(client_id: str, secret: StoredSecret) -> dict[str, Any]:
    return {
        "secret_id": secret.secret_id,
        "client_id": client_id,
        "kind": secret.kind.value,
        "digest": secret.digest,
        "created_at": secret.created_at,
        "expires_at": secret.expires_at,
    }


def _to_secret(row: Any) -> StoredSecret:
    return StoredSecret(row.secret_id, SecretKind(row.kind), row.digest, row.created_at, row.expires_at)


def _to_client(row: Any, secrets: list[StoredSecret]) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        scopes=tuple(row.scopes),
        default_scopes=tuple(row.default_scopes),
        audiences=tuple(row.audiences),
        claims=dict(row.claims),
        lifetime=parse_lifetime(row.lifetime),
        enabled=bool(row.enabled),
        secrets=tuple(sorted(secrets, key=lambda s: s.created_at)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        rate_limit=row.rate_limit,
        reuse_tokens=bool(row.reuse_tokens),
        tokens_not_before=row.tokens_not_before,
        revision=row.revision,
        auth_method=AuthMethod(row.auth_method),
        jwks=row.jwks,
        jwks_uri=row.jwks_uri,
        token_binding=TokenBinding(row.token_binding),
        profile=Profile(row.profile),
        tls_subject_dn=row.tls_subject_dn,
        tls_san_dns=tuple(row.tls_san_dns or ()),
        tls_san_uri=tuple(row.tls_san_uri or ()),
    )


# The client with its secrets and its federated credentials, in one query: a client
# has one or the other (domain/registration.py), so the two outer joins give as many
# rows as it has credentials, not their product (which decoding would still undo).
# One query for every method: a second one for federated clients only would make a
# federated id measurably slower to look up than an unknown one.
_FEDERATION_COLUMNS = (
    client_federations.c.federation_id,
    client_federations.c.trust.label("federation_trust"),
    client_federations.c.subject.label("federation_subject"),
    client_federations.c.conditions.label("federation_conditions"),
    client_federations.c.created_at.label("federation_created_at"),
)
_CLIENT_WITH_SECRETS = sa.select(
    clients,
    client_secrets.c.secret_id,
    client_secrets.c.kind,
    client_secrets.c.digest,
    client_secrets.c.created_at.label("secret_created_at"),
    client_secrets.c.expires_at,
    *_FEDERATION_COLUMNS,
).select_from(
    clients.outerjoin(client_secrets, client_secrets.c.client_id == clients.c.client_id).outerjoin(
        client_federations, client_federations.c.client_id == clients.c.client_id
    )
)


# When the id does not exist the lookup returns this row instead, marked as a decoy:
# a client of the usual shape with one secret. Reading and decoding it costs the store
# what a real client costs, so a store lookup takes as long for an unknown id as for a
# known one (bench/timing.py, comparison 2: without it a known id took tens of
# microseconds longer, enough to tell which ids exist).
_DECOY_CLIENT: dict[str, Any] = {
    "name": "", "scopes": ["decoy"], "default_scopes": ["decoy"], "audiences": [], "claims": {},
    "lifetime": "3600", "enabled": False, "created_at": 0, "updated_at": 0, "rate_limit": None, "reuse_tokens": False,
    "tokens_not_before": None, "revision": 0, "auth_method": "client_secret_basic", "jwks": None, "jwks_uri": None,
    "token_binding": "none", "profile": "none", "tls_subject_dn": None, "tls_san_dns": None, "tls_san_uri": None,
}  # fmt: skip
_DECOY_SECRET: dict[str, Any] = {
    "secret_id": "sec_000000000000", "kind": SecretKind.GENERATED.value, "digest": "0" * 64,
    "secret_created_at": 0, "expires_at": None,
}  # fmt: skip
_ID = sa.bindparam("client_id", type_=clients.c.client_id.type)
_DECOY = sa.select(
    *(_ID.label("client_id") if column.name == "client_id" else sa.literal(_DECOY_CLIENT[column.name], column.type).label(column.name)
      for column in clients.columns),
    *(sa.literal(_DECOY_SECRET[name], column.type).label(name) for name, column in zip(_DECOY_SECRET, _CLIENT_WITH_SECRETS.selected_columns[-10:-5], strict=True)),
    *(sa.cast(sa.null(), column.type).label(column.name) for column in _FEDERATION_COLUMNS),
    sa.true().label("decoy"),
).where(~sa.exists().where(clients.c.client_id == _ID))  # fmt: skip
_LOOKUP = sa.union_all(_CLIENT_WITH_SECRETS.add_columns(sa.false().label("decoy")).where(clients.c.client_id == _ID), _DECOY)


def _federation(row: Any) -> Federation:
    """A client_federations row as the domain's Federation."""
    return to_federation(row.federation_id, row.trust, row.subject, row.conditions, row.created_at)


def _in_order(federations: Iterable[Federation]) -> tuple[Federation, ...]:
    return tuple(sorted(federations, key=lambda federation: (federation.created_at, federation.federation_id)))


class ClientAlreadyExists(Exception):
    pass


class StaleRevision(Exception):
    """The client was changed since the revision the change was made from."""

    def __init__(self, client_id: str, current: int) -> None:
        super().__init__(f"client {client_id!r} has changed since (now at revision {current})")
        self.current = current


class IdempotencyKeyUsed(Exception):
    """The key already made a client: `client_id`, from a request of `fingerprint`."""

    def __init__(self, client_id: str, fingerprint: str) -> None:
        super().__init__(f"the idempotency key already made client {client_id!r}")
        self.client_id = client_id
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class IdempotencyClaim:
    """An `Idempotency-Key` taken in the same transaction as the client it makes."""

    actor: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class ClientQuery:
    """One page of clients in client-id order, after `after`: those whose id or name
    holds `text`, that are (not) enabled, that may ask for `scope`."""

    text: str | None = None
    enabled: bool | None = None
    scope: str | None = None
    after: str | None = None
    limit: int = 50


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_NEXT_REVISION = {"revision": clients.c.revision + 1}


class ClientRepository:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def get(self, client_id: str) -> Client | None:
        # One query, the client and its credentials joined, whether or not the client exists:
        # a second query for a known id only would make it measurably slower to refuse
        # than an unknown one (bench/timing.py), and costs a round trip on every miss.
        # An unknown id gets the decoy row, decoded like any other and then dropped.
        with self._engine.connect() as connection:
            rows = connection.execute(_LOOKUP, {"client_id": client_id}).all()
        if not rows:
            return None
        secrets = {
            row.secret_id: StoredSecret(row.secret_id, SecretKind(row.kind), row.digest, row.secret_created_at, row.expires_at)
            for row in rows
            if row.secret_id is not None
        }
        client = _to_client(rows[0], list(secrets.values()))
        federations = {
            row.federation_id: to_federation(
                row.federation_id, row.federation_trust, row.federation_subject, row.federation_conditions, row.federation_created_at
            )
            for row in rows
            if row.federation_id is not None
        }
        if federations:
            client = replace(client, federations=_in_order(federations.values()))
        return None if rows[0].decoy else client

    def page(self, query: ClientQuery) -> list[Client]:
        """Up to `query.limit` clients matching `query` (ClientQuery)."""
        selected = sa.select(clients).order_by(clients.c.client_id).limit(query.limit)
        if query.after is not None:
            selected = selected.where(clients.c.client_id > query.after)
        if query.text:
            pattern = _like(query.text.lower())
            selected = selected.where(
                sa.func.lower(clients.c.client_id).like(pattern, escape="\\") | sa.func.lower(clients.c.name).like(pattern, escape="\\")
            )
        if query.enabled is not None:
            selected = selected.where(clients.c.enabled == query.enabled)
        if query.scope:
            # A scope token holds no `"` (RFC 6749 §3.3), so `"scope"` in the JSON text
            # is the whole element; checked again below on the decoded list.
            selected = selected.where(sa.cast(clients.c.scopes, sa.Text).like(_like(f'"{query.scope}"'), escape="\\"))
        with self._engine.connect() as connection:
            rows = connection.execute(selected).all()
            ids = [row.client_id for row in rows]
            secrets: dict[str, list[StoredSecret]] = defaultdict(list)
            federations: dict[str, list[Federation]] = defaultdict(list)
            if ids:
                for row in connection.execute(sa.select(client_secrets).where(client_secrets.c.client_id.in_(ids))):
                    secrets[row.client_id].append(_to_secret(row))
                for row in connection.execute(sa.select(client_federations).where(client_federations.c.client_id.in_(ids))):
                    federations[row.client_id].append(_federation(row))
        found = [replace(_to_client(row, secrets[row.client_id]), federations=_in_order(federations[row.client_id])) for row in rows]
        return [client for client in found if not query.scope or query.scope in client.scopes]

    def list(self) -> list[Client]:
        with self._engine.connect() as connection:
            secrets: dict[str, list[StoredSecret]] = defaultdict(list)
            for row in connection.execute(sa.select(client_secrets)):
                secrets[row.client_id].append(_to_secret(row))
            federations: dict[str, list[Federation]] = defaultdict(list)
            for row in connection.execute(sa.select(client_federations)):
                federations[row.client_id].append(_federation(row))
            rows = connection.execute(sa.select(clients).order_by(clients.c.client_id))
            return [
                replace(_to_client(row, secrets[row.client_id]), federations=_in_order(federations[row.client_id])) for row in rows
            ]

    def made_by_key(self, actor: str, key: str) -> tuple[str, str] | None:
        """(client id, fingerprint) of the client an idempotency key made, or None."""
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(idempotency_keys.c.client_id, idempotency_keys.c.fingerprint).where(
                    (idempotency_keys.c.actor == actor) & (idempotency_keys.c.key == key)
                )
            ).first()
        return None if row is None else (row.client_id, row.fingerprint)

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(clients)).scalar_one()

    # Each write may carry the audit event that describes it (domain/audit.py); the
    # event is stored in the same transaction, and only when the change happened.

    def create(self, client: Client, audit_event: AuditEvent | None = None, claim: IdempotencyClaim | None = None) -> None:
        """IdempotencyKeyUsed when `claim`'s key already made a client (nothing is written)."""
        with self._engine.begin() as connection:
            if claim is not None:
                made = connection.execute(
                    sa.select(idempotency_keys).where((idempotency_keys.c.actor == claim.actor) & (idempotency_keys.c.key == claim.key))
                ).first()
                if made is not None:
                    raise IdempotencyKeyUsed(made.client_id, made.fingerprint)
            exists = connection.execute(sa.select(clients.c.client_id).where(clients.c.client_id == client.client_id)).first()
            if exists:
                raise ClientAlreadyExists(client.client_id)
            if claim is not None:
                # Two requests with one key at once: the primary key lets one through.
                connection.execute(
                    idempotency_keys.insert().values(
                        actor=claim.actor, key=claim.key, fingerprint=claim.fingerprint, client_id=client.client_id, created_at=client.created_at
                    )
                )
            connection.execute(clients.insert().values(_client_row(client)))
            for secret in client.secrets:
                connection.execute(client_secrets.insert().values(_secret_row(client.client_id, secret)))
            if audit_event is not None:
                audit.record(connection, audit_event)

    def update(
        self,
        client: Client,
        audit_event: AuditEvent | None = None,
        *,
        expected_revision: int | None = None,
        remove_secrets: bool = False,
        keys_changed: bool = False,
    ) -> int | None:
        """Writes the client's fields; its secrets are changed only through
        add_secret and remove_secret (or all removed with `remove_secrets`, when it
        stops using them), its federated credentials only through add_federation and
        remove_federation, its tokens_not_before only through revoke_tokens (so a
        change read before a revocation cannot undo it). With `keys_changed`, the
        uses of keys it no longer has are forgotten. With `expected_revision`, only
        while the stored client is still at it (StaleRevision otherwise): the check
        and the write are one statement, so of two changes made from one revision
        exactly one is written. Answers the new revision, or None when there is no
        such client."""
        row = _client_row(client)
        del row["client_id"], row["created_at"], row["tokens_not_before"]
        match = clients.c.client_id == client.client_id
        if expected_revision is not None:
            match &= clients.c.revision == expected_revision
        with self._engine.begin() as connection:
            changed = connection.execute(clients.update().where(match).values({**row, **_NEXT_REVISION})).rowcount
            if not changed:
                self._refuse_stale(connection, client.client_id, expected_revision)
                return None
            if remove_secrets:
                ids = connection.execute(
                    sa.select(client_secrets.c.secret_id).where(client_secrets.c.client_id == client.client_id)
                ).scalars()
                for secret_id in ids.all():
                    forget_credentials(connection, client.client_id, secret_id)
                connection.execute(client_secrets.delete().where(client_secrets.c.client_id == client.client_id))
            if keys_changed:
                forget_key_uses(connection, client.client_id, jwks_kids(client.jwks) if client.jwks is not None else ())
            if audit_event is not None:
                audit.record(connection, audit_event)
            revision: int = connection.execute(sa.select(clients.c.revision).where(clients.c.client_id == client.client_id)).scalar_one()
            return revision

    @staticmethod
    def _refuse_stale(connection: sa.Connection, client_id: str, expected_revision: int | None) -> None:
        """StaleRevision when the client exists (at another revision than expected)."""
        current = connection.execute(sa.select(clients.c.revision).where(clients.c.client_id == client_id)).scalar()
        if current is not None and expected_revision is not None:
            raise StaleRevision(client_id, current)

    def delete(self, client_id: str, audit_event: AuditEvent | None = None, *, expected_revision: int | None = None) -> bool:
        """False when there is no such client; StaleRevision as for update."""
        match = clients.c.client_id == client_id
        if expected_revision is not None:
            match &= clients.c.revision == expected_revision
        with self._engine.begin() as connection:
            deleted = connection.execute(clients.delete().where(match)).rowcount > 0
            if not deleted:
                self._refuse_stale(connection, client_id, expected_revision)
            connection.execute(client_secrets.delete().where(client_secrets.c.client_id == client_id))
            connection.execute(idempotency_keys.delete().where(idempotency_keys.c.client_id == client_id))
            connection.execute(client_federations.delete().where(client_federations.c.client_id == client_id))
            forget_credentials(connection, client_id)
            if audit_event is not None and deleted:
                audit.record(connection, audit_event)
            return deleted

    def revoke_tokens(self, client_id: str, not_before: int, updated_at: int, audit_event: AuditEvent | None = None) -> int | None:
        """Tokens of the client issued before `not_before` become inactive. The
        instant only moves forward; answers the client's instant now, or None when
        there is no such client."""
        with self._engine.begin() as connection:
            current = connection.execute(
                sa.select(clients.c.tokens_not_before).where(clients.c.client_id == client_id)
            ).first()
            if current is None:
                return None
            instant = max(not_before, current.tokens_not_before or 0)
            connection.execute(
                clients.update().where(clients.c.client_id == client_id).values(tokens_not_before=instant, updated_at=updated_at, **_NEXT_REVISION)
            )
            if audit_event is not None:
                audit.record(connection, audit_event)
            return instant

    def add_secret(self, client_id: str, secret: StoredSecret, updated_at: int, audit_event: AuditEvent | None = None) -> None:
        with self._engine.begin() as connection:
            connection.execute(client_secrets.insert().values(_secret_row(client_id, secret)))
            connection.execute(clients.update().where(clients.c.client_id == client_id).values(updated_at=updated_at, **_NEXT_REVISION))
            if audit_event is not None:
                audit.record(connection, audit_event)

    def remove_secret(self, client_id: str, secret_id: str, updated_at: int, audit_event: AuditEvent | None = None) -> bool:
        with self._engine.begin() as connection:
            removed = connection.execute(
                client_secrets.delete().where(
                    (client_secrets.c.client_id == client_id) & (client_secrets.c.secret_id == secret_id)
                )
            ).rowcount
            if removed:
                connection.execute(clients.update().where(clients.c.client_id == client_id).values(updated_at=updated_at, **_NEXT_REVISION))
                forget_credentials(connection, client_id, secret_id)
            if audit_event is not None and removed:
                audit.record(connection, audit_event)
            return removed > 0

    def add_federation(self, client_id: str, federation: Federation, updated_at: int, audit_event: AuditEvent | None = None) -> None:
        """The trust must exist (the foreign key refuses it otherwise)."""
        with self._engine.begin() as connection:
            connection.execute(client_federations.insert().values(federation_row(client_id, federation)))
            connection.execute(clients.update().where(clients.c.client_id == client_id).values(updated_at=updated_at, **_NEXT_REVISION))
            if audit_event is not None:
                audit.record(connection, audit_event)

    def remove_federation(
        self, client_id: str, federation_id: str, updated_at: int, audit_event: AuditEvent | None = None
    ) -> bool:
        with self._engine.begin() as connection:
            removed = connection.execute(
                client_federations.delete().where(
                    (client_federations.c.client_id == client_id) & (client_federations.c.federation_id == federation_id)
                )
            ).rowcount
            if removed:
                connection.execute(clients.update().where(clients.c.client_id == client_id).values(updated_at=updated_at, **_NEXT_REVISION))
                forget_credentials(connection, client_id, federation_id)
                if audit_event is not None:
                    audit.record(connection, audit_event)
            return removed > 0
