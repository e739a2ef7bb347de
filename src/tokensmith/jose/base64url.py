"""The one base64url codec (RFC 7515 §2): unpadded on the way out, and on the way in
only the canonical spelling, so that one byte string has exactly one text form."""

from __future__ import annotations

import binascii

import pybase64

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = ("", "", "==", "=")  # by length % 4; 1 never gets this far
_b64decode = pybase64.b64decode
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# The last character of a text whose length is 4k+2 carries 2 bits of data and 4 unused
# ones, of 4k+3 carries 4 and 2 unused: canonical only when the unused bits are zero
# ("AA" and "AB" both decode to b"\x00"; only "AA" is the encoding of it).
_CANONICAL_LAST = {2: frozenset(_ALPHABET[::16]), 3: frozenset(_ALPHABET[::4])}


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
    alphabet, an impossible length (4k+1) or stray low bits in the last character.

    Runs on every segment of every token verified, so no regular expression and no
    re-encoding: pybase64 (SIMD) decodes with "-_" as the two last letters and refuses
    everything outside its alphabet, the three checks before it refuse what it would
    also take ("+", "/" and "=" in the input), and the last character is checked for
    unused bits set."""
    remainder = len(text) & 3
    if remainder == 1 or not text.isascii() or "=" in text or "+" in text or "/" in text:
        raise DecodeError("not base64url")
    if remainder and text[-1] not in _CANONICAL_LAST[remainder]:
        raise DecodeError("not canonical base64url")
    try:
        return _b64decode(text + _PADDING[remainder], b"-_", True)  # (altchars, validate)
    except binascii.Error:
        raise DecodeError("not base64url") from None
