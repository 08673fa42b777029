"""Rules of Microsoft 365 delivering what it accepted: where each copy goes, how the trace words it, NDRs."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime

from ..world.model import DkimSigningConfig, Tenant
from . import replies as R
from .antispam import Verdict
from .submission import DEFAULT_LIMITS, SubmissionLimits

SENT_ITEMS = "Sent Items"
INBOX = "Inbox"
JUNK = "Junk Email"
# Exchange removes its organisation headers from a message leaving the tenant, then signs it.
ORGANISATION_HEADER_PREFIX = "X-MS-Exchange-Organization-"
# The tenant's postmaster as Exchange Online names it in NDRs (a fixed mailbox of every tenant).
POSTMASTER_LOCAL = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"
# Get-MessageTrace statuses by the folder a copy landed in.
_STATUS_OF_FOLDER = {INBOX: "Delivered", JUNK: "FilteredAsSpam"}
# Lab.locate's words for a trace status of a copy that is in no folder.
_OUTCOME_OF_STATUS = {"Pending": "pending", "Failed": "failed"}


@dataclass(frozen=True)
class TraceStep:
    """One Get-MessageTrace event for one recipient: its event name, detail, rule and the status after."""

    event: str
    detail: str
    rule: str
    status: str


@dataclass(frozen=True)
class Filing:
    """Where an accepted copy goes inside the tenant (None: quarantine), the trace steps on the way, and
    the step that records it arrived (or, when no mailbox has the address, recipient_not_found)."""

    folder: str | None
    before: tuple[TraceStep, ...]
    final: TraceStep


def split_recipients(tenant: Tenant, recipients: list[str]) -> tuple[list[str], list[str]]:
    """(internal, external): a recipient in an accepted domain is delivered inside, the rest relayed out."""
    internal = [r for r in recipients if tenant.is_accepted(r.rpartition("@")[2])]
    return internal, [r for r in recipients if r not in internal]


def keeps_sent_copy() -> bool:
    """Client submission saves a copy in the sender's Sent Items ([MFD] comparison table)."""
    return True


def submission_stamp() -> list[tuple[str, str]]:
    """The header SMTP AUTH submission stamps: the sender signed in as one of the tenant's mailboxes."""
    return [("X-MS-Exchange-Organization-AuthAs", "Internal")]


def received_header(helo: str, client_ip: str, fqdn: str, tls_version: str | None, when: datetime) -> str:
    """Exchange Online's Received line for a message it took from a client (real transcripts)."""
    tls = f" with Microsoft SMTP Server (version={tls_version})" if tls_version else ""
    date = email.utils.format_datetime(when)
    return f"Received: from {helo or 'unknown'} ({client_ip}) by {fqdn}{tls}; {date}"


def receive_detail(fqdn: str) -> str:
    return f"Message received by: {fqdn}"


def tls_receive_detail(tls_version: str) -> str:
    return f"Message received via {tls_version.replace('v', '')} with AES256"


def connector_receive_detail(connector: str) -> str:
    return f"Received via inbound connector {connector}"


def submitted(login: str) -> TraceStep:
    return TraceStep("SUBMIT", f"The message was submitted by {login}.", "submission.data.ok", "")


def deferred(limits: SubmissionLimits = DEFAULT_LIMITS) -> TraceStep:
    """A message over the per-minute limit waits for later minutes ([MFD] limits: 30 messages a minute)."""
    detail = (
        f"More than {limits.messages_per_minute} messages a minute from this mailbox: "
        "delivery delayed to later minutes."
    )
    return TraceStep("DEFER", detail, "submission.limit.per-minute", "Pending")


def trace_status(folder: str) -> str:
    return _STATUS_OF_FOLDER.get(folder, "Delivered")


def delivered(folder: str, rule: str, detail: str) -> TraceStep:
    return TraceStep("DELIVER", detail, rule, trace_status(folder))


def recipient_not_found(recipient: str) -> TraceStep:
    return TraceStep("FAIL", f"{recipient} was not found", "deliver.recipient-not-found", "Failed")


def submitted_filing() -> Filing:
    """An internal recipient of client submission: its Inbox, with no anti-spam on the way."""
    detail = (
        "The message was successfully delivered. (Anti-spam is bypassed for mail "
        "submitted by your own mailboxes to your own mailboxes.)"
    )
    return Filing(INBOX, (), delivered(INBOX, "submission.deliver.internal", detail))


def inbound_filing(verdict: Verdict) -> Filing:
    """An anonymous message's copy for an internal recipient, filed by EOP's verdict (EOP sheet)."""
    before: tuple[TraceStep, ...] = ()
    if verdict.action != "inbox":
        before = (TraceStep("SPAM", f"Spam confidence level: {verdict.scl}", verdict.rule, "GettingStatus"),)
    if verdict.action == "quarantine":
        detail = f"The message was quarantined. {verdict.explanation}"
        return Filing(None, before, TraceStep("SPAM", detail, verdict.rule, "Quarantined"))
    if verdict.action == "junk":
        detail = f"The message was delivered to the Junk Email folder. {verdict.explanation}"
        return Filing(JUNK, before, delivered(JUNK, verdict.rule, detail))
    detail = f"The message was successfully delivered. {verdict.explanation}"
    return Filing(INBOX, before, delivered(INBOX, verdict.rule, detail))


def signing_key(tenant: Tenant, from_domain: str) -> DkimSigningConfig | None:
    """The DKIM key Microsoft 365 signs outbound mail with: the From domain's when its DKIM is on, else the
    initial (onmicrosoft.com) domain's; None when neither can sign."""
    config = tenant.dkim_for(from_domain)
    if config is None or not config.enabled:
        config = tenant.dkim_for(tenant.initial_domain)
    if config is None or not config.enabled or config.selector not in config.keys:
        return None
    return config


def relay_refused_before_sending(reply: R.Reply, rule: str) -> TraceStep:
    return TraceStep("FAIL", f"Microsoft 365 could not relay the message: {reply}", rule, "Failed")


def relay_outcome(server: str, reply: R.Reply) -> TraceStep:
    """The trace step of a hand-off to an outside server: accepted, or refused with its reply."""
    if reply.accepted:
        return TraceStep(
            "SEND", f"The message was sent to {server} and accepted: {reply}", "relay.sent", "Delivered"
        )
    return TraceStep("FAIL", f"{server} refused the message: {reply}", "relay.refused", "Failed")


def bounces_to(tenant: Tenant, mail_from: str) -> bool:
    """An NDR goes to the sender when the sender is one of the tenant's mailboxes."""
    return tenant.find_mailbox(mail_from) is not None


def ndr(
    tenant: Tenant, mail_from: str, recipient: str, subject: str, reply: R.Reply, when: datetime, token: str
) -> bytes:
    """The non-delivery report Exchange Online sends the sender ([NDR]: "Undeliverable:", the reply)."""
    postmaster = f"{POSTMASTER_LOCAL}@{tenant.initial_domain}"
    return (
        f"From: Microsoft Outlook <{postmaster}>\r\n"
        f"To: {mail_from}\r\n"
        f"Subject: Undeliverable: {subject}\r\n"
        f"Date: {email.utils.format_datetime(when)}\r\n"
        f"Message-ID: <{token}@{R.SUBMISSION_DIAG}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Your message to {recipient} couldn't be delivered.\r\n\r\n"
        f"Remote server returned '{reply}'\r\n"
    ).encode()


def outcome_of_status(status: str) -> str:
    """Where a copy is that no folder holds, by its trace status: pending, failed, or unknown."""
    return _OUTCOME_OF_STATUS.get(status, "unknown")
