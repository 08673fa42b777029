"""LabClock: aware UTC time that freezes, advances, and tells listeners, safely from many threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailflow_lab.world.clock import LabClock

START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def test_frozen_clock_stands_still_and_advances_exactly() -> None:
    clock = LabClock(START, frozen=True)
    assert clock.frozen
    assert clock.now() == START
    assert clock.now() == START
    assert clock.advance(days=1, hours=2, minutes=3, seconds=4.5) == START + timedelta(
        days=1, hours=2, minutes=3, seconds=4.5
    )
    assert clock.now() == START + timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert clock.timestamp() == clock.now().timestamp()


def test_now_is_aware_utc() -> None:
    clock = LabClock()
    now = clock.now()
    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)


def test_start_in_another_zone_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    clock = LabClock(datetime(2025, 3, 10, 10, 0, tzinfo=paris), frozen=True)
    assert clock.now() == START
    assert clock.now().tzinfo is UTC


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LabClock(datetime(2025, 3, 10, 9, 0))


@pytest.mark.parametrize("unit", ["days", "hours", "minutes", "seconds"])
def test_negative_advance_is_refused_and_changes_nothing(unit: str) -> None:
    clock = LabClock(START, frozen=True)
    with pytest.raises(ValueError, match=unit):
        clock.advance(**{unit: -1})
    assert clock.now() == START


def test_running_clock_never_goes_back_and_includes_advances() -> None:
    clock = LabClock(START)
    assert not clock.frozen
    first = clock.now()
    assert first >= START
    assert clock.now() >= first
    clock.advance(days=1)
    assert clock.now() >= first + timedelta(days=1)


def test_freeze_and_unfreeze() -> None:
    clock = LabClock(START)
    clock.freeze()
    clock.freeze()  # harmless twice
    held = clock.now()
    assert clock.now() == held
    clock.advance(hours=1)
    assert clock.now() == held + timedelta(hours=1)
    clock.unfreeze()
    clock.unfreeze()
    assert not clock.frozen
    assert clock.now() >= held + timedelta(hours=1)


def test_on_advance_callbacks_get_the_new_time_and_can_read_the_clock() -> None:
    clock = LabClock(START, frozen=True)
    seen: list[tuple[datetime, datetime]] = []
    clock.on_advance(lambda new: seen.append((new, clock.now())))  # clock.now() would deadlock in the lock
    done = threading.Event()

    def run() -> None:
        clock.advance(minutes=30)
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set(), "advance() called its callback while holding the lock"
    assert seen == [(START + timedelta(minutes=30), START + timedelta(minutes=30))]


def test_on_advance_returns_an_unregister_function() -> None:
    clock = LabClock(START, frozen=True)
    calls: list[datetime] = []
    remove = clock.on_advance(calls.append)
    clock.advance(seconds=1)
    remove()
    remove()  # harmless twice
    clock.advance(seconds=1)
    assert calls == [START + timedelta(seconds=1)]


def test_a_failing_callback_does_not_starve_the_others() -> None:
    clock = LabClock(START, frozen=True)
    calls: list[datetime] = []

    def broken(new: datetime) -> None:
        raise RuntimeError("listener broke")

    clock.on_advance(broken)
    clock.on_advance(calls.append)
    with pytest.raises(RuntimeError, match="listener broke"):
        clock.advance(days=1)
    assert calls == [START + timedelta(days=1)]
    assert clock.now() == START + timedelta(days=1)


def test_concurrent_advances_all_count() -> None:
    clock = LabClock(START, frozen=True)
    calls: list[datetime] = []
    lock = threading.Lock()

    def record(new: datetime) -> None:
        with lock:
            calls.append(new)

    clock.on_advance(record)
    threads = [
        threading.Thread(target=lambda: [clock.advance(seconds=1) for _ in range(50)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == START + timedelta(seconds=400)
    assert sorted(calls) == [START + timedelta(seconds=n) for n in range(1, 401)]


def test_repr_says_frozen_or_running() -> None:
    assert "frozen" in repr(LabClock(START, frozen=True))
    assert "running" in repr(LabClock(START))
