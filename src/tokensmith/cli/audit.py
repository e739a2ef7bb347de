"""`tokensmith audit list`: the administrative changes, newest first."""

from __future__ import annotations

import time

import click
import orjson

from tokensmith.cli.context import prepared_node, user_errors
from tokensmith.domain.audit import AuditAction


@click.group()
def audit() -> None:
    """Read the audit log of administrative changes."""


@audit.command("list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="How many events.")
@click.option("--subject", default=None, help="Only events about this client id (or key-ring).")
@click.option("--action", type=click.Choice([a.value for a in AuditAction]), default=None, help="Only this kind of change.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@user_errors
def list_events(limit: int, subject: str | None, action: str | None, as_json: bool) -> None:
    """List audit events, newest first."""
    node = prepared_node()
    assert node.audit is not None
    events = node.audit.latest(limit, subject=subject, action=action)
    if as_json:
        click.echo(orjson.dumps([e.as_dict() for e in events], option=orjson.OPT_INDENT_2).decode())
        return
    for e in events:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e.occurred_at))
        details = orjson.dumps(dict(e.details)).decode()
        click.echo(f"{e.event_id}\t{when}\t{e.action.value}\t{e.subject}\t{e.actor}@{e.host}\t{details}")
