"""Trusted external issuers for workload identity federation: add, change, remove.
Input arrives as plain values and is checked by domain/registration.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.audit import AuditAction, AuditEvent, federation_summary, trust_changes, trust_snapshot, trust_subject
from tokensmith.domain.registration import build_trust, change_trust, parse_replay_rule
from tokensmith.domain.trusts import DEFAULT_MAX_TOKEN_AGE, Federation, ReplayRule, Trust
from tokensmith.service.changes import Changes
from tokensmith.store.fanout import client_changed, trust_changed
from tokensmith.store.trusts import TrustAlreadyExists, TrustInUse

__all__ = [
    "TrustAlreadyExists",
    "TrustChanges",
    "TrustInUse",
    "TrustNotFound",
    "TrustSpec",
    "add_trust",
    "existing_trust",
    "list_trusts",
    "remove_trust",
    "show_trust",
    "update_trust",
]


class TrustNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no trust {name!r}")
        self.name = name


@dataclass(frozen=True)
class TrustSpec:
    """A new trust. Its keys: `jwks` (a JWKS document), `jwks_uri`, or neither (the
    issuer's OIDC discovery). `audience`: what a token's aud must contain (default:
    this server's issuer identifier). `replay`: "max-age" or "single-use"."""

    name: str
    issuer: str
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    audience: str | None = None
    replay: str = ReplayRule.MAX_AGE.value
    max_token_age: int = DEFAULT_MAX_TOKEN_AGE


@dataclass(frozen=True)
class TrustChanges:
    """What to change; None leaves a field as it is. A new `jwks` or `jwks_uri`
    replaces the other; `discovery` drops both."""

    issuer: str | None = None
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    discovery: bool = False
    audience: str | None = None
    default_audience: bool = False
    replay: str | None = None
    max_token_age: int | None = None


def existing_trust(changes: Changes, name: str) -> Trust:
    trust = changes.node.trusts.get(name)
    if trust is None:
        raise TrustNotFound(name)
    return trust


def list_trusts(changes: Changes) -> list[tuple[Trust, int]]:
    """Every trust by name, with how many federated credentials use it."""
    usage = changes.node.trusts.usage()
    return [(trust, usage.get(trust.name, 0)) for trust in changes.node.trusts.list()]


def show_trust(changes: Changes, name: str) -> tuple[Trust, int]:
    """The trust and how many federated credentials use it; TrustNotFound without it."""
    trust = existing_trust(changes, name)
    return trust, changes.node.trusts.usage().get(name, 0)


def add_trust(changes: Changes, spec: TrustSpec, now: int) -> Trust:
    """TrustAlreadyExists for a taken name."""
    trust = build_trust(
        name=spec.name,
        issuer=spec.issuer,
        jwks_uri=spec.jwks_uri,
        jwks=spec.jwks,
        audience=spec.audience,
        replay=parse_replay_rule(spec.replay),
        max_token_age=spec.max_token_age,
        now=now,
    )
    audit_event = changes.event(AuditAction.TRUST_ADDED, trust_subject(trust.name), now, trust=trust_snapshot(trust))
    changes.node.trusts.create(trust, audit_event)
    # Announced too: a node may have cached the name as unknown.
    changes.done(audit_event, trust_changed(trust.name))
    return trust


def _changed_fields(what: TrustChanges) -> dict[str, Any]:
    if sum((what.jwks is not None, what.jwks_uri is not None, what.discovery)) > 1:
        raise ValueError("give one of a JWKS file, a JWKS URI or discovery")
    if what.audience is not None and what.default_audience:
        raise ValueError("give an audience or the default audience, not both")
    fields: dict[str, Any] = {}
    if what.issuer is not None:
        fields["issuer"] = what.issuer
    if what.jwks is not None:
        fields.update(jwks=what.jwks, jwks_uri=None)
    elif what.jwks_uri is not None:
        fields.update(jwks=None, jwks_uri=what.jwks_uri)
    elif what.discovery:
        fields.update(jwks=None, jwks_uri=None)
    if what.audience is not None or what.default_audience:
        fields["audience"] = what.audience
    if what.replay is not None:
        fields["replay"] = parse_replay_rule(what.replay)
    if what.max_token_age is not None:
        fields["max_token_age"] = what.max_token_age
    return fields


def update_trust(changes: Changes, name: str, what: TrustChanges, now: int) -> Trust:
    before = existing_trust(changes, name)
    after = change_trust(before, now, **_changed_fields(what))
    audit_event = changes.event(AuditAction.TRUST_CHANGED, trust_subject(name), now, changes=trust_changes(before, after))
    if not changes.node.trusts.update(after, audit_event):
        raise TrustNotFound(name)  # removed meanwhile
    changes.done(audit_event, trust_changed(name))
    return after


def remove_trust(changes: Changes, name: str, now: int, *, force: bool = False) -> tuple[tuple[str, Federation], ...]:
    """Removes the trust. TrustInUse while federated credentials use it, unless
    `force`: they are removed with it, in the same transaction, each with its
    client.unfederated event. Answers the (client id, credential) pairs removed."""
    before = existing_trust(changes, name)
    taken_along: list[AuditEvent] = []

    def unfederated(client_id: str, federation: Federation) -> AuditEvent:
        taken_along.append(
            changes.event(AuditAction.CLIENT_UNFEDERATED, client_id, now, federation=federation_summary(federation), trust_removed=True)
        )
        return taken_along[-1]

    audit_event = changes.event(AuditAction.TRUST_REMOVED, trust_subject(name), now, trust=trust_snapshot(before))
    removed = changes.node.trusts.delete(name, audit_event, force=force, federation_event=unfederated, updated_at=now)
    if removed is None:
        changes.done(None, trust_changed(name))
        raise TrustNotFound(name)
    for event in taken_along:
        changes.done(event)  # on the log stream; announced below, once per client
    affected = sorted({client_id for client_id, _ in removed})
    changes.done(audit_event, trust_changed(name), *(client_changed(client_id) for client_id in affected))
    return removed
