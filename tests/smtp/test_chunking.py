"""BDAT (RFC 3030 CHUNKING) over real sockets, driven by a raw client: every endpoint that advertises it."""

from __future__ import annotations

import re

import pytest
from hostile_kit import MX, SCANNER, Wire, signed_in, stored_messages

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.submission import SubmissionLimits

SUFFIX = re.compile(r" \[\S+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ([0-9A-F]{16})\]$")


def body(subject: str, extra: bytes = b"") -> bytes:
    return (
        f"From: printer@contoso.com\r\nTo: alex@contoso.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@chunk.test>\r\n\r\n"
    ).encode() + extra


def mx_transaction(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    assert wire.ehlo("printer.contoso.local")[-1].startswith("250 ")
    assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250 ")
    assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250 ")
    return wire


def bdat(wire: Wire, chunk: bytes, last: bool = False) -> str:
    wire.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
    return wire.last()


def stored(lab: Lab, subject: str) -> list[bytes]:
    return [m.raw for m in stored_messages(lab) if m.subject == subject]


def test_chunks_are_data_never_commands_and_last_gets_the_mx_reply(lab: Lab) -> None:
    # The first chunk holds what would be a second, forged transaction if it were read as commands.
    forged = b"\r\n.\r\nRSET\r\nMAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<helpdesk@contoso.com>\r\nDATA\r\n"
    first = body("chunked", b"part one" + forged)
    second = b"..a line that starts with a dot stays as it is\r\n"
    with mx_transaction(lab) as wire:
        assert bdat(wire, first) == str(R.chunk_received(len(first)))
        last = bdat(wire, second, last=True)
        assert last.startswith("250 2.6.0 <chunked@chunk.test> ") and "Queued mail for delivery" in last
        assert wire.cmd("QUIT").startswith("221 ")
    [raw] = stored(lab, "chunked")
    assert raw.endswith(first[first.index(b"\r\n\r\n") + 4 :] + second)  # no dot-unstuffing, nothing cut
    assert not [m for m in stored_messages(lab) if m.mailbox == "helpdesk@contoso.com"]


def test_pipelined_bdat_then_quit_in_one_write(lab: Lab) -> None:
    content = body("pipelined", b"hello\r\n")
    with mx_transaction(lab) as wire:
        wire.send(f"BDAT {len(content)} LAST\r\n".encode() + content + b"QUIT\r\n")
        assert wire.last().startswith("250 2.6.0 ")
        assert wire.last().startswith("221 ")
    assert len(stored(lab, "pipelined")) == 1


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([], R.NEED_MAIL),
        (["MAIL FROM:<printer@contoso.com>"], R.NEED_RCPT),
        (["MAIL FROM:<printer@contoso.com>", "RCPT TO:<nobody@contoso.com>"], R.NEED_RCPT),
    ],
    ids=["no-mail", "no-rcpt", "every-rcpt-refused"],
)
def test_bdat_out_of_sequence_is_refused_and_its_chunk_read(
    lab: Lab, commands: list[str], expected: R.Reply
) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo("printer.contoso.local")
        for command in commands:
            wire.cmd(command)
        reply = bdat(wire, b"NOOP\r\nNOOP\r\n", last=True)
        assert R.without_diagnostics(reply) == str(expected)
        assert SUFFIX.search(reply)
        # The chunk's bytes were read as data: the next reply is to this RSET, not to a NOOP inside it.
        assert wire.cmd("RSET") == str(R.RSET)


def test_data_after_bdat_and_rset_in_between(lab: Lab) -> None:
    with mx_transaction(lab) as wire:
        assert bdat(wire, b"Subject: half\r\n").startswith("250 ")
        assert R.without_diagnostics(wire.cmd("DATA")) == str(R.BAD_SEQUENCE_MAIL)
        assert wire.cmd("RSET") == str(R.RSET)
        # After RSET the half-sent chunks are gone: a new transaction starts clean.
        wire.cmd("MAIL FROM:<printer@contoso.com>")
        wire.cmd("RCPT TO:<alex@contoso.com>")
        assert bdat(wire, body("after-rset"), last=True).startswith("250 2.6.0 ")
    [raw] = stored(lab, "after-rset")
    assert b"half" not in raw


def test_binarymime_needs_bdat_and_arrives_byte_for_byte(lab: Lab) -> None:
    binary = b"\x00\x01\xff bare\nline feeds\n and no CRLF at the end"
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo("printer.contoso.local")
        assert wire.cmd("MAIL FROM:<printer@contoso.com> BODY=BINARYMIME").startswith("250 ")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250 ")
        assert R.without_diagnostics(wire.cmd("DATA")) == str(R.BINARYMIME_NEEDS_BDAT)
        assert bdat(wire, body("binary", binary), last=True).startswith("250 2.6.0 ")
    [raw] = stored(lab, "binary")
    assert raw.endswith(binary)


def test_client_leaving_mid_chunk_leaves_nothing(lab: Lab) -> None:
    with mx_transaction(lab) as wire:
        wire.send(b"BDAT 1000 LAST\r\n" + body("half-sent", b"only part of it"))
    lab._servers.settle()
    assert stored(lab, "half-sent") == []


def test_malformed_bdat_closes_the_session(lab: Lab) -> None:
    with mx_transaction(lab) as wire:
        wire.send(b"BDAT lots LAST\r\nRSET\r\n")
        assert R.without_diagnostics(wire.last()) == str(R.SYNTAX_ERROR)
        assert wire.closed()
        assert wire.rest() == []  # nothing after the 501 was read as a command


def submission(lab: Lab) -> Wire:
    return signed_in(lab, "scanner.contoso.local")


def test_submission_applies_send_as_to_a_chunked_message(lab: Lab) -> None:
    with submission(lab) as wire:
        wire.cmd(f"MAIL FROM:<{SCANNER[0]}>")
        wire.cmd("RCPT TO:<alex@contoso.com>")
        reply = bdat(wire, body("not-mine"), last=True)  # From: printer@contoso.com, no SendAs
        assert reply.startswith("554 5.2.252 SendAsDenied; ")
        wire.cmd("RCPT TO:<alex@contoso.com>")  # the transaction is over: a new one needs MAIL first
        content = body("mine").replace(b"printer@contoso.com", SCANNER[0].encode())
        wire.cmd(f"MAIL FROM:<{SCANNER[0]}>")
        wire.cmd("RCPT TO:<alex@contoso.com>")
        assert bdat(wire, content[:40]) == str(R.chunk_received(40))
        assert bdat(wire, content[40:], last=True).startswith("250 2.0.0 OK <mine@chunk.test> [Hostname=")
    assert stored(lab, "not-mine") == []
    assert len(stored(lab, "mine")) == 2  # Alex's Inbox and the scanner's Sent Items


def test_submission_over_max_send_size_is_refused_by_the_store(tmp_path: object) -> None:
    limits = SubmissionLimits(max_send_size=2000)
    with Lab.start(state_dir=tmp_path / "state", submission_limits=limits) as lab:  # type: ignore[operator]
        with submission(lab) as wire:
            assert wire.cmd(f"MAIL FROM:<{SCANNER[0]}> SIZE=5000").startswith("250 ")  # under SIZE: taken
            wire.cmd("RCPT TO:<alex@contoso.com>")
            big = body("big").replace(b"printer@contoso.com", SCANNER[0].encode()) + b"x" * 3000
            reply = bdat(wire, big, last=True)
            assert R.without_diagnostics(reply) == str(R.MAX_SUBMISSION_EXCEEDED)
        assert stored(lab, "big") == []
        assert lab.runtime.errors == []


def test_a_device_that_chunks_like_mailkit(lab: Lab) -> None:
    """Device(chunking=True) sends one BDAT LAST when CHUNKING is offered; the MX treats it as DATA."""
    from mailflow_lab import Device

    app = Device(
        "Invoice app", server=MX, port=25, tls="starttls", sender="printer@contoso.com", chunking=True
    )
    result = app.send(lab, to="alex@contoso.com", subject="chunked invoice")
    assert result.accepted and result.reply is not None and result.reply.enhanced == "2.6.0"
    sent = [line.text for line in result.transcript.lines]
    assert any(text.startswith("BDAT ") and text.endswith(" LAST") for text in sent)
    assert not any(text == "DATA" for text in sent)
    assert result.outcome["alex@contoso.com"].where in ("Inbox", "Junk Email")
