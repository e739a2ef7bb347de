"""`/admin/v1/audit`: the audit log, newest first, filtered and paged by event id."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import AUDIT_READ, authorise
from tokensmith.admin.bodies import invalid, query_integer, query_text
from tokensmith.admin.calls import json_response, run
from tokensmith.domain.audit import AuditAction
from tokensmith.store.audit import AuditQuery

COLLECTION = "/admin/v1/audit"
MAX_INSTANT = 2**53


async def list_events(request: Request) -> Response:
    caller = await authorise(request, AUDIT_READ)
    action = query_text(request, "action", 64)
    if action is not None and action not in {member.value for member in AuditAction}:
        invalid(f"unknown action {action!r}")
    limit = query_integer(request, "limit", 50, 1, 500)
    assert limit is not None
    query = AuditQuery(
        actor=query_text(request, "actor", 128),
        subject=query_text(request, "client"),
        action=action,
        since=query_integer(request, "since", None, 0, MAX_INSTANT),
        until=query_integer(request, "until", None, 0, MAX_INSTANT),
        before=query_integer(request, "cursor", None, 1, MAX_INSTANT),
        limit=limit,
    )
    audit = caller.changes.node.audit
    assert audit is not None  # every node built from settings has one
    events = await run(audit.search, query)
    cursor = events[-1].event_id if len(events) == limit else None
    return json_response({"items": [event.as_dict() for event in events], "next_cursor": cursor})
