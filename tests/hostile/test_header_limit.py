"""Issue 18, finding 3: a message header over MaxHeaderSize (256 KB) is refused while it is read, with
Exchange's `552 5.3.4 Header size exceeds fixed maximum size`, by DATA and by BDAT, and nothing is kept."""

from __future__ import annotations

import threading
import time

from hostile_kit import MX, Wire, bare, stored_messages

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.session import SessionLimits

LIMIT = SessionLimits().max_header_bytes
FOLDED = b"X-Padding: " + b"p" * 988 + b"\r\n" + b" " + b"q" * 997 + b"\r\n"  # a 2,000-byte folded field


def header_of(size: int, subject: str) -> bytes:
    """A header of about `size` bytes (folded padding fields), ending with its empty line."""
    start = f"From: printer@contoso.com\r\nTo: alex@contoso.com\r\nSubject: {subject}\r\n".encode()
    return start + FOLDED * max(0, (size - len(start)) // len(FOLDED)) + b"\r\n"


def mx_transaction(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo()
    assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
    assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
    return wire


def test_a_header_over_256_kb_is_refused_after_the_data_and_the_session_goes_on(lab: Lab) -> None:
    with mx_transaction(lab) as wire:
        assert bare(wire.data(header_of(LIMIT + 4000, "too-big") + b"body\r\n.\r\n")) == str(R.HEADER_TOO_BIG)
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert wire.data(header_of(1000, "next") + b"body\r\n.\r\n").startswith("250 2.6.0")
    assert [m.subject for m in stored_messages(lab)] == ["next"]


def test_a_header_just_under_the_limit_and_a_large_body_are_taken(lab: Lab) -> None:
    header = header_of(LIMIT - 3000, "under")
    assert len(header) <= LIMIT
    body = (b"b" * 998 + b"\r\n") * 2000  # 2 MB of body: not header
    with mx_transaction(lab) as wire:
        assert wire.data(header + body + b".\r\n").startswith("250 2.6.0")
    assert [m.subject for m in stored_messages(lab)] == ["under"]


def test_a_message_that_never_ends_its_header_is_all_header(lab: Lab) -> None:
    with mx_transaction(lab) as wire:
        endless = header_of(LIMIT + 4000, "endless")[:-2]  # no empty line anywhere
        assert bare(wire.data(endless + b".\r\n")) == str(R.HEADER_TOO_BIG)
    assert stored_messages(lab) == []


def test_bdat_refuses_the_chunk_that_crosses_the_limit_then_the_transaction_is_over(lab: Lab) -> None:
    header = header_of(LIMIT + 4000, "chunked-too-big")
    half = len(header) // 2
    with mx_transaction(lab) as wire:
        for chunk in (header[:half],):
            wire.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
            assert wire.last().startswith("250 2.0.0")
        rest = header[half:] + b"body\r\n"
        wire.send(f"BDAT {len(rest)}\r\n".encode() + rest)
        assert bare(wire.last()) == str(R.HEADER_TOO_BIG)
        wire.send(b"BDAT 4 LAST\r\nbody")
        assert wire.last().startswith("503 5.5.2 Need mail command")
    assert stored_messages(lab) == []


def test_bdat_with_the_end_of_the_header_split_across_chunks(lab: Lab) -> None:
    header = header_of(2000, "split-end")
    with mx_transaction(lab) as wire:
        first, second = header[:-3], header[-3:] + b"body\r\n"  # CR LF CR | LF: the empty line split
        wire.send(f"BDAT {len(first)}\r\n".encode() + first)
        assert wire.last().startswith("250 2.0.0")
        wire.send(f"BDAT {len(second)} LAST\r\n".encode() + second)
        assert wire.last().startswith("250 2.6.0")
    assert [m.subject for m in stored_messages(lab)] == ["split-end"]


def test_a_huge_header_does_not_hold_the_other_endpoints(lab: Lab) -> None:
    """20 MB of header on the MX: refused once read, while NOOPs on submission keep being answered."""
    answered: list[float] = []
    stop = threading.Event()

    def noops() -> None:
        with Wire(lab.endpoint("smtp.office365.com", 587)) as other:
            other.ehlo()
            while not stop.is_set():
                started = time.monotonic()
                assert other.cmd("NOOP").startswith("250")
                answered.append(time.monotonic() - started)
                time.sleep(0.05)

    thread = threading.Thread(target=noops)
    thread.start()
    try:
        with mx_transaction(lab) as wire:
            assert wire.cmd("DATA").startswith("354")
            for _ in range(10):
                wire.send(FOLDED * 1000)  # 2 MB at a time
            wire.send(b"\r\nbody\r\n.\r\n")
            assert bare(wire.last()) == str(R.HEADER_TOO_BIG)
    finally:
        stop.set()
        thread.join(30)
    assert answered and max(answered) < 5.0  # generous: the point is that they are answered at all
    assert stored_messages(lab) == []
