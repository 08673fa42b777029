"""Smart Lockout as a pure rule: counting, remembered bad passwords, per address, expiry and growth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailflow_lab.policy import lockout as L
from mailflow_lab.policy import replies as R

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
USER, IP = "scanner@contoso.com", "203.0.113.10"


def failed(guard: L.SmartLockout, count: int, now: datetime = T0, login: str = USER, ip: str = IP) -> None:
    for n in range(count):
        guard.record(login, ip, f"wrong-{n}-{now.timestamp()}", failed=True, now=now)


@pytest.mark.parametrize(
    ("failures", "locked"), [(0, False), (L.LOCKOUT_THRESHOLD - 1, False), (L.LOCKOUT_THRESHOLD, True)]
)
def test_locked_after_the_threshold(failures: int, locked: bool) -> None:
    guard = L.SmartLockout()
    failed(guard, failures)
    decision = guard.locked(USER, IP, T0)
    assert (decision is not None) is locked
    if decision is not None:
        assert decision.reply == R.AUTH_ACCOUNT_LOCKED
        assert decision.rule == "submission.auth.locked"


@pytest.mark.parametrize(
    ("login", "ip", "locked"),
    [
        (USER, IP, True),
        (USER.upper(), IP, True),
        (USER, "198.51.100.23", False),
        ("alex@contoso.com", IP, False),
    ],
)
def test_keyed_on_login_and_address(login: str, ip: str, locked: bool) -> None:
    guard = L.SmartLockout()
    failed(guard, L.LOCKOUT_THRESHOLD)
    assert (guard.locked(login, ip, T0) is not None) is locked


def test_a_retried_wrong_password_counts_once() -> None:
    guard = L.SmartLockout()
    for _ in range(50):
        guard.record(USER, IP, "same", failed=True, now=T0)
    assert guard.locked(USER, IP, T0) is None


def test_a_success_starts_the_count_over() -> None:
    guard = L.SmartLockout()
    failed(guard, L.LOCKOUT_THRESHOLD - 1)
    guard.record(USER, IP, "right", failed=False, now=T0)
    failed(guard, L.LOCKOUT_THRESHOLD - 1, now=T0 + timedelta(seconds=1))
    assert guard.locked(USER, IP, T0 + timedelta(seconds=1)) is None


@pytest.mark.parametrize(("lockouts", "seconds"), [(1, 60), (2, 120), (3, 240), (12, 3600)])
def test_each_lockout_lasts_longer_up_to_an_hour(lockouts: int, seconds: int) -> None:
    guard = L.SmartLockout()
    now = T0
    for _ in range(lockouts):
        failed(guard, L.LOCKOUT_THRESHOLD, now=now)
        start = now
        while guard.locked(USER, IP, now) is not None:
            now += timedelta(seconds=1)
    assert now - start == timedelta(seconds=seconds)


def test_the_table_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "MAX_TRACKED", 5)
    guard = L.SmartLockout()
    for n in range(20):
        failed(guard, 1, login=f"user{n}@contoso.com")
    assert len(guard._tallies) == 5
