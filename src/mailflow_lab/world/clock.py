"""The lab's clock: real time that a notebook can freeze or advance, so a day passes in a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

AdvanceCallback = Callable[[datetime], object]


class LabClock:
    """Lab time = start + real time elapsed while not frozen + every ``advance``; always aware UTC.

    Thread-safe. Callbacks registered with :meth:`on_advance` run after each advance, outside the
    lock, with the new time (the lab releases deferred messages from there).
    """

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"LabClock start must be timezone-aware, got naive {start.isoformat()}")
        self._lock = threading.Lock()
        # Lab time at the monotonic instant _anchor; while frozen, _anchor is None and time stands still.
        self._base = start.astimezone(UTC)
        self._anchor: float | None = None if frozen else time.monotonic()
        self._callbacks: list[AdvanceCallback] = []

    def _now_locked(self) -> datetime:
        if self._anchor is None:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._anchor)

    def now(self) -> datetime:
        """The lab's current time, timezone-aware UTC."""
        with self._lock:
            return self._now_locked()

    def timestamp(self) -> float:
        """The lab's current time as POSIX seconds."""
        return self.now().timestamp()

    @property
    def frozen(self) -> bool:
        """True while real time does not move the lab's clock."""
        with self._lock:
            return self._anchor is None

    def freeze(self) -> None:
        """Stop real time from moving the clock; ``advance`` still does. Freezing twice is harmless."""
        with self._lock:
            if self._anchor is not None:
                self._base = self._now_locked()
                self._anchor = None

    def unfreeze(self) -> None:
        """Let real time move the clock again, from where it stood."""
        with self._lock:
            if self._anchor is None:
                self._anchor = time.monotonic()

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move lab time forward, run the ``on_advance`` callbacks, and return the new time.

        Time never goes backwards: a negative amount raises ValueError. If callbacks raise, all of them
        still run and the first exception is re-raised afterwards.
        """
        for name, amount in (("days", days), ("hours", hours), ("minutes", minutes), ("seconds", seconds)):
            if amount < 0:
                raise ValueError(
                    f"LabClock.advance: {name}={amount} is negative; lab time only moves forward"
                )
        delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        with self._lock:
            self._base += delta
            new_time = self._now_locked()
            callbacks = list(self._callbacks)
        first_error: BaseException | None = None
        for callback in callbacks:
            try:
                callback(new_time)
            except Exception as exc:  # one faulty listener must not starve the others
                if first_error is None:
                    first_error = exc
        if first_error is not None:
            raise first_error
        return new_time

    def on_advance(self, callback: AdvanceCallback) -> Callable[[], None]:
        """Call ``callback(new_time)`` after each advance; returns a function that unregisters it."""
        with self._lock:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"<LabClock {self.now().isoformat()} {state}>"
