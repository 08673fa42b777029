"""The SMTP glue's translation of aiosmtpd's replies and parameters into Exchange Online's (no sockets)."""

from __future__ import annotations

import logging

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.smtp import translate


@pytest.mark.parametrize(
    ("status", "command", "sent"),
    [
        (R.SENDER_OK, None, "250 2.1.0 Sender OK"),
        ("501 Error: BODY can only be one of 7BIT, 8BITMIME", "MAIL", "501 5.5.4 Unsupported BODY type"),
        (
            "555 MAIL FROM parameters not recognized or not implemented",
            "MAIL",
            "501 5.5.4 Unrecognized parameter",
        ),
        ("553 5.1.3 Error: malformed address", "MAIL", "501 5.1.7 Invalid address"),
        ("553 5.1.3 Error: malformed address", "RCPT", "501 5.1.3 Invalid address"),
        ('500 Error: command "FOO" not recognized', None, "500 5.3.3 Unrecognized command 'FOO'"),
        ('500 Error: command "\x01" not recognized', None, "500 5.3.3 Unrecognized command 'unknown'"),
        ("500 Error: bad syntax", None, "500 5.3.3 Unrecognized command 'unknown'"),
        ("503 Error: need MAIL command", "RCPT", "503 5.5.2 Need mail command"),
        ("503 Error: need RCPT command", None, "503 5.5.2 Need rcpt command"),
        ("503 Error: nested MAIL command", "MAIL", "503 5.5.2 Sender already specified"),
        ("503 Error: send HELO first", "MAIL", "503 5.5.2 Send hello first"),
        ("501 Syntax: HELO hostname", None, "501 5.5.4 Invalid arguments"),
        (b"250 OK", None, "250 2.0.0 OK"),  # aiosmtpd's NOOP, as bytes
        ("250 echo\r\n550 injected", None, "250 echo  550 injected"),  # one line, whatever was echoed
    ],
)
def test_reply_line(status: object, command: str | None, sent: str) -> None:
    assert translate.reply_line(status, command) == sent


def test_a_reply_line_is_cut_at_exchanges_longest() -> None:
    assert len(translate.reply_line("250 " + "x" * 5000)) == translate.MAX_REPLY_LINE


def test_wire_ends_in_crlf() -> None:
    assert translate.wire(R.IDLE_TIMEOUT) == b"451 4.7.0 Timeout waiting for client input\r\n"


@pytest.mark.parametrize(
    ("arg", "dsn", "binarymime", "kept"),
    [
        ("FROM:<a@b.c> RET=HDRS ENVID=x SIZE=10", translate.DSN_MAIL_PARAMS, True, "FROM:<a@b.c> SIZE=10"),
        ("FROM:<a@b.c> BODY=BINARYMIME", translate.DSN_MAIL_PARAMS, True, "FROM:<a@b.c> BODY=8BITMIME"),
        ("TO:<a@b.c> NOTIFY=NEVER ORCPT=rfc822;a@b.c", translate.DSN_RCPT_PARAMS, False, "TO:<a@b.c>"),
        ("TO:<a@b.c> BODY=BINARYMIME", translate.DSN_RCPT_PARAMS, False, "TO:<a@b.c> BODY=BINARYMIME"),
        (None, translate.DSN_MAIL_PARAMS, True, None),
    ],
)
def test_strip_params(arg: str | None, dsn: tuple[str, ...], binarymime: bool, kept: str | None) -> None:
    assert translate.strip_params(arg, dsn, binarymime) == kept


@pytest.mark.parametrize(
    ("message", "logged"),
    [("%r >> %r", False), ("DATA readline: %s", False), ("%r MAIL FROM: %s", True)],
)
def test_client_lines_stay_out_of_aiosmtpds_log(message: str, logged: bool) -> None:
    record = logging.LogRecord("mail.log", logging.INFO, __file__, 1, message, None, None)
    assert translate.CLIENT_LINES_FILTER.filter(record) is logged
    assert translate.CLIENT_LINES_FILTER in logging.getLogger("mail.log").filters
