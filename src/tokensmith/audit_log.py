"""Audit events on the log stream, beside their rows in the store (store/audit.py).

A server process logs through its JSON log (logs.py). The command line has no log
configuration of its own, so the first audit event it emits attaches a JSON handler
on stderr to the `tokensmith.audit` logger (unless TOKENSMITH_AUDIT_LOG=off): one
line per change, with the same fields as the stored event.
"""

from __future__ import annotations

import logging
import sys

from tokensmith.domain.audit import AuditEvent

log = logging.getLogger("tokensmith.audit")
_configured = False


def _ensure_handler(destination: str) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    if destination == "off":
        log.disabled = True
        return
    if logging.getLogger().handlers or log.handlers:
        return  # a server process: its JSON log already carries these lines
    from tokensmith.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def emit(event: AuditEvent, destination: str = "stderr") -> None:
    _ensure_handler(destination)
    fields = event.as_dict()
    if fields["id"] is None:
        del fields["id"]  # the store numbers events; the log line is written before it reads the number back
    log.info("audit", extra={"audit": fields})
