"""Trusted external issuers (domain/trusts.py) in SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tokensmith.domain.audit import AuditEvent
from tokensmith.domain.trusts import Condition, Federation, ReplayRule, Trust
from tokensmith.store import audit
from tokensmith.store.schema import client_federations, clients, trusts
from tokensmith.store.usage import forget_credentials


class TrustAlreadyExists(Exception):
    pass


class TrustInUse(ValueError):
    """The trust still has federated credentials and removing them was not asked for."""

    def __init__(self, name: str, count: int) -> None:
        super().__init__(f"trust {name!r} is used by {count} federated credential{'s' if count != 1 else ''}")
        self.name = name
        self.count = count


def _trust_row(trust: Trust) -> dict[str, Any]:
    return {
        "name": trust.name,
        "issuer": trust.issuer,
        "jwks_uri": trust.jwks_uri,
        "jwks": dict(trust.jwks) if trust.jwks is not None else None,
        "audience": trust.audience,
        "replay": trust.replay.value,
        "max_token_age": trust.max_token_age,
        "created_at": trust.created_at,
        "updated_at": trust.updated_at,
    }


def _to_trust(row: Any) -> Trust:
    return Trust(
        name=row.name,
        issuer=row.issuer,
        jwks_uri=row.jwks_uri,
        jwks=row.jwks,
        audience=row.audience,
        replay=ReplayRule(row.replay),
        max_token_age=row.max_token_age,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def federation_row(client_id: str, federation: Federation) -> dict[str, Any]:
    return {
        "federation_id": federation.federation_id,
        "client_id": client_id,
        "trust": federation.trust,
        "subject": federation.subject,
        "conditions": [[condition.claim, condition.pattern] for condition in federation.conditions],
        "created_at": federation.created_at,
    }


def to_federation(federation_id: str, trust: str, subject: str, conditions: Any, created_at: int) -> Federation:
    return Federation(federation_id, trust, subject, tuple(Condition(claim, pattern) for claim, pattern in conditions), created_at)


# What a forced removal takes along: each federated credential of the trust, with
# the client it belonged to, so that each gets its own event.
FederationEvent = Callable[[str, Federation], AuditEvent]


class TrustRepository:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def get(self, name: str) -> Trust | None:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(trusts).where(trusts.c.name == name)).first()
        return _to_trust(row) if row is not None else None

    def list(self) -> list[Trust]:
        with self._engine.connect() as connection:
            return [_to_trust(row) for row in connection.execute(sa.select(trusts).order_by(trusts.c.name))]

    def usage(self) -> dict[str, int]:
        """How many federated credentials use each trust that has any."""
        query = sa.select(client_federations.c.trust, sa.func.count()).group_by(client_federations.c.trust)
        with self._engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}

    # As in store/clients.py, each write may carry its audit event, stored in the
    # same transaction and only when the change happened.

    def create(self, trust: Trust, audit_event: AuditEvent | None = None) -> None:
        with self._engine.begin() as connection:
            if connection.execute(sa.select(trusts.c.name).where(trusts.c.name == trust.name)).first():
                raise TrustAlreadyExists(trust.name)
            connection.execute(trusts.insert().values(_trust_row(trust)))
            if audit_event is not None:
                audit.record(connection, audit_event)

    def update(self, trust: Trust, audit_event: AuditEvent | None = None) -> bool:
        row = _trust_row(trust)
        del row["name"], row["created_at"]
        with self._engine.begin() as connection:
            changed = connection.execute(trusts.update().where(trusts.c.name == trust.name).values(row)).rowcount
            if audit_event is not None and changed:
                audit.record(connection, audit_event)
            return changed > 0

    def delete(
        self,
        name: str,
        audit_event: AuditEvent | None = None,
        *,
        force: bool = False,
        federation_event: FederationEvent | None = None,
        updated_at: int = 0,
    ) -> tuple[tuple[str, Federation], ...] | None:
        """Removes the trust; None when there is none. TrustInUse while federated
        credentials use it, unless `force`: then they go too, in this transaction,
        each with its `federation_event`; answers what was removed with it."""
        with self._engine.begin() as connection:
            if connection.execute(sa.select(trusts.c.name).where(trusts.c.name == name)).first() is None:
                return None
            rows = connection.execute(
                sa.select(client_federations).where(client_federations.c.trust == name).order_by(client_federations.c.federation_id)
            ).all()
            if rows and not force:
                raise TrustInUse(name, len(rows))
            removed = tuple(
                (row.client_id, to_federation(row.federation_id, row.trust, row.subject, row.conditions, row.created_at))
                for row in rows
            )
            if rows:
                connection.execute(client_federations.delete().where(client_federations.c.trust == name))
                affected = sorted({client_id for client_id, _ in removed})
                connection.execute(clients.update().where(clients.c.client_id.in_(affected)).values(updated_at=updated_at))
                for client_id, federation in removed:
                    forget_credentials(connection, client_id, federation.federation_id)
                    if federation_event is not None:
                        audit.record(connection, federation_event(client_id, federation))
            connection.execute(trusts.delete().where(trusts.c.name == name))
            if audit_event is not None:
                audit.record(connection, audit_event)
            return removed
