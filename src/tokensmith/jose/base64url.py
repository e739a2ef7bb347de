"""The one base64url codec (RFC 7515 §2): unpadded on the way out, and on the way in
only the canonical spelling, so that one byte string has exactly one text form."""

from __future__ import annotations

import binascii
import re

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_STANDARD = bytes.maketrans(b"-_", b"+/")
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class DecodeError(ValueError):
    """Not canonical unpadded base64url. The message never contains the input."""


def encode(data: bytes) -> bytes:
    """base64url without padding, as bytes: base64.urlsafe_b64encode without its extra
    calls, since it runs three times per issued token."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def encode_text(data: bytes) -> str:
    return encode(data).decode("ascii")


def decode(text: str) -> bytes:
    """The bytes of `text`, or DecodeError for padding, characters outside the
    alphabet, an impossible length (4k+1) or stray low bits in the last character."""
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise DecodeError("not base64url")
    raw_text = text.encode("ascii")
    try:
        raw = binascii.a2b_base64(raw_text.translate(_STANDARD) + b"=" * (-len(text) % 4), strict_mode=True)
    except binascii.Error:
        raise DecodeError("not base64url") from None
    # Stray low bits ("AB" and "AC" both decode to b"\x00"): only the re-encoding is valid.
    if encode(raw) != raw_text:
        raise DecodeError("not canonical base64url")
    return raw
