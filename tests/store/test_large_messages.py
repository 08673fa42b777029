"""Large messages are not copied needlessly on their way to disk (issue 22), and arrive byte for byte."""

from __future__ import annotations

import smtplib
from pathlib import Path

from mailflow_lab import Lab
from mailflow_lab.delivery.headers import strip_headers
from mailflow_lab.smtp.spool import SPOOL_ABOVE
from mailflow_lab.store.mailstore import MailStore

MESSAGE = (
    b"From: a@contoso.com\r\nBcc: secret@contoso.com\r\n\tfolded\r\nSubject: s\r\n"
    b"\r\nbody\r\n.dot\nlf only\r\n"
)


def test_a_message_is_filed_byte_for_byte(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "store")
    key = store.deliver("alex@contoso.com", "Inbox", MESSAGE)
    new = tmp_path / "store" / "mailboxes" / "alex@contoso.com" / "Inbox" / "new"
    [written] = list(new.glob(key + "*"))
    assert written.read_bytes() == MESSAGE


def test_nothing_to_strip_returns_the_message_itself() -> None:
    assert strip_headers(MESSAGE, "X-MS-Exchange-Organization-") is MESSAGE


def test_stripping_drops_the_header_and_its_folded_lines_and_keeps_the_rest() -> None:
    stripped = strip_headers(MESSAGE, "Bcc")
    assert stripped == b"From: a@contoso.com\r\nSubject: s\r\n\r\nbody\r\n.dot\nlf only\r\n"
    assert isinstance(stripped, bytes)


def test_a_message_larger_than_the_spool_threshold_arrives_whole(lab: Lab) -> None:
    """Over SPOOL_ABOVE, DATA keeps the message in a scratch file; the copy filed is still byte for byte."""
    body = b"".join(f"{n:08d} ".encode() + b"y" * 90 + b"\r\n" for n in range(60_000))  # about 6 MB
    body += b"..a line that starts with dots\r\n"
    assert len(body) > SPOOL_ABOVE
    message = b"From: app@contoso.com\r\nTo: alex@contoso.com\r\nSubject: big one\r\n\r\n" + body
    with smtplib.SMTP(*lab.endpoint(lab.mx_host, 25), local_hostname="app.contoso.com") as client:
        client.sendmail("app@contoso.com", ["alex@contoso.com"], message)
    mailbox = lab.runtime.store.root / "mailboxes" / "alex@contoso.com"
    [filed] = [path for path in mailbox.glob("*/new/*")]
    assert filed.read_bytes().endswith(b"Subject: big one\r\n\r\n" + body)
