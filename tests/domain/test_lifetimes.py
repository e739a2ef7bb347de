"""Token lifetimes: fixed seconds, or until the next daily boundary in a time zone.

Every instant is a fixed epoch second; expected expiries are written in UTC so that
they do not depend on the code under test's own time-zone arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tokensmith.domain.lifetimes import DailyBoundary, FixedLifetime, parse_lifetime


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


MIDNIGHT_NEW_YORK = DailyBoundary(time(0, 0), "America/New_York")


def test_fixed_lifetime_expires_that_many_seconds_after_issue() -> None:
    assert FixedLifetime(3600).expiry(1_750_000_000) == 1_750_003_600


def test_seed_example_token_expires_at_the_next_midnight_in_new_york() -> None:
    issued = utc(2025, 6, 19, 16, 0)  # 2025-06-19T12:00-04:00
    assert MIDNIGHT_NEW_YORK.expiry(issued) == 1750392000  # the seed's `exp`
    assert 1750392000 == utc(2025, 6, 20, 4, 0)  # 2025-06-20T00:00-04:00


def test_token_issued_exactly_at_the_boundary_lives_until_the_next_day_s_boundary() -> None:
    # A token that expired the instant it was issued would be useless.
    assert MIDNIGHT_NEW_YORK.expiry(1750392000) == 1750392000 + 86400


def test_token_issued_just_after_the_boundary_lives_almost_a_day() -> None:
    assert MIDNIGHT_NEW_YORK.expiry(1750392001) == 1750392000 + 86400


def test_token_issued_just_before_the_boundary_lives_one_second() -> None:
    assert MIDNIGHT_NEW_YORK.expiry(1750392000 - 1) == 1750392000


def test_boundary_on_the_spring_forward_day_is_the_next_local_midnight() -> None:
    # 2025-03-09: New York moves from EST (-05) to EDT (-04) at 02:00.
    issued = utc(2025, 3, 9, 6, 0)  # 01:00 EST
    assert MIDNIGHT_NEW_YORK.expiry(issued) == utc(2025, 3, 10, 4, 0)  # 00:00 EDT, 22 h later


def test_boundary_on_the_fall_back_day_is_the_next_local_midnight() -> None:
    # 2025-11-02: New York moves from EDT (-04) back to EST (-05) at 02:00; the day has 25 hours.
    just_after_midnight = utc(2025, 11, 2, 4, 0, 1)  # 00:00:01 EDT
    assert MIDNIGHT_NEW_YORK.expiry(just_after_midnight) == utc(2025, 11, 3, 5, 0)  # 00:00 EST
    during_repeated_hour = utc(2025, 11, 2, 6, 30)  # 01:30 EST, the second time
    assert MIDNIGHT_NEW_YORK.expiry(during_repeated_hour) == utc(2025, 11, 3, 5, 0)


def test_boundary_inside_the_skipped_hour_falls_on_a_real_instant_after_issue() -> None:
    # 02:30 does not exist in New York on 2025-03-09; the boundary is taken as 03:30 EDT,
    # which is where a clock that was not moved forward would read 02:30.
    boundary = DailyBoundary(time(2, 30), "America/New_York")
    issued = utc(2025, 3, 9, 6, 0)  # 01:00 EST
    assert boundary.expiry(issued) == utc(2025, 3, 9, 7, 30)
    # The day after, 02:30 exists again.
    assert boundary.expiry(utc(2025, 3, 9, 8, 0)) == utc(2025, 3, 10, 6, 30)


def test_daily_boundary_in_utc_has_no_offset() -> None:
    boundary = DailyBoundary(time(12, 0), "UTC")
    assert boundary.expiry(utc(2025, 1, 1, 11, 59, 59)) == utc(2025, 1, 1, 12, 0)
    assert boundary.expiry(utc(2025, 1, 1, 12, 0)) == utc(2025, 1, 2, 12, 0)


@pytest.mark.parametrize("text, expected", [("3600", FixedLifetime(3600)), ("1", FixedLifetime(1)), ("86400", FixedLifetime(86400))])
def test_seconds_are_parsed_as_a_fixed_lifetime(text: str, expected: FixedLifetime) -> None:
    assert parse_lifetime(text) == expected


def test_a_daily_boundary_is_parsed_and_written_back_the_same_way() -> None:
    lifetime = parse_lifetime("00:00 America/New_York")
    assert lifetime == MIDNIGHT_NEW_YORK
    assert parse_lifetime(str(lifetime)) == lifetime
    assert str(parse_lifetime("900")) == "900"


@pytest.mark.parametrize("text", ["0", "86401", "-5", "1.5", "abc", "", "²", "24:00 UTC", "9:00 UTC", "12:60 UTC", "12:00"])
def test_bad_lifetimes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_lifetime(text)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "America", "America/", "../etc/passwd", "/etc/localtime"])
def test_unknown_time_zone_is_refused_by_name(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_lifetime(f"00:00 {zone}")
