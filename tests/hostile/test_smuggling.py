"""SMTP smuggling: end-of-data look-alikes never split one message into two.

aiosmtpd ends DATA only at <CRLF>.<CRLF> (it reads lines up to CRLF; a line is the end only when it is
exactly ".\\r\\n" and no fragment of a longer line precedes it), so every variant below stays inside the
first message. Relaying such a message out, Microsoft 365 refuses bare line feeds over DATA with
550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal (KB 2998901) and bounces it; bare CRs pass through unchanged
and still arrive as one message.
"""

from __future__ import annotations

import pytest
from hostile_kit import FABRIKAM, MX, Wire, stored_messages
from hostile_kit import signed_in as open_submission

from mailflow_lab import Lab

# The look-alikes of the SMTP smuggling research (SEC Consult, Dec 2023) and a few more.
IMPOSTERS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "crlf-dot-cr": b"\r\n.\r",
    "cr-crlf-dot-cr-crlf": b"\r\r\n.\r\r\n",
    "crlf-nul-dot-crlf": b"\r\n\x00.\r\n",
    "crlf-space-dot-crlf": b"\r\n .\r\n",
}
BARE_LF = {"lf-dot-lf", "lf-dot-crlf", "crlf-dot-lf"}


def payload(name: str, sender: str, smuggled_sender: str, to: str) -> bytes:
    """A first message, the look-alike, then a whole second SMTP transaction, then the real end."""
    first = f"From: {sender}\r\nTo: {to}\r\nSubject: first:{name}\r\n\r\nhello".encode()
    second = (
        f"MAIL FROM:<{smuggled_sender}>\r\nRCPT TO:<{to}>\r\nDATA\r\n"
        f"From: {smuggled_sender}\r\nTo: {to}\r\nSubject: smuggled:{name}\r\n\r\nspoofed\r\n"
    ).encode()
    return first + IMPOSTERS[name] + second + b".\r\n"


def open_mx(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo()
    return wire


def open_fabrikam(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(FABRIKAM, 25))
    wire.ehlo()
    return wire


ENDPOINTS = {
    # id: (opener, sender, smuggled sender, recipient)
    "mx": (open_mx, "printer@contoso.com", "ceo@contoso.com", "alex@contoso.com"),
    "submission": (open_submission, "scanner@contoso.com", "alex@contoso.com", "alex@contoso.com"),
    "fabrikam": (open_fabrikam, "partner@contoso.com", "ceo@fabrikam.com", "pat@fabrikam.com"),
}


def send_one(wire: Wire, data: bytes, sender: str, to: str) -> tuple[str, str]:
    """One transaction; returns (the reply to the data, the reply to the QUIT after it)."""
    assert wire.cmd(f"MAIL FROM:<{sender}>").startswith("250")
    assert wire.cmd(f"RCPT TO:<{to}>").startswith("250")
    assert wire.cmd("DATA").startswith("354")
    wire.send(data)
    final = wire.last()
    # Were a second transaction smuggled in, its replies (250 Sender OK...) would come before 221.
    return final, wire.cmd("QUIT")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_look_alikes_never_end_the_data(lab: Lab, endpoint: str) -> None:
    opener, sender, smuggled, to = ENDPOINTS[endpoint]
    for name in IMPOSTERS:
        with opener(lab) as wire:
            final, quit_reply = send_one(wire, payload(name, sender, smuggled, to), sender, to)
        assert final.startswith("250 "), (name, final)
        assert quit_reply.startswith("221 2.0.0"), (name, quit_reply)
    stored = [s for s in stored_messages(lab) if s.mailbox == to]
    assert sorted(s.subject for s in stored) == sorted(f"first:{name}" for name in IMPOSTERS)
    for copy in stored:
        name = copy.subject.partition(":")[2]
        assert f"Subject: smuggled:{name}".encode() in copy.raw  # still inside the first message
        assert copy.raw.endswith(b"spoofed\r\n")
    assert not [s for s in stored_messages(lab) if s.subject.startswith("smuggled")]
    assert not [r for r in lab.message_trace() if r.subject.startswith("smuggled")]
    assert len([r for r in lab.message_trace() if r.recipient_address == to]) == (
        len(IMPOSTERS) if endpoint != "fabrikam" else 0  # Fabrikam keeps no Microsoft 365 trace
    )


def test_relaying_out_bare_line_feeds_bounces_with_5_6_11(lab: Lab) -> None:
    """Internal copies keep the bytes; the hand-off to Fabrikam over DATA is refused, with an NDR."""
    for name in IMPOSTERS:
        with open_submission(lab) as wire:
            data = payload(name, "scanner@contoso.com", "alex@contoso.com", "pat@fabrikam.com")
            final, quit_reply = send_one(wire, data, "scanner@contoso.com", "pat@fabrikam.com")
        assert final.startswith("250 2.0.0 OK"), (name, final)
        assert quit_reply.startswith("221")
    at_fabrikam = sorted(s.subject for s in stored_messages(lab) if s.mailbox == "pat@fabrikam.com")
    assert at_fabrikam == sorted(f"first:{name}" for name in IMPOSTERS if name not in BARE_LF)
    for copy in stored_messages(lab):
        if copy.mailbox == "pat@fabrikam.com":
            assert copy.raw.count(b"Subject: smuggled:") == 1  # one message, the look-alike inside it
    bounces = [s for s in stored_messages(lab) if s.subject.startswith("Undeliverable: first:")]
    assert sorted(s.subject.partition(": ")[2] for s in bounces) == sorted(f"first:{n}" for n in BARE_LF)
    assert all(b"550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal" in s.raw for s in bounces)
    failed = {r.subject: r for r in lab.message_trace() if r.status == "Failed"}
    assert sorted(failed) == sorted(f"first:{n}" for n in BARE_LF)
    for record in failed.values():
        assert record.events[-1].rule == "relay.bare-linefeeds"
        assert "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal" in record.events[-1].detail
    sent_items = [s for s in stored_messages(lab) if s.folder == "Sent Items"]
    assert len(sent_items) == len(IMPOSTERS)  # the sender's copy of each, bare line feeds and all


@pytest.mark.parametrize("length", [12284, 12285, 12286, 12287, 12288, 12289, 12290, 12291])
def test_a_dot_at_the_edge_of_an_overlong_line_is_not_an_end(lab: Lab, length: int) -> None:
    """aiosmtpd reads a line longer than its limit in fragments: a fragment ".\\r\\n" is no end."""
    with open_mx(lab) as wire:
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert wire.cmd("DATA").startswith("354")
        smuggled = (
            b"MAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<alex@contoso.com>\r\nDATA\r\nSubject: smuggled\r\n"
        )
        wire.send(b"Subject: long\r\n\r\n" + b"A" * length + b".\r\n" + smuggled + b"\r\n.\r\n")
        final = wire.last()
        assert final.startswith(("250 2.6.0", "500 5.3.3 Line too long")), final
        assert wire.cmd("QUIT").startswith("221")
    subjects = [s.subject for s in stored_messages(lab)]
    assert subjects in ([], ["long"])
    assert "smuggled" not in subjects
