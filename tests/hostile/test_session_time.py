"""Issue 18, finding 4: no session lasts for ever. A session's total time (Exchange's ConnectionTimeout, 10
minutes) and a minimum data rate for DATA and BDAT end the dripping client, so its slot comes free."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import MX, Wire, bare, stored_messages

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.session import SessionLimits

TIMED_OUT = str(R.CONNECTION_TIMED_OUT)


def short_lab(tmp_path: Path, **limits: float) -> Lab:
    return Lab.start(state_dir=tmp_path / "state", limits=SessionLimits(**limits))  # type: ignore[arg-type]


@pytest.fixture
def timed_lab(tmp_path: Path) -> Iterator[Lab]:
    """Sessions of at most two seconds; uploads of at least 2,000 bytes a second after a one-second grace."""
    with short_lab(
        tmp_path, connection_timeout_s=2.0, data_rate_grace_s=1.0, min_data_rate_bps=2000.0
    ) as running:
        yield running
        assert running.runtime.errors == []


def into_data(wire: Wire) -> None:
    wire.ehlo()
    assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
    assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")


def test_a_busy_session_still_ends_at_the_connection_timeout(timed_lab: Lab) -> None:
    started = time.monotonic()
    with Wire(timed_lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        replies = []
        while time.monotonic() - started < 8:
            try:
                replies.append(bare(wire.cmd("NOOP")))
            except (EOFError, OSError):
                break
            if replies[-1] != "250 2.0.0 OK":
                break
            time.sleep(0.2)
        assert replies[-1] == TIMED_OUT, replies[-3:]
        assert wire.closed()
    assert 1.8 < time.monotonic() - started < 8


def test_a_data_upload_that_drips_is_ended_and_keeps_nothing(timed_lab: Lab) -> None:
    with Wire(timed_lab.endpoint(MX, 25)) as wire:
        into_data(wire)
        assert wire.cmd("DATA").startswith("354")
        wire.send(b"Subject: drip\r\n\r\n")
        for _ in range(40):
            try:
                wire.send(b"x")
            except OSError:
                break
            time.sleep(0.1)
            if wire._buffer or wire.closed(wait_s=0.01):
                break
        assert TIMED_OUT in [bare(line) for line in wire.rest()], wire.rest()
    assert stored_messages(timed_lab) == []


def test_a_bdat_chunk_that_drips_is_ended(timed_lab: Lab) -> None:
    with Wire(timed_lab.endpoint(MX, 25)) as wire:
        into_data(wire)
        wire.send(b"BDAT 100000 LAST\r\nSubject: drip\r\n\r\n")
        closed = False
        for _ in range(40):
            try:
                wire.send(b"y")
            except OSError:
                break
            if wire.closed(wait_s=0.1):
                closed = True
                break
        assert closed and TIMED_OUT in [bare(line) for line in wire.rest()], wire.rest()
    assert stored_messages(timed_lab) == []


def test_a_fast_upload_after_the_grace_is_not_ended(tmp_path: Path) -> None:
    with short_lab(tmp_path, data_rate_grace_s=0.5, min_data_rate_bps=2000.0) as lab:
        with Wire(lab.endpoint(MX, 25)) as wire:
            into_data(wire)
            assert wire.cmd("DATA").startswith("354")
            wire.send(b"Subject: steady\r\n\r\n")
            for _ in range(8):  # 2 s at about 40 KB a second
                wire.send(b"z" * 4000 + b"\r\n")
                time.sleep(0.1)
            wire.send(b".\r\n")
            assert wire.last().startswith("250 2.6.0")
        assert [m.subject for m in stored_messages(lab)] == ["steady"]


def test_dripping_clients_no_longer_hold_every_slot_of_an_address(tmp_path: Path) -> None:
    """Three clients dripping a byte now and then hold the three slots of the address, for at most the
    session's total time: then the next client gets in."""
    with short_lab(tmp_path, connection_timeout_s=2.0, max_connections_per_address=3) as lab:
        held = [Wire(lab.endpoint(MX, 25)) for _ in range(3)]
        try:
            with Wire(lab.endpoint(MX, 25)) as refused:
                assert refused.banner[-1].startswith("421 4.3.2")
            deadline = time.monotonic() + 10
            while not all(w.closed(wait_s=0.05) for w in held) and time.monotonic() < deadline:
                for wire in held:
                    try:
                        wire.send(b"N")  # a byte now and then: it restarts the idle timer, not this one
                    except OSError:
                        pass
                time.sleep(0.2)
            assert all(TIMED_OUT in [bare(line) for line in w.rest()] for w in held)
            with Wire(lab.endpoint(MX, 25)) as admitted:
                assert admitted.banner[-1].startswith("220 ")
        finally:
            for wire in held:
                wire.close()


def test_the_defaults_are_exchanges() -> None:
    limits = SessionLimits()
    assert limits.connection_timeout_s == 600.0  # ConnectionTimeout, 00:10:00
    assert limits.max_header_bytes == 262144  # MaxHeaderSize, 256 KB
