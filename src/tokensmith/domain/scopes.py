"""Scope strings (RFC 6749 §3.3): `scope-token *( SP scope-token )`, where a
scope-token is one or more of %x21 / %x23-5B / %x5D-7E."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from tokensmith.domain.errors import Problem, TokensmithError

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(value: str) -> bool:
    return _SCOPE_TOKEN.fullmatch(value) is not None


def parse_scope(text: str, *, max_length: int) -> tuple[str, ...]:
    """Split a scope string into its tokens, in order, without duplicates."""
    return _parse_scope(text, max_length)


# A service's clients ask for a handful of scope strings, again and again: parsed
# once each (a refusal is not kept, so it is worked out, and raised, every time).
@functools.lru_cache(maxsize=1024)
def _parse_scope(text: str, max_length: int) -> tuple[str, ...]:
    if len(text) > max_length:
        raise TokensmithError(Problem.SCOPE_TOO_LONG, f"Scope is longer than {max_length} characters")
    if not text:
        raise TokensmithError(Problem.SCOPE_MISSING, "Scope must not be empty")
    tokens = text.split(" ")
    if not all(_SCOPE_TOKEN.fullmatch(token) for token in tokens):
        raise TokensmithError(Problem.SCOPE_MALFORMED)
    return tuple(dict.fromkeys(tokens))


def validate_scope_tokens(values: Iterable[str]) -> tuple[str, ...]:
    """For configuration input (the command line): each value one scope token."""
    tokens = tuple(dict.fromkeys(values))
    bad = [value for value in tokens if not is_scope_token(value)]
    if bad:
        raise ValueError(f"not a valid scope token: {bad[0]!r}")
    return tokens


def format_scope(tokens: Iterable[str]) -> str:
    return " ".join(tokens)
