"""One strict reader for the JSON objects JOSE carries (JWS header, JWT claims, JWK
sets, RFC 7662 answers): an object, UTF-8, no duplicate member names, no NaN/Infinity.

Two paths, one answer. The reference path is the standard library's parser with a
duplicate-refusing hook. The fast path (every access token's claims go through it) is
orjson, which takes the last of duplicate members silently, so its result is accepted
only with a proof that nothing was dropped and nothing read differently:

* the document is exactly orjson's own serialisation of what it parsed (as every
  token tokensmith signs is): a dict serialises each of its members once, so equal
  bytes leave no room for a duplicate, and numbers that orjson read differently from
  the reference (a large integer as a float) do not serialise back to the same text;
* or, for other writers' spacing and member order: with no backslash in the document
  every string is written between two quote characters and contains none, so the
  document has exactly twice as many quotes as its member names and string values; a
  dropped duplicate removes at least one name from the parsed object (floats, which
  orjson may have rounded from a large integer, are left to the reference).

Anything else (escapes outside orjson's own output, or any document orjson refuses) is
decided by the reference path.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_dumps = orjson.dumps
_MAX_FAST_CONTAINERS = 32
_SHORT = 1024  # bytes: fewer than 512 nested containers, within both parsers' limits


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


def reference_json_object(raw: bytes) -> dict[str, Any]:
    """The reference reader: what json_object answers, by the slow path only."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise NotAJsonObject("not a JSON document") from None
    if not isinstance(value, dict):
        raise NotAJsonObject("not a JSON object")
    return value


class _Undecided(Exception):
    pass


def _object_strings(value: dict[str, Any]) -> int:
    """_strings of an object, with a flat object (JWT claims) counted without recursion."""
    kinds = list(map(type, value.values()))
    if float in kinds:
        raise _Undecided
    count = len(value) + kinds.count(str)
    if dict in kinds or list in kinds:
        for item in value.values():
            if type(item) is dict or type(item) is list:
                count += _strings(item)
    return count


def _strings(value: object) -> int:
    """Member names plus string values in a parsed value; _Undecided on a float."""
    kind = type(value)
    if kind is str:
        return 1
    if kind is dict:
        return _object_strings(value)  # type: ignore[arg-type]
    if kind is list:
        count = 0
        for item in value:  # type: ignore[attr-defined]
            count += _strings(item)
        return count
    if kind is float:
        raise _Undecided
    return 0


def json_object(raw: bytes) -> dict[str, Any]:
    # Shallow documents only: the reference parser's recursion limit is lower than
    # orjson's, and a document nested that deep is longer than this.
    if len(raw) < _SHORT or raw.count(b"{") + raw.count(b"[") <= _MAX_FAST_CONTAINERS:
        try:
            value = orjson.loads(raw)
            if type(value) is dict and (_dumps(value) == raw or _quotes_match(raw, value)):
                return value
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
            pass
    return reference_json_object(raw)


def _quotes_match(raw: bytes, value: dict[str, Any]) -> bool:
    if b"\\" in raw:
        return False
    kinds = list(map(type, value.values()))
    if float in kinds:
        return False
    if dict not in kinds and list not in kinds:  # flat (JWT claims): counted inline
        return raw.count(b'"') == 2 * (len(value) + kinds.count(str))
    try:
        return raw.count(b'"') == 2 * _object_strings(value)
    except _Undecided:
        return False
