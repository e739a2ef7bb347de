"""How long a client's tokens live: a fixed number of seconds, or until the next
daily boundary in a time zone (the seed's example token expires at 00:00 New York
time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_LIFETIME_SECONDS = 86400
_SECONDS = re.compile(r"[0-9]+")
_DAILY = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)\s+(?P<zone>\S+)", re.ASCII)


@dataclass(frozen=True)
class FixedLifetime:
    seconds: int

    def expiry(self, now: int) -> int:
        return now + self.seconds

    def __str__(self) -> str:
        return str(self.seconds)


@dataclass(frozen=True)
class DailyBoundary:
    at: time
    zone: str

    def expiry(self, now: int) -> int:
        zone = ZoneInfo(self.zone)
        local_now = datetime.fromtimestamp(now, zone)
        boundary = datetime.combine(local_now.date(), self.at, tzinfo=zone)
        if int(boundary.timestamp()) <= now:
            boundary = datetime.combine(local_now.date() + timedelta(days=1), self.at, tzinfo=zone)
        return int(boundary.timestamp())

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.zone}"


Lifetime = FixedLifetime | DailyBoundary


def parse_lifetime(text: str) -> Lifetime:
    """`3600` (seconds, 1..86400) or `HH:MM Area/City` (until the next such instant)."""
    text = text.strip()
    if _SECONDS.fullmatch(text):  # ASCII digits only: str.isdigit() accepts "²"
        seconds = int(text)
        if not 1 <= seconds <= MAX_LIFETIME_SECONDS:
            raise ValueError(f"lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds")
        return FixedLifetime(seconds)
    match = _DAILY.fullmatch(text)
    if not match:
        raise ValueError("lifetime must be seconds (e.g. 3600) or 'HH:MM Zone' (e.g. '00:00 America/New_York')")
    try:
        ZoneInfo(match["zone"])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name that is a directory of the zone database, such as "America".
        raise ValueError(f"unknown time zone: {match['zone']}") from None
    return DailyBoundary(time(int(match["hour"]), int(match["minute"])), match["zone"])
