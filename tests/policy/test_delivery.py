"""The delivery policy as tables: routing, filing by verdict, trace wording, the signing key, the NDR."""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default

import pytest

from mailflow_lab.policy import delivery, ndr
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.antispam import Verdict
from mailflow_lab.policy.submission import SubmissionLimits
from mailflow_lab.world.model import World


def verdict(action: str, scl: int = 1) -> Verdict:
    return Verdict(action, "x", scl, "SPM", "SPOOF", "fail", "601", f"antispam.{action}", "Why.")  # type: ignore[arg-type]


def test_internal_and_external_recipients(world: World) -> None:
    recipients = ["alex@contoso.com", "pat@fabrikam.com", "ops@CONTOSO.onmicrosoft.com", "x@litware.com"]
    assert delivery.split_recipients(world.tenant, recipients) == (
        ["alex@contoso.com", "ops@CONTOSO.onmicrosoft.com"],
        ["pat@fabrikam.com", "x@litware.com"],
    )


@pytest.mark.parametrize(
    ("action", "folder", "before", "final"),
    [
        ("inbox", "Inbox", [], ("DELIVER", "The message was successfully delivered. Why.", "Delivered")),
        (
            "junk",
            "Junk Email",
            [("SPAM", "Spam confidence level: 5", "GettingStatus")],
            ("DELIVER", "The message was delivered to the Junk Email folder. Why.", "FilteredAsSpam"),
        ),
        (
            "quarantine",
            None,
            [("SPAM", "Spam confidence level: 5", "GettingStatus")],
            ("SPAM", "The message was quarantined. Why.", "Quarantined"),
        ),
    ],
)
def test_inbound_filing_by_verdict(
    action: str, folder: str | None, before: list[tuple[str, str, str]], final: tuple[str, str, str]
) -> None:
    filing = delivery.inbound_filing(verdict(action, scl=1 if action == "inbox" else 5))
    assert filing.folder == folder
    assert [(s.event, s.detail, s.status) for s in filing.before] == before
    assert (filing.final.event, filing.final.detail, filing.final.status) == final
    assert {s.rule for s in (*filing.before, filing.final)} == {f"antispam.{action}"}


def test_submitted_mail_skips_anti_spam() -> None:
    filing = delivery.submitted_filing()
    assert (filing.folder, filing.before, filing.final.status) == ("Inbox", (), "Delivered")
    assert filing.final.rule == "submission.deliver.internal"
    assert delivery.keeps_sent_copy() and delivery.SENT_ITEMS == "Sent Items"


@pytest.mark.parametrize(
    ("folder", "status"), [("Inbox", "Delivered"), ("Junk Email", "FilteredAsSpam"), ("Archive", "Delivered")]
)
def test_trace_status_of_a_folder(folder: str, status: str) -> None:
    assert delivery.trace_status(folder) == status


@pytest.mark.parametrize(
    ("status", "where"), [("Pending", "pending"), ("Failed", "failed"), ("Delivered", "unknown")]
)
def test_outcome_of_a_status(status: str, where: str) -> None:
    assert delivery.outcome_of_status(status) == where


def test_deferral_names_the_limit_in_force() -> None:
    assert delivery.deferred().detail.startswith("More than 30 messages a minute")
    assert delivery.deferred(SubmissionLimits(messages_per_minute=5)).detail.startswith(
        "More than 5 messages"
    )
    assert delivery.deferred().status == "Pending"


@pytest.mark.parametrize(
    ("from_domain", "enabled", "signer"),
    [
        ("contoso.com", {}, "contoso.com"),  # the From domain's own key
        ("contoso.com", {"contoso.com": False}, "contoso.onmicrosoft.com"),  # off: the initial domain's
        ("fabrikam.com", {}, "contoso.onmicrosoft.com"),  # no config of its own
        ("contoso.com", {"contoso.com": False, "contoso.onmicrosoft.com": False}, None),  # nobody signs
    ],
)
def test_signing_key(world: World, from_domain: str, enabled: dict[str, bool], signer: str | None) -> None:
    for config in world.tenant.dkim:
        config.enabled = enabled.get(config.domain, config.enabled)
    key = delivery.signing_key(world.tenant, from_domain)
    assert (key.domain if key else None) == signer


def test_bounces_go_to_the_tenants_own_senders_only(world: World) -> None:
    assert delivery.bounces_to(world.tenant, "alex@contoso.com")
    assert not delivery.bounces_to(world.tenant, "pat@fabrikam.com")


def test_the_ndr_comes_from_the_tenants_postmaster_and_quotes_the_remote_reply(world: World) -> None:
    when = datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC)
    reply = R.FABRIKAM_UNKNOWN_USER
    original = b"From: alex@contoso.com\r\nSubject: Invoice\r\n\r\nbody\r\n"
    failure = ndr.Failure("nobody@fabrikam.com", reply, "mail.fabrikam.com")
    report = delivery.ndr(world.tenant, "alex@contoso.com", [failure], "Invoice", original, when, "t1")
    head = BytesHeaderParser(policy=default).parsebytes(report)
    postmaster = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.onmicrosoft.com"
    assert str(head["From"]) == f"Microsoft Outlook <{postmaster}>"
    assert str(head["Subject"]) == "Undeliverable: Invoice"
    assert b"\r\nDate: Tue, 3 Mar 2026 09:30:05 +0000\r\n" in report  # no leading zero on the day
    assert str(head["Message-ID"]) == f"<t1@{R.SUBMISSION_DIAG}>"
    view = ndr.read_report(report)
    assert view is not None and f"Remote server returned '{reply}'" in view.for_admins


def test_a_recipient_not_found_quotes_5_1_10_in_the_trace() -> None:
    step = delivery.recipient_not_found("scans@contoso.com")
    assert (step.event, step.status) == ("FAIL", "Failed")
    assert str(R.RECIPIENT_NOT_FOUND) in step.detail


@pytest.mark.parametrize(
    ("reply", "event", "status", "rule", "detail"),
    [
        (R.RELAY_DELIVERED, "SEND", "Delivered", "relay.sent", "The message was sent to {} and accepted: {}"),
        (R.FABRIKAM_UNKNOWN_USER, "FAIL", "Failed", "relay.refused", "{} refused the message: {}"),
    ],
)
def test_relay_outcome(reply: R.Reply, event: str, status: str, rule: str, detail: str) -> None:
    step = delivery.relay_outcome("mail.fabrikam.com", reply)
    assert (step.event, step.status, step.rule) == (event, status, rule)
    assert step.detail == detail.format("mail.fabrikam.com", reply)


def test_received_header() -> None:
    """The line's full table is tests/policy/test_received.py."""
    when = datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC)
    line = delivery.received_header("printer", "203.0.113.10", R.MX_FQDN, "TLSv1.2", when)
    assert line == (
        f"Received: from printer (203.0.113.10) by {R.MX_DIAG} (2603:10a6:20b:3c1::45) with Microsoft SMTP "
        "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8901.26 via Frontend "
        "Transport; Tue, 3 Mar 2026 09:30:05 +0000"
    )
    assert delivery.received_header("", "1.2.3.4", "h", None, when).startswith(
        "Received: from unknown (1.2.3.4) by h with Microsoft SMTP Server id "
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (["a@contoso.com", "b@contoso.com"], ["a@contoso.com", "b@contoso.com"]),
        (["a@contoso.com", "A@Contoso.com", "a@contoso.com"], ["a@contoso.com"]),
        (["B@contoso.com", "a@contoso.com", "b@contoso.com"], ["B@contoso.com", "a@contoso.com"]),
        ([], []),
    ],
)
def test_each_recipient_once(given: list[str], kept: list[str]) -> None:
    assert delivery.distinct_recipients(given) == kept
