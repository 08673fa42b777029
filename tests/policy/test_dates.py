"""Exchange Online's dates: banners and Received lines (no leading zero on the day), the diagnostic time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailflow_lab.policy.dates import diagnostic_time, header_date

PLUS_ONE = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2024, 3, 3, 19, 15, 0, tzinfo=UTC), "Sun, 3 Mar 2024 19:15:00 +0000"),
        (datetime(2025, 7, 15, 10, 1, 2, tzinfo=UTC), "Tue, 15 Jul 2025 10:01:02 +0000"),
        (datetime(2026, 12, 2, 8, 5, 9, tzinfo=PLUS_ONE), "Wed, 2 Dec 2026 08:05:09 +0100"),
    ],
)
def test_header_date(when: datetime, text: str) -> None:
    assert header_date(when) == text


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2025, 3, 20, 11, 25, 21, 972_500, tzinfo=UTC), "2025-03-20T11:25:21.972Z"),
        (datetime(2026, 1, 1, 9, 26, 31, tzinfo=PLUS_ONE), "2026-01-01T08:26:31.000Z"),
        (datetime(2026, 1, 1, 8, 26, 31), "2026-01-01T08:26:31.000Z"),  # a naive time is taken as UTC
    ],
)
def test_diagnostic_time(when: datetime, text: str) -> None:
    assert diagnostic_time(when) == text
