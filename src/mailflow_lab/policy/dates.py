"""How Exchange Online writes dates: in banners and Received lines, and in its replies' diagnostic suffix."""

from __future__ import annotations

from datetime import UTC, datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def header_date(when: datetime) -> str:
    """RFC 5322 date as Exchange writes it: no leading zero on the day, `Sun, 3 Mar 2024 19:15:00 +0000`
    (real banners and Received headers; shared/reference/exchange-smtp-protocol.md)."""
    offset = when.strftime("%z") or "+0000"
    return (
        f"{_DAYS[when.weekday()]}, {when.day} {_MONTHS[when.month - 1]} {when.year} {when:%H:%M:%S} {offset}"
    )


def diagnostic_time(when: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as in `[<HOST> 2025-03-20T11:25:21.972Z <id>]`."""
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
