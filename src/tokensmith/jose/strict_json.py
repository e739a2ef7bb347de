"""One strict reader for the JSON objects JOSE carries (JWS header, JWT claims, JWK
sets, RFC 7662 answers): an object, UTF-8, no duplicate member names, no NaN/Infinity."""

from __future__ import annotations

import json
from typing import Any


class NotAJsonObject(ValueError):
    """The document is not one strict JSON object. The message never contains it."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7519 §4 / RFC 8725 §3.1: parsers either refuse duplicate member names or take
    # the last one; two parsers disagreeing is an attack surface, so we refuse.
    members = dict(pairs)
    if len(members) != len(pairs):
        raise NotAJsonObject("duplicate member name")
    return members


def _refuse_constant(name: str) -> Any:
    raise NotAJsonObject("non-standard JSON constant")  # NaN / Infinity are not JSON (RFC 8259 §6)


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise NotAJsonObject("not a JSON document") from None
    if not isinstance(value, dict):
        raise NotAJsonObject("not a JSON object")
    return value
