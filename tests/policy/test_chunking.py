"""CHUNKING policy (RFC 3030): BDAT arguments, sequence, DATA after BDAT, size."""

from __future__ import annotations

import pytest

from mailflow_lab.policy import chunking
from mailflow_lab.policy import replies as R


@pytest.mark.parametrize(
    ("arg", "chunk"),
    [
        ("0 LAST", chunking.Chunk(0, True)),
        ("4096", chunking.Chunk(4096, False)),
        ("12 last", chunking.Chunk(12, True)),
        ("7  LAST ", chunking.Chunk(7, True)),
        ("", None),
        (None, None),
        ("LAST", None),
        ("-1 LAST", None),
        ("1e3", None),
        ("12 FIRST", None),
        ("1234567890123", None),  # more digits than any size the lab would take
        ("10 LAST\r\nRSET", None),
    ],
)
def test_parse_bdat(arg: str | None, chunk: chunking.Chunk | None) -> None:
    assert chunking.parse_bdat(arg) == chunk


def test_malformed_is_a_syntax_error() -> None:
    assert chunking.malformed("x").reply == R.SYNTAX_ERROR


@pytest.mark.parametrize(
    ("greeted", "has_sender", "recipients", "reply"),
    [
        (False, False, 0, R.SEND_HELLO_FIRST),
        (True, False, 0, R.NEED_MAIL),
        (True, False, 3, R.NEED_MAIL),
        (True, True, 0, R.NEED_RCPT),
        (True, True, 1, None),
    ],
)
def test_sequence(greeted: bool, has_sender: bool, recipients: int, reply: R.Reply | None) -> None:
    found = chunking.sequence_problem(greeted=greeted, has_sender=has_sender, recipients=recipients)
    assert (found.reply if found else None) == reply


@pytest.mark.parametrize(
    ("has_sender", "chunked", "binarymime", "reply"),
    [
        (False, False, False, R.NEED_MAIL),
        (True, True, False, R.BAD_SEQUENCE_MAIL),
        (True, False, True, R.BINARYMIME_NEEDS_BDAT),
        (True, True, True, R.BAD_SEQUENCE_MAIL),
        (True, False, False, None),
    ],
)
def test_data_problem(has_sender: bool, chunked: bool, binarymime: bool, reply: R.Reply | None) -> None:
    found = chunking.data_problem(has_sender=has_sender, chunked=chunked, binarymime=binarymime)
    assert (found.reply if found else None) == reply


@pytest.mark.parametrize(
    ("total", "limit", "refused"),
    [(100, 100, False), (101, 100, True), (10**9, 0, False), (R.MAX_MESSAGE_SIZE_ADVERTISED + 1,
     R.MAX_MESSAGE_SIZE_ADVERTISED, True)],
)  # fmt: skip
def test_too_big(total: int, limit: int, refused: bool) -> None:
    found = chunking.too_big(total, limit)
    assert (found is not None) == refused
    if found:
        assert found.reply == R.MESSAGE_TOO_BIG


def test_chunk_acknowledgement() -> None:
    assert str(R.chunk_received(4096)) == "250 2.0.0 4096 bytes received"
