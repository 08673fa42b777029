"""The transport's header reading: only the header block counts, read once per message."""

from __future__ import annotations

import pytest

from mailflow_lab.transport import header_block, headers_of

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
