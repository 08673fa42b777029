"""Group commit (store/groupsync.py): shared syncs, each still covering every write made before sync()."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mailflow_lab.store.groupsync import GroupSync, GroupSyncs
from mailflow_lab.store.mailstore import MailStore


class SlowSync:
    """A sync that takes a while and notes when each one began and ended (a counter, not a clock)."""

    def __init__(self, seconds: float = 0.02, fail_on: int | None = None) -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.events: list[tuple[str, int]] = []
        self._tick = 0
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            self._tick += 1
            return self._tick

    def __call__(self) -> None:
        number = len([e for e in self.events if e[0] == "begin"]) + 1
        self.events.append(("begin", self.tick()))
        time.sleep(self.seconds)
        self.events.append(("end", self.tick()))
        if number == self.fail_on:
            raise OSError("disk on fire")


def _writers(group: GroupSync, clock: SlowSync, count: int) -> list[tuple[int, int]]:
    """Each thread 'writes' (takes a tick), calls sync(), takes a tick on return: (wrote, returned)."""
    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def writer() -> None:
        start.wait()
        wrote = clock.tick()
        group.sync()
        returned = clock.tick()
        with lock:
            results.append((wrote, returned))

    threads = [threading.Thread(target=writer) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_a_lone_writer_pays_one_sync_per_call() -> None:
    clock = SlowSync(0.0)
    group = GroupSync(clock)
    for _ in range(3):
        group.sync()
    assert (group.syncs, group.requests) == (3, 3)


def test_concurrent_writers_share_syncs_and_each_is_covered_by_one_that_began_after_its_write() -> None:
    clock = SlowSync(0.02)
    group = GroupSync(clock)
    results = _writers(group, clock, 40)
    assert len(results) == 40
    assert group.requests == 40
    assert group.syncs < 40 / 4, f"{group.syncs} syncs for 40 writers: nothing was shared"
    spans = list(zip(clock.events[::2], clock.events[1::2], strict=True))
    for wrote, returned in results:
        # the promise: some sync began after the write and ended before sync() returned
        assert any(wrote < begin and end < returned for (_, begin), (_, end) in spans), (wrote, returned)


def test_a_failed_sync_raises_in_every_writer_that_relied_on_it() -> None:
    clock = SlowSync(0.0, fail_on=1)
    group = GroupSync(clock)
    with pytest.raises(OSError, match="disk on fire"):
        group.sync()
    group.sync()  # the next sync works again
    assert group.syncs == 2


def test_the_mail_store_shares_new_folder_syncs_between_concurrent_deliveries(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "store")
    message = b"From: a@contoso.com\r\nTo: alex@contoso.com\r\nSubject: s\r\n\r\nbody\r\n"
    store.deliver("alex@contoso.com", "Inbox", message)  # the folder exists before the race
    start = threading.Barrier(16)

    def deliver() -> None:
        start.wait()
        store.deliver("alex@contoso.com", "Inbox", message)

    threads = [threading.Thread(target=deliver) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(store.folder("alex@contoso.com", "Inbox")) == 17
    syncs, requests = store.sync_counts()
    assert requests == 17
    assert syncs <= requests


def test_group_syncs_keep_one_group_per_folder(tmp_path: Path) -> None:
    syncs = GroupSyncs()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        syncs.sync(tmp_path / name)
    syncs.sync(tmp_path / "a")
    assert syncs.counts() == (3, 3)
