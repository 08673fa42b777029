"""smtp.office365.com over real sockets: each behaviour of SMTP AUTH client submission, driven by smtplib."""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.submission import SubmissionLimits

SUBMISSION = ("smtp.office365.com", 587)
SCANNER = {"username": "scanner@contoso.com", "password": "Scan#2026", "sender": "scanner@contoso.com"}


def device(**overrides: object) -> Device:
    settings: dict[str, object] = {
        "name": "Test scanner",
        "server": "smtp.office365.com",
        "port": 587,
        "tls": "starttls",
        **SCANNER,
    }
    settings.update(overrides)
    return Device(**settings)  # type: ignore[arg-type]


def all_messages(lab: Lab) -> list[str]:
    """Subjects of every message in every mailbox folder of the lab, and the quarantine."""
    subjects = []
    addresses = [m.address for m in lab.world.tenant.mailboxes] + [
        a for org in lab.world.outside for a in org.mailboxes
    ]
    for address in addresses:
        view = lab.mailbox(address)
        for folder in view.folders():
            subjects += [str(m["Subject"]) for m in view.folder(folder)]
    subjects += [str(m["Subject"]) for m in lab.quarantine()]
    return subjects


@contextmanager
def session(lab: Lab, endpoint: tuple[str, int] = SUBMISSION) -> Iterator[smtplib.SMTP]:
    host, port = lab.endpoint(*endpoint)
    client = smtplib.SMTP(host, port, local_hostname="test.local", timeout=10)
    client._host = endpoint[0]  # smtplib checks the certificate against the name it connected to
    try:
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def starttls(lab: Lab, client: smtplib.SMTP, **versions: ssl.TLSVersion) -> None:
    client.ehlo()
    context = lab.ca.client_context(**versions)
    code, _ = client.starttls(context=context)
    assert code == 220
    client.ehlo()


def auth_login(client: smtplib.SMTP, user: str, password: str) -> tuple[int, bytes]:
    code, text = client.docmd("AUTH", "LOGIN " + base64.b64encode(user.encode()).decode())
    if code == 334:
        code, text = client.docmd(base64.b64encode(password.encode()).decode())
    return code, text


def test_scanner_sends_to_an_internal_mailbox(lab: Lab) -> None:
    result = device().send(lab, to=["alex@contoso.com"], subject="Scan 1")
    assert result.accepted
    assert result.reply is not None and (result.reply.code, result.reply.enhanced) == (250, "2.0.0")
    assert re.fullmatch(r"OK <[^>]+> \[Hostname=[A-Z0-9.]+\]", result.reply.text)
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    assert [m["Subject"] for m in lab.mailbox("alex@contoso.com").folder("Inbox")] == ["Scan 1"]
    assert [m["Subject"] for m in lab.mailbox("scanner@contoso.com").folder("Sent Items")] == ["Scan 1"]
    (record,) = lab.message_trace()
    assert (record.status, record.from_ip, record.sender_address) == (
        "Delivered",
        "203.0.113.10",
        "scanner@contoso.com",
    )
    assert [e.event for e in record.events][-1] == "DELIVER"
    assert "Scan#2026" not in result.transcript.text()


def test_scanner_sends_to_fabrikam_signed_and_passing_dmarc(lab: Lab) -> None:
    result = device().send(lab, to=["pat@fabrikam.com"], subject="Quote")
    assert result.accepted and result.outcome["pat@fabrikam.com"].where == "Inbox"
    (message,) = lab.mailbox("pat@fabrikam.com").folder("Inbox")
    assert message["DKIM-Signature"] is not None and "d=contoso.com" in str(message["DKIM-Signature"])
    results = str(message["Authentication-Results"])
    assert "spf=pass" in results and "dkim=pass" in results and "dmarc=pass" in results
    (record,) = lab.message_trace()
    assert record.status == "Delivered" and record.to_ip == "192.0.2.25"


def test_banner_and_ehlo_before_and_after_starttls(lab: Lab) -> None:
    with session(lab) as client:
        banner = client.connect  # smtplib read the banner on connect; read it again from the transcript
        del banner
        code, text = client.ehlo()
        assert code == 250
        lines = text.decode().splitlines()
        assert lines[0] == "LO2P265CA0123.outlook.office365.com Hello [203.0.113.10]"
        assert lines[1:] == [
            "SIZE 157286400",
            "PIPELINING",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "STARTTLS",
            "8BITMIME",
            "BINARYMIME",
            "CHUNKING",
            "SMTPUTF8",
        ]
        code, text = client.docmd("STARTTLS")
        assert (code, text) == (220, b"2.0.0 SMTP server ready")
        client.sock = lab.ca.client_context().wrap_socket(client.sock, server_hostname="smtp.office365.com")
        client.file = None
        code, text = client.ehlo()
        after = text.decode().splitlines()[1:]
        assert after == [line if line != "STARTTLS" else "AUTH LOGIN XOAUTH2" for line in lines[1:]]


def test_banner_text(lab: Lab) -> None:
    host, port = lab.endpoint(*SUBMISSION)
    client = smtplib.SMTP(timeout=10)
    code, text = client.connect(host, port)
    client.close()
    assert code == 220
    assert re.fullmatch(
        r"LO2P265CA0123\.outlook\.office365\.com Microsoft ESMTP MAIL Service ready at "
        r"\w{3}, [1-9]\d? \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000 \[[0-9A-F]{16}\]",  # day without 0; session id
        text.decode(),
    )


def test_mail_before_starttls(lab: Lab) -> None:
    with session(lab) as client:
        client.ehlo()
        code, text = client.docmd("MAIL", "FROM:<scanner@contoso.com>")
    assert code == 451 and text.decode().startswith("5.7.3 STARTTLS is required to send mail [")


@pytest.mark.parametrize(
    ("tls", "mechanism"),
    [(False, "LOGIN"), (True, "PLAIN"), (True, "CRAM-MD5")],
    ids=["before-tls", "plain", "cram"],
)
def test_auth_refused_before_tls_or_unoffered(lab: Lab, tls: bool, mechanism: str) -> None:
    with session(lab) as client:
        if tls:
            starttls(lab, client)
        else:
            client.ehlo()
        code, text = client.docmd("AUTH", mechanism)
    assert code == 504 and text.decode().startswith("5.7.4 Unrecognized authentication type [")


@pytest.mark.parametrize(
    ("change", "user", "password", "expected"),
    [
        (None, "scanner@contoso.com", "wrong", "535 5.7.3 Authentication unsuccessful ["),
        (None, "nobody@contoso.com", "x", "535 5.7.3 Authentication unsuccessful ["),
        (
            None,
            "alex@contoso.com",
            "Alex#2026",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
        ),
        (
            "mailbox-off",
            "scanner@contoso.com",
            "Scan#2026",
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.",
        ),
        (
            "security-defaults",
            "scanner@contoso.com",
            "Scan#2026",
            "535 5.7.139 Authentication unsuccessful, user is locked by your organization's "
            "security defaults policy.",
        ),
        (
            "basic-off",
            "scanner@contoso.com",
            "Scan#2026",
            "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        ),
        ("tenant-on", "alex@contoso.com", "Alex#2026", "235 2.7.0 Authentication successful"),
    ],
    ids=[
        "wrong-password",
        "unknown-user",
        "tenant-off",
        "mailbox-off",
        "security-defaults",
        "basic-off",
        "tenant-on",
    ],
)
def test_auth_login_outcomes(lab: Lab, change: str | None, user: str, password: str, expected: str) -> None:
    tenant = lab.world.tenant
    if change == "mailbox-off":
        tenant.find_mailbox("scanner@contoso.com").smtp_client_authentication_disabled = True  # type: ignore[union-attr]
    elif change == "security-defaults":
        tenant.settings.security_defaults = True
    elif change == "basic-off":
        tenant.settings.basic_auth_disabled = True
    elif change == "tenant-on":
        tenant.settings.smtp_client_authentication_disabled = False
    with session(lab) as client:
        starttls(lab, client)
        code, text = auth_login(client, user, password)
    assert f"{code} {text.decode()}".startswith(expected)


def test_mail_without_auth_and_after_failed_auth(lab: Lab) -> None:
    with session(lab) as client:
        starttls(lab, client)
        code, text = client.docmd("MAIL", "FROM:<scanner@contoso.com>")
        assert code == 530
        assert text.decode().startswith("5.7.57 SMTP; Client was not authenticated to send anonymous mail")
    with session(lab) as client:
        starttls(lab, client)
        auth_login(client, "alex@contoso.com", "Alex#2026")
        code, text = client.docmd("MAIL", "FROM:<alex@contoso.com>")
        assert code == 530
        assert text.decode().startswith(
            "5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful"
        )
    assert all_messages(lab) == []


def test_send_as_denied_then_granted(lab: Lab) -> None:
    refused = device(sender="helpdesk@contoso.com").send(lab, to=["alex@contoso.com"], subject="As helpdesk")
    assert refused.reply is not None and refused.reply.code == 554
    assert str(refused.reply).startswith(
        "554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as helpdesk@contoso.com; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"
    )
    assert all_messages(lab) == [] and lab.message_trace() == []
    lab.world.tenant.find_mailbox("helpdesk@contoso.com").send_as_trustees.append("scanner@contoso.com")  # type: ignore[union-attr]
    granted = device(sender="helpdesk@contoso.com").send(lab, to=["alex@contoso.com"], subject="As helpdesk")
    assert granted.accepted and granted.outcome["alex@contoso.com"].where == "Inbox"


def test_header_from_is_checked_too(lab: Lab) -> None:
    result = device().send(
        lab, to=["alex@contoso.com"], subject="Forged From", header_from="helpdesk@contoso.com"
    )
    assert result.reply is not None and result.reply.enhanced == "5.2.252"
    assert all_messages(lab) == []


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_legacy_tls_refused_after_the_handshake(lab: Lab, version: ssl.TLSVersion) -> None:
    name = {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1"}[version]
    result = device(tls_min_version=name, tls_max_version=name).send(lab, to=["alex@contoso.com"])
    assert any(f"TLS started: {name}," in line.text for line in result.transcript.lines), (
        result.transcript.text()
    )
    assert result.reply is not None and str(result.reply.without_diagnostics()) == (
        "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
        "Visit https://aka.ms/smtp_auth_tls"
    )
    assert all_messages(lab) == []


def test_legacy_endpoint_takes_tls10_only_when_allowed(lab: Lab) -> None:
    old = device(server="smtp-legacy.office365.com", tls_min_version="TLSv1", tls_max_version="TLSv1")
    refused = old.send(lab, to=["alex@contoso.com"])
    assert refused.reply is not None and refused.reply.enhanced == "4.7.66"
    lab.world.tenant.settings.allow_legacy_tls_clients = True
    assert old.send(lab, to=["alex@contoso.com"]).accepted
    still = device(tls_min_version="TLSv1", tls_max_version="TLSv1").send(lab, to=["alex@contoso.com"])
    assert still.reply is not None and still.reply.enhanced == "4.7.66"


def test_port_465_and_implicit_tls(lab: Lab) -> None:
    result = device(port=465, tls="implicit").send(lab, to=["alex@contoso.com"])
    assert not result.accepted and result.reply is None and "465" in (result.error or "")
    assert result.outcome["alex@contoso.com"].where == "rejected"
    wrong = device(tls="implicit").send(lab, to=["alex@contoso.com"])
    assert not wrong.accepted and "TLS failed" in (wrong.error or "")


def test_xoauth2_works_where_basic_auth_is_off(lab: Lab) -> None:
    lab.world.tenant.settings.security_defaults = True
    token = lab.issue_token("scanner@contoso.com", "https://outlook.office.com/SMTP.Send")
    result = device(password=None, oauth_token=token).send(lab, to=["alex@contoso.com"])
    assert result.accepted
    assert token not in result.transcript.text()
    assert any("AUTH XOAUTH2 ********" in line.text for line in result.transcript.lines)


@pytest.mark.parametrize("problem", ["wrong-scope", "wrong-user", "expired", "tampered"])
def test_xoauth2_refused_tokens(lab: Lab, problem: str) -> None:
    scope = (
        "https://outlook.office.com/IMAP.AccessAsUser.All"
        if problem == "wrong-scope"
        else ("https://outlook.office.com/SMTP.Send")
    )
    user = "alex@contoso.com" if problem == "wrong-user" else "scanner@contoso.com"
    token = lab.issue_token(user, scope)
    if problem == "expired":
        lab.clock.advance(hours=2)
    if problem == "tampered":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    result = device(password=None, oauth_token=token).send(lab, to=["alex@contoso.com"])
    assert result.reply is not None and (result.reply.code, result.reply.enhanced) == (535, "5.7.3")


def test_xoauth2_still_needs_smtp_auth_enabled(lab: Lab) -> None:
    token = lab.issue_token("alex@contoso.com")
    result = device(
        username="alex@contoso.com", sender="alex@contoso.com", password=None, oauth_token=token
    ).send(lab, to=["pat@fabrikam.com"])
    assert result.reply is not None and result.reply.enhanced == "5.7.139"


def test_fourth_concurrent_session_is_refused(lab: Lab) -> None:
    clients = []
    try:
        for _ in range(3):
            host, port = lab.endpoint(*SUBMISSION)
            client = smtplib.SMTP(host, port, timeout=10)
            client._host = SUBMISSION[0]
            clients.append(client)
            starttls(lab, client)
            assert auth_login(client, "scanner@contoso.com", "Scan#2026")[0] == 235
        with session(lab) as fourth:
            starttls(lab, fourth)
            code, text = auth_login(fourth, "scanner@contoso.com", "Scan#2026")
        assert code == 432 and text.decode().startswith("4.3.2 Concurrent connections limit exceeded.")
    finally:
        for client in clients:
            client.quit()
    # The sessions closed, so the mailbox may sign in again.
    assert device().send(lab, to=["alex@contoso.com"]).accepted


def test_more_than_30_a_minute_are_delayed_then_delivered(lab: Lab) -> None:
    lab.clock.freeze()
    results = [device().send(lab, to=["alex@contoso.com"], subject=f"Page {i}") for i in range(31)]
    assert all(r.accepted for r in results)
    assert [r.outcome["alex@contoso.com"].where for r in results[:30]] == ["Inbox"] * 30
    assert results[30].outcome["alex@contoso.com"].where == "pending"
    assert len(lab.mailbox("alex@contoso.com").folder("Inbox")) == 30
    pending = lab.message_trace(status="Pending")
    assert len(pending) == 1 and pending[0].events[-1].event == "DEFER"
    lab.clock.advance(minutes=1)
    assert len(lab.mailbox("alex@contoso.com").folder("Inbox")) == 31
    assert lab.message_trace(status="Pending") == []


def test_daily_recipient_quota_and_the_next_day(lab: Lab) -> None:
    # The 10,000 boundary itself is a policy test; here a small quota proves the wiring end to end.
    lab.runtime.submission_limits = SubmissionLimits(recipients_per_day=3)
    assert device().send(lab, to=["alex@contoso.com", "scanner@contoso.com"]).accepted
    over = device().send(lab, to=["alex@contoso.com", "scanner@contoso.com"], subject="Over quota")
    assert over.reply is not None and str(over.reply.without_diagnostics()) == (
        "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"
    )
    assert "Over quota" not in all_messages(lab)
    lab.clock.advance(days=1)
    assert device().send(lab, to=["alex@contoso.com", "scanner@contoso.com"]).accepted


def test_recipients_per_message_limit(lab: Lab) -> None:
    with session(lab) as client:
        starttls(lab, client)
        auth_login(client, "scanner@contoso.com", "Scan#2026")
        assert client.docmd("MAIL", "FROM:<scanner@contoso.com>")[0] == 250
        for index in range(500):
            assert client.docmd("RCPT", f"TO:<user{index}@fabrikam.com>")[0] == 250
        code, text = client.docmd("RCPT", "TO:<one-too-many@fabrikam.com>")
    assert (code, R.without_diagnostics(text.decode())) == (452, "4.5.3 Too many recipients")


def test_message_size_limits(lab: Lab) -> None:
    with session(lab) as client:
        starttls(lab, client)
        auth_login(client, "scanner@contoso.com", "Scan#2026")
        # Over MaxSendSize but under the advertised SIZE: taken at MAIL (the store refuses it after DATA).
        assert client.docmd("MAIL", f"FROM:<scanner@contoso.com> SIZE={36 * 1024 * 1024}")[0] == 250
        client.rset()
        code, text = client.docmd(
            "MAIL", f"FROM:<scanner@contoso.com> SIZE={R.MAX_MESSAGE_SIZE_ADVERTISED + 1}"
        )
        assert (code, R.without_diagnostics(text.decode())) == (
            552,
            "5.3.4 Message size exceeds fixed maximum message size",
        )
    # The 35 MB boundary itself is a policy test; a 1 MB limit proves the end-of-DATA wiring quickly.
    lab.runtime.submission_limits = SubmissionLimits(max_send_size=1024 * 1024)
    big = b"x" * (1024 * 1024)
    result = device().send(lab, to=["alex@contoso.com"], subject="Huge", attachment=big)
    assert result.reply is not None and result.reply.without_diagnostics() == R.MAX_SUBMISSION_EXCEEDED
    assert all_messages(lab) == []


def test_port_25_serves_submission_too(lab: Lab) -> None:
    assert device(port=25).send(lab, to=["alex@contoso.com"]).accepted
