"""Session records: replies parsed, addresses read, JSON lines written whole and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow_lab.sessions import AuthAttempt, ReplySeen, SessionLog, SessionRecord, address_of, load_sessions


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
    assert ReplySeen.from_line(line) == ReplySeen(code, enhanced, text)


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
    assert record.auth[0].reply == ReplySeen(235, "2.7.0", "Authentication successful")
    (transaction,) = record.transactions
    assert transaction.mail_reply and transaction.mail_reply.code == 250
    assert transaction.recipients[0].reply == ReplySeen(250, "2.1.5", "Recipient OK")
    assert transaction.data_reply and transaction.data_reply.code == 250
    assert record.closing_reply == ReplySeen(421, "4.4.2", "Connection dropped")


def test_records_round_trip_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    log = SessionLog(tmp_path / "sessions.jsonl")
    first = SessionRecord("smtp.office365.com", 587, ehlo="a.local", cert_names=["relay.contoso.com"])
    first.auth.append(AuthAttempt("LOGIN", "scanner@contoso.com", ReplySeen(235, "2.7.0", "ok")))
    first.mail("scanner@contoso.com")
    first.rcpt("alex@contoso.com")
    log.append(first)
    log.append(SessionRecord("contoso-com.mail.protection.outlook.com", 25, implicit_tls=True))
    with open(log.path, "a", encoding="utf-8") as torn:
        torn.write('{"endpoint": "smtp.off')
    assert load_sessions(tmp_path) == [
        first,
        SessionRecord("contoso-com.mail.protection.outlook.com", 25, implicit_tls=True),
    ]
    assert log.records()[0].to_dict() == first.to_dict()
    assert load_sessions(tmp_path / "missing") == []


def test_a_report_read_right_after_a_send_has_that_send(tmp_path: Path) -> None:
    """The device's QUIT is answered before the server winds the session up: the report waits for it."""
    from mailflow_lab import Device, Lab
    from mailflow_lab.readiness import lab_readiness

    device = Device(
        name="copier",
        helo="copier.contoso.local",
        server="smtp.office365.com",
        port=587,
        tls="starttls",
        username="scanner@contoso.com",
        password="Scan#2026",
        sender="scanner@contoso.com",
    )
    for n in range(5):  # a fresh lab each time: its first session is the one most often still closing
        with Lab.start(state_dir=tmp_path / f"state-{n}") as lab:
            device.send(lab, to=["alex@contoso.com"], subject=f"scan {n}")
            report = lab_readiness(lab)
            assert report.device("copier.contoso.local").option("smtp-auth").status == "works"
