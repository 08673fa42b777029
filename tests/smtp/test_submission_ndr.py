"""NDRs after SMTP AUTH submission over real sockets: an address in an accepted domain that no mailbox has
(250, then 5.1.10 back), NOTIFY=NEVER, DSN parameters and a Subject that would break the report, an
outside refusal's three parts, and a message deferred by the per-minute limit (its Arrival-Date).

More over-the-wire report cases (Delivered:/Relayed:, Remote-MTA) are in test_reports_delivered.py.
"""

from __future__ import annotations

import smtplib
from email.parser import BytesParser
from email.policy import default

import pytest

from mailflow_lab import Lab
from mailflow_lab.policy import ndr
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.dates import header_date
from mailflow_lab.policy.submission import SubmissionLimits

SENDER, PASSWORD = "scanner@contoso.com", "Scan#2026"
PARTS = ["text/plain", "message/delivery-status", "text/rfc822-headers"]


def send(
    lab: Lab,
    to: str,
    subject: str = "Scan 12",
    mail_options: tuple[str, ...] = (),
    rcpt_options: tuple[str, ...] = (),
) -> tuple[int, str, str]:
    """STARTTLS, AUTH, MAIL/RCPT with DSN options, DATA: the reply at the end of DATA, and the banner."""
    host, port = lab.endpoint("smtp.office365.com", 587)
    raw = f"From: {SENDER}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nscanned\r\n".encode()
    with smtplib.SMTP(local_hostname="scanner.contoso.local", timeout=10) as client:
        banner = client.connect(host, port)[1].decode()
        client._host = "smtp.office365.com"  # type: ignore[attr-defined]  # the name in the certificate
        client.starttls(context=lab.ca.client_context())
        client.login(SENDER, PASSWORD)
        assert client.mail(SENDER, list(mail_options))[0] == 250
        assert client.rcpt(to, list(rcpt_options))[0] == 250  # submission takes any recipient
        code, text = client.data(raw)
    return code, text.decode(), banner


def bounces(lab: Lab) -> list[tuple[list[str], ndr.ReportView]]:
    """Each report in the sender's Inbox: its parts' content types and its sections."""
    found = []
    for message in lab.mailbox(SENDER).folder("Inbox"):
        view = ndr.read_report(message.as_bytes())
        if view is not None:
            found.append(([p.get_content_type() for p in message.iter_parts()], view))
    return found


def test_an_address_no_mailbox_has_is_taken_with_250_then_bounced_with_5_1_10(lab: Lab) -> None:
    code, text, banner = send(lab, "nobody@contoso.com")
    assert (code, text.split()[0]) == (250, "2.0.0")  # taken: the failure comes after the 250
    [(parts, report)] = bounces(lab)
    assert parts == PARTS
    assert report.subject == "Undeliverable: Scan 12"
    assert report.for_users.startswith("Your message to nobody@contoso.com couldn't be delivered.")
    assert f"Remote server returned '{R.RECIPIENT_NOT_FOUND}'" in report.for_admins
    assert (report.fields[1]["Final-Recipient"], report.fields[1]["Status"]) == (
        "rfc822;nobody@contoso.com",
        "5.1.10",
    )
    [row] = lab.message_trace(recipient="nobody@contoso.com")
    assert (row.status, row.events[-1].event) == ("Failed", "FAIL")
    assert "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup" in (
        row.events[-1].detail
    )
    assert len(row.session_id) == 16 and banner.endswith(f"[{row.session_id}]")  # the session's own id


def test_notify_never_means_no_ndr_but_the_trace_still_fails(lab: Lab) -> None:
    assert send(lab, "nobody@contoso.com", rcpt_options=("NOTIFY=NEVER",))[0] == 250
    assert bounces(lab) == []
    [row] = lab.message_trace(recipient="nobody@contoso.com")
    assert row.status == "Failed"


@pytest.mark.parametrize(
    ("mail_options", "rcpt_options", "subject", "shown"),
    [
        pytest.param(("ENVID=a+0D+0ABcc:+20x@evil.example",), (), "Scan 13", "Scan 13", id="envid-cr-lf"),
        pytest.param((), ("ORCPT=rfc822;n+0D+0AX-Evil:+20y",), "Scan 13", "Scan 13", id="orcpt-cr-lf"),
        pytest.param((), (), "=?utf-8?q?a=0D=0ABcc:_x@evil.example?=", "a Bcc: x@evil.example", id="subject"),
    ],
)
def test_parameters_or_a_subject_that_would_break_the_report_do_not_break_the_send(
    lab: Lab, mail_options: tuple[str, ...], rcpt_options: tuple[str, ...], subject: str, shown: str
) -> None:
    """A 451 here would come after the Sent Items copy and the trace: the client would send it twice.
    (The `lab` fixture also checks that no error was noted in the session.)"""
    assert send(lab, "nobody@contoso.com", subject, mail_options, rcpt_options)[0] == 250
    [(_, report)] = bounces(lab)
    assert report.subject == f"Undeliverable: {shown}"
    assert "Original-Envelope-Id" not in report.fields[0]
    assert "Original-Recipient" not in report.fields[1]


def test_an_outside_refusal_bounces_with_all_three_parts(lab: Lab) -> None:
    assert send(lab, "nobody@fabrikam.com", mail_options=("RET=HDRS",))[0] == 250
    [(parts, report)] = bounces(lab)
    assert parts == PARTS
    assert (report.fields[1]["Status"], report.fields[1]["Remote-MTA"]) == ("5.1.1", "dns;mail.fabrikam.com")
    assert report.fields[1]["Diagnostic-Code"] == f"smtp;{R.FABRIKAM_UNKNOWN_USER}"
    assert "Subject: Scan 12" in report.original_headers


@pytest.mark.parametrize(("rcpt_options", "reports"), [((), 1), (("NOTIFY=NEVER",), 0)])
def test_a_deferred_message_honours_notify_and_dates_its_arrival(
    lab: Lab, rcpt_options: tuple[str, ...], reports: int
) -> None:
    lab.clock.freeze()
    lab.runtime.submission_limits = SubmissionLimits(messages_per_minute=1)
    assert send(lab, "alex@contoso.com", "first")[0] == 250
    assert send(lab, "nobody@contoso.com", rcpt_options=rcpt_options)[0] == 250
    [row] = lab.message_trace(recipient="nobody@contoso.com")
    assert row.status == "Pending" and bounces(lab) == []
    lab.clock.advance(minutes=5)
    [row] = lab.message_trace(recipient="nobody@contoso.com")
    assert row.status == "Failed"
    found = bounces(lab)
    assert len(found) == reports
    for _, report in found:
        assert report.fields[0]["Arrival-Date"] == header_date(row.received)  # taken in, not released
        [bounce] = lab.mailbox(SENDER).folder("Inbox")
        assert str(bounce["Date"]) != report.fields[0]["Arrival-Date"]


def test_the_ndr_read_back_from_disk_parses_as_rfc_3464(lab: Lab) -> None:
    send(lab, "nobody@contoso.com", rcpt_options=("NOTIFY=FAILURE", "ORCPT=rfc822;nobody@contoso.com"))
    [message] = lab.mailbox(SENDER).folder("Inbox")
    again = BytesParser(policy=default).parsebytes(message.as_bytes())
    assert again.get_content_type() == "multipart/report"
    assert again.get_param("report-type") == "delivery-status"
    status = next(p for p in again.iter_parts() if p.get_content_type() == "message/delivery-status")
    per_message, per_recipient = status.get_payload()
    assert str(per_message["Reporting-MTA"]) == f"dns;{ndr.GENERATING_SERVER}"
    assert str(per_recipient["Original-Recipient"]) == "rfc822;nobody@contoso.com"
    assert str(per_recipient["Action"]) == "failed"
