"""Scope strings as RFC 6749 §3.3 defines them: scope-tokens of %x21 / %x23-5B /
%x5D-7E separated by single spaces."""

from __future__ import annotations

import pytest

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import format_scope, is_scope_token, parse_scope, validate_scope_tokens

# Every character RFC 6749 §3.3 allows in a scope-token.
ALLOWED = "".join(chr(c) for c in [0x21, *range(0x23, 0x5C), *range(0x5D, 0x7F)])


def refusal(text: str, max_length: int = 50) -> Problem:
    with pytest.raises(TokensmithError) as caught:
        parse_scope(text, max_length=max_length)
    return caught.value.problem


def test_space_separated_tokens_are_split_in_order() -> None:
    assert parse_scope("edit read", max_length=50) == ("edit", "read")


def test_duplicate_tokens_are_removed_keeping_the_first_position() -> None:
    assert parse_scope("read edit read edit", max_length=50) == ("read", "edit")


def test_every_character_rfc_6749_allows_is_accepted() -> None:
    assert parse_scope(ALLOWED, max_length=len(ALLOWED)) == (ALLOWED,)
    assert all(is_scope_token(ch) for ch in ALLOWED)


@pytest.mark.parametrize("ch", ['"', "\\", "\t", "\n", "\x00", "\x7f", "é", "\u00a0", "\u3000"])
def test_characters_outside_the_rfc_charset_are_malformed(ch: str) -> None:
    assert refusal(f"edit{ch}read") is Problem.SCOPE_MALFORMED
    assert not is_scope_token(ch)


@pytest.mark.parametrize("text", [" edit", "edit ", "edit  read", " "])
def test_stray_spaces_are_malformed(text: str) -> None:
    # One SP between tokens, none around them (RFC 6749 §3.3's grammar).
    assert refusal(text) is Problem.SCOPE_MALFORMED


def test_empty_scope_is_missing() -> None:
    assert refusal("") is Problem.SCOPE_MISSING


def test_scope_at_the_maximum_length_is_accepted_and_one_more_is_too_long() -> None:
    assert parse_scope("a" * 50, max_length=50) == ("a" * 50,)
    assert refusal("a" * 51, max_length=50) is Problem.SCOPE_TOO_LONG


def test_length_is_checked_before_the_characters() -> None:
    assert refusal('"' * 51, max_length=50) is Problem.SCOPE_TOO_LONG


def test_configured_scope_tokens_are_validated_one_by_one() -> None:
    assert validate_scope_tokens(["edit", "read", "edit"]) == ("edit", "read")
    for bad in ["", "two words", 'quo"te']:
        with pytest.raises(ValueError, match="not a valid scope token"):
            validate_scope_tokens(["edit", bad])


def test_format_scope_joins_with_single_spaces() -> None:
    assert format_scope(("edit", "read")) == "edit read"
