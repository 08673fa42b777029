"""Delivery reports over real SMTP: the 5.1.10 NDR after submission, NOTIFY=NEVER and SUCCESS, the trace."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailflow_lab import Lab
from mailflow_lab.policy import ndr
from mailflow_lab.policy import replies as R

SCANNER = ("scanner@contoso.com", "Scan#2026")


def submit(lab: Lab, to: list[str], subject: str, *, mail_options=(), rcpt_options=()) -> dict:
    """smtplib as an app uses it: STARTTLS, login, sendmail with DSN options (RFC 3461)."""
    host, port = lab.endpoint("smtp.office365.com", 587)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SCANNER[0], ", ".join(to), subject
    message.set_content("scanned")
    with smtplib.SMTP(host, port, local_hostname="scanner.contoso.local", timeout=10) as client:
        client._host = "smtp.office365.com"  # type: ignore[attr-defined]  # the name in the certificate
        client.starttls(context=lab.ca.client_context())
        client.login(*SCANNER)
        raw = message.as_bytes(policy=SMTP)  # CRLF line ends: bare LFs could not be relayed (5.6.11)
        return client.sendmail(SCANNER[0], to, raw, list(mail_options), list(rcpt_options))


def reports(lab: Lab) -> list[ndr.ReportView]:
    found = []
    for message in lab.mailbox(SCANNER[0]).folder("Inbox"):
        view = ndr.read_report(message.as_bytes())
        if view is not None:
            found.append(view)
    return found


def test_an_unknown_internal_address_is_taken_then_bounced_with_5_1_10(lab: Lab) -> None:
    assert submit(lab, ["scans@contoso.com"], "Scan 8") == {}  # every reply was 250
    [report] = reports(lab)
    assert report.subject == "Undeliverable: Scan 8"
    assert f"Remote server returned '{R.RECIPIENT_NOT_FOUND}'" in report.for_admins
    assert report.fields[1]["Status"] == "5.1.10"
    [row] = lab.message_trace(recipient="scans@contoso.com")
    assert row.status == "Failed"
    assert str(R.RECIPIENT_NOT_FOUND) in row.events[-1].detail
    assert len(row.session_id) == 16  # the session whose replies carried this id


def test_notify_never_suppresses_the_ndr(lab: Lab) -> None:
    submit(lab, ["scans@contoso.com"], "Scan 9", rcpt_options=["NOTIFY=NEVER"])
    assert reports(lab) == []
    [row] = lab.message_trace(recipient="scans@contoso.com")
    assert row.status == "Failed"


@pytest.mark.parametrize(
    ("recipient", "subject"),
    [("alex@contoso.com", "Delivered: Scan 10"), ("pat@fabrikam.com", "Relayed: Scan 10")],
)
def test_notify_success_reports_delivered_or_relayed(lab: Lab, recipient: str, subject: str) -> None:
    submit(lab, [recipient], "Scan 10", mail_options=["RET=HDRS", "ENVID=scan10"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE"])  # fmt: skip
    [report] = reports(lab)
    assert report.subject == subject
    assert report.fields[0]["Original-Envelope-Id"] == "scan10"


def test_an_outside_refusal_bounces_with_the_remote_server(lab: Lab) -> None:
    submit(lab, ["nobody@fabrikam.com"], "Scan 11")
    [report] = reports(lab)
    assert "Remote server returned '550 5.1.1 " in report.for_admins
    assert report.fields[1]["Remote-MTA"].startswith("dns;mail.fabrikam.com")
