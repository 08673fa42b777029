"""Large message bytes are joined through a scratch file (store/joining.py) and a spool (smtp/spool.py)."""

from __future__ import annotations

import asyncio
import os

import pytest

from mailflow_lab.smtp.spool import Spool
from mailflow_lab.store import joining


def _lines(count: int) -> list[bytes]:
    return [f"line {n:07d} ".encode() + b"x" * (n % 900) + b"\r\n" for n in range(count)]


@pytest.mark.parametrize("count", [0, 1, 1023, 1024, 1025, 20_000])
def test_join_gives_what_a_plain_join_gives(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(joining, "LARGE", 1)  # every join goes through the scratch file
    pieces = _lines(count)
    assert joining.join(pieces) == b"".join(pieces)


def test_a_short_write_is_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev
    monkeypatch.setattr(os, "writev", lambda fd, batch: real(fd, [bytes(batch[0])[:3]]))  # writes 3 bytes
    fd = joining.scratch_fd()
    try:
        joining.write_all(fd, [b"hello ", b"world", b"!"])
        assert joining.read_all(fd, 12) == b"hello world!"
    finally:
        os.close(fd)


@pytest.mark.parametrize("spool_above", [10**9, 1000])
def test_the_spool_gives_the_lines_back_whether_kept_or_spooled(spool_above: int) -> None:
    lines = _lines(5000)
    spool = Spool(spool_above=spool_above)
    try:
        for line in lines:
            spool.add(line)
        assert spool.size == sum(map(len, lines))
        assert asyncio.run(spool.content()) == b"".join(lines)
    finally:
        spool.close()


def test_a_cleared_spool_starts_empty() -> None:
    spool = Spool(spool_above=10)
    spool.add(b"x" * 100)
    spool.clear()
    spool.add(b"kept\r\n")
    assert asyncio.run(spool.content()) == b"kept\r\n"
    spool.close()
