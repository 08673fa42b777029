"""Large messages are not copied needlessly on their way to disk (issue 22), and arrive byte for byte."""

from __future__ import annotations

from pathlib import Path

from mailflow_lab.delivery.headers import strip_headers
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
