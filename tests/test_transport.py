"""The transport's header reading: only the header block counts, read once per message."""

from __future__ import annotations

import email.utils
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

import pytest

from mailflow_lab.delivery.headers import header_block, headers_of

MESSAGE = (
    b"From: Lobby Scanner <Scanner@Contoso.com>\r\nSubject: =?utf-8?q?Scan_f=C3=BCr_Alex?=\r\n"
    b"Message-ID:  <1@contoso.com> \r\n\r\nFrom: someone@else.example\r\n\r\nSubject: not a header\r\n"
)


@pytest.mark.parametrize(
    ("content", "block"),
    [
        (MESSAGE, MESSAGE[: MESSAGE.index(b"\r\n\r\n") + 4]),
        (b"From: a@b.example\nSubject: x\n\nbody\n\nmore", b"From: a@b.example\nSubject: x\n\n"),
        (b"From: a@b.example\r\nSubject: no body", b"From: a@b.example\r\nSubject: no body"),
        (b"", b""),
    ],
)
def test_header_block_ends_at_the_first_blank_line(content: bytes, block: bytes) -> None:
    assert header_block(content) == block


def test_headers_of_reads_the_header_block_only() -> None:
    assert headers_of(MESSAGE) == ("Scan für Alex", "scanner@contoso.com", "<1@contoso.com>")
    assert headers_of(MESSAGE) is headers_of(bytes(MESSAGE))  # parsed once, however often asked


@pytest.mark.parametrize(
    "head",
    [
        b"From: =?utf-8?b?w6k=?= <X@Contoso.com>\r\nSubject: plain\r\n folded line\r\n"
        b"Message-ID:  <a@b> \r\n\r\n",
        b"Subject: =?bogus?q?abc?=\r\nFrom: a@b.c\r\n\r\n",
        b'Subject: caf\xc3\xa9 raw 8bit\r\nFrom: "Q, R" <q@r.s>\r\n\r\n',
        b"no headers at all",
        b"Subject: =?utf-8?q?broken\r\n\r\n",
        b"Subject: =?utf-8?q?Scan_caf=C3=A9?= 42 =?iso-8859-1?q?=E9t=E9?=\r\n\r\n",
        b"Subject: a\r\n\tb\n c\r\nFrom: x@y.z\r\n\r\n",
        b"Subject: bad \xff\xfe bytes\r\n\r\n",
    ],
)
def test_headers_read_as_the_default_policy_reads_them(head: bytes) -> None:
    """The fast header reading gives the strings the email package's default policy gives."""
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(head)
    expected = (
        str(parsed.get("Subject", "") or ""),
        email.utils.parseaddr(str(parsed.get("From", "") or ""))[1].lower(),
        str(parsed.get("Message-ID", "") or "").strip(),
    )
    assert headers_of(head + b"body") == expected
