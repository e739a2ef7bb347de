"""The strict JSON reader: its fast path (orjson plus a quote count) answers exactly what
the reference path (the standard library with a duplicate-refusing hook) answers."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.jose.strict_json import NotAJsonObject, json_object, reference_json_object

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=10)


def _answer(reader, raw: bytes) -> tuple[str, str]:
    try:
        # Compared as canonical text: 1, 1.0 and true are equal in Python, not in JSON.
        return "object", json.dumps(reader(raw), sort_keys=True)
    except NotAJsonObject:
        return "refused", ""


def _orjson(document, ascii_only):
    try:
        return orjson.dumps(document)
    except TypeError:  # an integer past 64 bits: orjson cannot write it
        return json.dumps(document, separators=(",", ":")).encode()


_WRITERS = {
    "orjson": _orjson,  # byte for byte what tokensmith signs: the round-trip proof
    "spaced": lambda document, ascii_only: json.dumps(document, ensure_ascii=ascii_only).encode(),  # the quote count
    "compact": lambda document, ascii_only: json.dumps(document, ensure_ascii=ascii_only, separators=(",", ":")).encode(),
}


@settings(max_examples=600)
@given(st.dictionaries(st.text(max_size=4), _VALUES, max_size=5), st.sampled_from(sorted(_WRITERS)), st.booleans(), st.booleans())
def test_fast_path_agrees_with_the_reference_on_objects_with_and_without_duplicates(document, writer, ascii_only, duplicate):
    raw = _WRITERS[writer](document, ascii_only)
    if duplicate and document:
        # The first member again, with another value: the reference refuses it.
        raw = raw[:-1] + b',' + json.dumps(next(iter(document))).encode() + b':1}'

    assert _answer(json_object, raw) == _answer(reference_json_object, raw)


@settings(max_examples=400)
@given(st.binary(max_size=40))
def test_fast_path_agrees_with_the_reference_on_arbitrary_bytes(raw):
    assert _answer(json_object, raw) == _answer(reference_json_object, raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"sub":"a","sub":"b"}', id="duplicate-top-level"),
        pytest.param(b'{"cnf":{"jkt":"a","jkt":"b"}}', id="duplicate-nested"),
        pytest.param(b'{"a":[{"x":1,"x":2}]}', id="duplicate-in-array"),
        pytest.param(b'{"a":1,"a" :2}', id="duplicate-with-a-space"),
        pytest.param(b'{"s\\u0075b":"a","sub":"b"}', id="duplicate-spelled-with-an-escape"),
        pytest.param(b'{"exp":NaN}', id="nan"),
        pytest.param(b'\xef\xbb\xbf{}', id="byte-order-mark"),
        pytest.param(b'["not", "an", "object"]', id="array"),
    ],
)
def test_what_the_fast_path_must_never_let_through(raw):
    with pytest.raises(NotAJsonObject):
        json_object(raw)


def test_a_large_integer_stays_an_exact_integer():
    # orjson reads integers past 64 bits as floats; the reader must not.
    assert json_object(b'{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
