"""Session records as the lab notes them: replies parsed, addresses read, mechanism names checked."""

from __future__ import annotations

import pytest

from mailflow_lab.policy.observed import AuthAttempt, SessionRecord, address_of, mechanism_name
from mailflow_lab.policy.replies import Reply


@pytest.mark.parametrize(
    ("line", "code", "enhanced", "text"),
    [
        ("250 2.1.0 Sender OK", 250, "2.1.0", "Sender OK"),
        (
            "354 Start mail input; end with <CRLF>.<CRLF>",
            354,
            None,
            "Start mail input; end with <CRLF>.<CRLF>",
        ),
        (
            "421 4.7.66 TLS 1.0 and 1.1 are not supported.",
            421,
            "4.7.66",
            "TLS 1.0 and 1.1 are not supported.",
        ),
        ("250 OK", 250, None, "OK"),
    ],
)
def test_reply_lines(line: str, code: int, enhanced: str | None, text: str) -> None:
    assert Reply.from_text(line) == Reply(code, enhanced, text)


@pytest.mark.parametrize(
    ("arg", "address"),
    [("FROM:<a@contoso.com> SIZE=10", "a@contoso.com"), ("TO:<>", ""), ("FROM: b@x.y", "b@x.y"), (None, "")],
)
def test_address_of(arg: str | None, address: str) -> None:
    assert address_of(arg) == address


def test_a_session_notes_final_replies_only() -> None:
    record = SessionRecord("smtp.office365.com", 587)
    record.reply("EHLO", "250-host Hello [1.2.3.4]")  # a continuation line: nothing to note
    record.auth.append(AuthAttempt("LOGIN"))
    record.reply("AUTH", "334 VXNlcm5hbWU6")
    record.reply("AUTH", "235 2.7.0 Authentication successful")
    record.mail("scanner@contoso.com")
    record.reply("MAIL", "250 2.1.0 Sender OK")
    record.rcpt("alex@contoso.com")
    record.reply("RCPT", "250 2.1.5 Recipient OK")
    record.reply("DATA", "354 Start mail input; end with <CRLF>.<CRLF>")
    record.reply("DATA", "250 2.0.0 OK <id> [Hostname=x]")
    record.reply("QUIT", "421 4.4.2 Connection dropped")
    assert record.auth[0].reply == Reply(235, "2.7.0", "Authentication successful")
    (transaction,) = record.transactions
    assert transaction.mail_reply and transaction.mail_reply.code == 250
    assert transaction.recipients[0].reply == Reply(250, "2.1.5", "Recipient OK")
    assert transaction.data_reply and transaction.data_reply.code == 250
    assert record.closing_reply == Reply(421, "4.4.2", "Connection dropped")


@pytest.mark.parametrize(
    ("word", "recorded"),
    [
        ("LOGIN", "LOGIN"),
        ("login", "LOGIN"),
        ("XOAUTH2", "XOAUTH2"),
        ("cram-md5", "CRAM-MD5"),
        ("SCRAM-SHA-256", "SCRAM-SHA-256"),
        ("Scan#2026", "(unrecognised)"),  # a password typed where the mechanism goes
        ("c2Nhbm5lcg==", "(unrecognised)"),
        ("LOGINX", "(unrecognised)"),
        ("", "(unrecognised)"),
    ],
)
def test_only_a_known_sasl_mechanism_name_is_recorded(word: str, recorded: str) -> None:
    assert mechanism_name(word) == recorded
