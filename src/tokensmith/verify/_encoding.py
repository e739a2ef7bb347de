"""Strict decoding helpers for compact JWS segments (RFC 7515 §2, §7.1)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class DecodeFailure(ValueError):
    """A segment is not valid base64url / JSON. Message never contains the input."""


def b64url_decode(segment: str) -> bytes:
    # RFC 7515 §2: base64url *without* padding; anything else is malformed.
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise DecodeFailure("not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeFailure("not base64url") from exc
    # Refuse non-canonical encodings (stray low bits in the last character) so
    # one token has exactly one spelling, which matters for anything keyed on it.
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment.encode("ascii"):
        raise DecodeFailure("not canonical base64url")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7519 §4 / RFC 8725 §3.1: parsers either reject duplicate member
    # names or take the last one; two parsers disagreeing is an attack
    # surface, so we reject.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DecodeFailure("duplicate member name")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise DecodeFailure("non-standard JSON constant")


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,  # NaN / Infinity are not JSON
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DecodeFailure("not a JSON document") from exc
    if not isinstance(value, dict):
        raise DecodeFailure("not a JSON object")
    return value
