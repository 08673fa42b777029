"""Group commit: one fsync of a file or directory shared by every writer that asked while it was due."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


class GroupSync:
    """Makes writes to one file (or directory's entries) durable, sharing syncs between threads.

    ``sync()`` returns once a sync that *began after the call* has finished, so every write the caller
    made before calling is on disk. Callers arriving while a sync runs wait for it, then one of them runs
    the next sync for all of them: under concurrency, N writers pay about one sync per batch instead of
    N; a writer alone pays one, as before. A failed sync raises in every caller that relied on it.
    """

    def __init__(self, sync: Callable[[], None]) -> None:
        self._sync = sync
        self._cond = threading.Condition()
        self._started = 0  # syncs begun
        self._finished = 0  # syncs ended (in order: only one runs at a time)
        self._running = False
        self._failed: dict[int, BaseException] = {}  # sync number -> its error, for those who waited on it
        self.syncs = 0  # how many syncs ran (bench/ reads it)
        self.requests = 0  # how many sync() calls they served

    def sync(self) -> None:
        with self._cond:
            self.requests += 1
            needed = self._started + 1  # the next sync to begin: it covers what was written before now
            while self._finished < needed:
                if self._running:
                    self._cond.wait()
                    continue
                self._running = True
                self._started += 1
                number = self._started
                self._cond.release()
                error: BaseException | None = None
                try:
                    self._sync()
                except BaseException as exc:  # noqa: BLE001 - handed to every waiter, then re-raised
                    error = exc
                finally:
                    self._cond.acquire()
                    self.syncs += 1
                    self._running = False
                    self._finished = number
                    if error is not None:
                        self._failed[number] = error
                    self._failed.pop(number - 64, None)  # bounded: only recent errors can still be read
                    self._cond.notify_all()
            error = self._failed.get(needed)
            if error is not None:
                raise OSError(f"a shared sync failed: {error}") from error


def fsync_file(path: Path) -> None:
    """fsync a file by path (what was appended to it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a directory: its entries (a file created, linked or removed in it) become durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GroupSyncs:
    """One GroupSync per directory, made on first use (a mail store's ``new/`` folders)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[Path, GroupSync] = {}

    def sync(self, path: Path) -> None:
        with self._lock:
            group = self._by_path.get(path)
            if group is None:
                group = self._by_path[path] = GroupSync(lambda: fsync_dir(path))
        group.sync()

    def forget(self, path: Path) -> None:
        """Drop a path's group (its folder was removed)."""
        with self._lock:
            self._by_path.pop(path, None)

    def clear(self) -> None:
        with self._lock:
            self._by_path.clear()

    def counts(self) -> tuple[int, int]:
        """(syncs run, sync() calls served) over every path."""
        with self._lock:
            groups = list(self._by_path.values())
        return sum(g.syncs for g in groups), sum(g.requests for g in groups)
