"""The one base64url codec: unpadded out, only the canonical spelling in."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensmith.jose import base64url


@given(st.binary(max_size=300))
def test_encode_is_unpadded_urlsafe_base64_and_decode_reverses_it(data: bytes) -> None:
    text = base64url.encode_text(data)

    assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    assert base64url.decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("AA==", id="padding"),
        pytest.param("AA=", id="partial-padding"),
        pytest.param("AB", id="stray-low-bits"),  # "AA" and "AB" both name b"\x00"
        pytest.param("AAB", id="stray-low-bits-two-bytes"),
        pytest.param("A", id="impossible-length"),
        pytest.param("AA+A", id="standard-alphabet-plus"),
        pytest.param("AA/A", id="standard-alphabet-slash"),
        pytest.param("AA A", id="space"),
        pytest.param("AAAA\n", id="newline"),
        pytest.param("AA\u0430A", id="cyrillic-a"),
        pytest.param("AA.A", id="dot"),
    ],
)
def test_decode_refuses_every_spelling_but_the_canonical_one(text: str) -> None:
    with pytest.raises(base64url.DecodeError) as raised:
        base64url.decode(text)

    assert text not in str(raised.value)


def test_empty_text_is_empty_bytes() -> None:
    assert base64url.decode("") == b"" and base64url.encode(b"") == b""


def _reference_decode(text: str) -> bytes:
    """The definition: decode leniently, accept only if re-encoding gives the text back."""
    padded = text + "=" * (-len(text) % 4)
    if len(text) % 4 == 1 or not set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise base64url.DecodeError("not base64url")
    raw = base64.urlsafe_b64decode(padded)
    if base64url.encode_text(raw) != text:
        raise base64url.DecodeError("not canonical")
    return raw


@given(st.text(alphabet="AaBbQgw09-_+/= \n.\u0430\x00", max_size=12))
def test_decode_accepts_exactly_what_the_definition_accepts(text: str) -> None:
    try:
        expected: bytes | None = _reference_decode(text)
    except (base64url.DecodeError, ValueError):
        expected = None
    try:
        got: bytes | None = base64url.decode(text)
    except base64url.DecodeError:
        got = None

    assert got == expected
