"""Rules of Microsoft 365 delivering what it accepted: where each copy goes, how the trace words it, NDRs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..auth.oauth import LAB_TENANT_ID
from ..world.hosts import OUTBOUND_HELO
from ..world.model import DkimSigningConfig, Tenant
from . import ndr as ndr_policy
from . import replies as R
from .antispam import Verdict
from .dates import header_date
from .submission import DEFAULT_LIMITS, SubmissionLimits

SENT_ITEMS = "Sent Items"
INBOX = "Inbox"
JUNK = "Junk Email"
# Exchange removes its organisation headers from a message leaving the tenant, then signs it.
ORGANISATION_HEADER_PREFIX = "X-MS-Exchange-Organization-"
# The recipients' copies (delivered or relayed) lose the Bcc header; the sender's Sent Items copy keeps it.
BCC_HEADER = "Bcc:"
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


def distinct_recipients(recipients: list[str]) -> list[str]:
    """Each recipient once, in the order given: RFC 5321 allows the same RCPT twice (in any case), and
    Exchange Online, as Postfix, delivers one copy (issue 18's hostile finding)."""
    seen: set[str] = set()
    kept = []
    for recipient in recipients:
        if recipient.lower() not in seen:
            seen.add(recipient.lower())
            kept.append(recipient)
    return kept


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


# -- the Received lines and hop headers Exchange Online writes (shared/reference/exchange-smtp-protocol.md,
# "Headers Exchange writes"). Lab choice: the host names and addresses below are made up but well formed;
# the hosts' own IPv6 addresses sit in 2603:10a6::/32 (Exchange Online's European datacentres) and EOP's
# outbound host in 2a01:111:f400::/48 (the range spf.protection.outlook.com lists).
EXCHANGE_BUILD = "15.20.8901.26"  # the `id` of Exchange Online's Received lines in 2025 transcripts
# The by-host and its address for each endpoint the lab serves (endpoint FQDN -> <HOST>.<region>.prod...).
_RECEIVED_BY = {
    R.SUBMISSION_FQDN: (f"{R.SUBMISSION_HOST}.gbrp265.prod.outlook.com", "2603:10a6:600:a1::15"),
    R.MX_FQDN: (R.MX_DIAG, "2603:10a6:20b:3c1::45"),
}
# The tenant's mailbox server: where relayed mail leaves from towards EOP's outbound host.
MAILBOX_SERVER = ("DB5PR07MB9516.eurprd07.prod.outlook.com", "2603:10a6:10:2c7::13")
# EOP's outbound host: it is the one that says EHLO to the outside server (world/hosts.py OUTBOUND_HELO).
EOP_OUTBOUND_HOST = (OUTBOUND_HELO, "2a01:111:f400:7e1b::245")
# OpenSSL's protocol names -> Exchange's (`version=TLS1_2`, not `TLSv1.2`).
_TLS_VERSION = {"TLSv1": "TLS1_0", "TLSv1.1": "TLS1_1", "TLSv1.2": "TLS1_2", "TLSv1.3": "TLS1_3"}
# What Exchange negotiates when the session's cipher is not known: TLS 1.3's and its usual TLS 1.2 and
# legacy suites (real Received lines).
_DEFAULT_CIPHER = {
    "TLS1_3": "TLS_AES_256_GCM_SHA384",
    "TLS1_2": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS1_1": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS1_0": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
}


def exchange_tls_version(tls_version: str) -> str:
    """Exchange's name of a TLS version: OpenSSL's `TLSv1.3` is `TLS1_3` (unknown names are kept)."""
    return _TLS_VERSION.get(tls_version, tls_version)


def iana_cipher(openssl_name: str) -> str:
    """The IANA (RFC 8446 / RFC 5288) name Exchange writes for an OpenSSL cipher name.

    `TLS_AES_256_GCM_SHA384` (TLS 1.3) is both; `ECDHE-RSA-AES256-GCM-SHA384` is
    `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`; a name of another shape is kept as OpenSSL gives it.
    """
    if openssl_name.startswith("TLS_"):
        return openssl_name
    parts = openssl_name.split("-")
    kx = "RSA"
    if len(parts) > 2 and parts[0] in ("ECDHE", "DHE") and parts[1] in ("RSA", "ECDSA"):
        kx, parts = f"{parts[0]}_{parts[1]}", parts[2:]
    match parts:
        case [("AES128" | "AES256") as aes, "GCM", ("SHA256" | "SHA384") as mac]:
            return f"TLS_{kx}_WITH_AES_{aes[3:]}_GCM_{mac}"
        case [("AES128" | "AES256") as aes, ("SHA" | "SHA256" | "SHA384") as mac]:
            return f"TLS_{kx}_WITH_AES_{aes[3:]}_CBC_{mac}"
        case ["CHACHA20", "POLY1305"]:
            return f"TLS_{kx}_WITH_CHACHA20_POLY1305_SHA256"
    return openssl_name


def _with_clause(tls_version: str | None, tls_cipher: str | None) -> str:
    """` with Microsoft SMTP Server (version=TLS1_3, cipher=...)`; without TLS no parentheses at all,
    `with Microsoft SMTP Server id 15.20... via Frontend Transport` (lab choice: Exchange's form for a
    hop in clear, as direct send to the MX on port 25 without STARTTLS is)."""
    if not tls_version:
        return " with Microsoft SMTP Server"
    version = exchange_tls_version(tls_version)
    cipher = iana_cipher(tls_cipher) if tls_cipher else _DEFAULT_CIPHER.get(version, "")
    parameters = f"version={version}, cipher={cipher}" if cipher else f"version={version}"
    return f" with Microsoft SMTP Server ({parameters})"


def received_header(
    helo: str,
    client_ip: str,
    fqdn: str,
    tls_version: str | None,
    when: datetime,
    tls_cipher: str | None = None,
) -> str:
    """Exchange Online's Received line for a message it took from a client, on submission and at the MX:

    `Received: from <helo> (<ip>) by <HOST>.<region>.prod.outlook.com (<IPv6>) with Microsoft SMTP Server
    (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8901.26 via Frontend Transport; <date>`.
    An endpoint the lab has no by-host for (`fqdn` not in the table) is named as it is, with no address.
    """
    by_host, by_address = _RECEIVED_BY.get(fqdn, (fqdn, ""))
    by = f"{by_host} ({by_address})" if by_address else by_host
    with_clause = _with_clause(tls_version, tls_cipher)
    return (
        f"Received: from {helo or 'unknown'} ({client_ip}) by {by}{with_clause} id {EXCHANGE_BUILD} "
        f"via Frontend Transport; {header_date(when)}"
    )


def outbound_hop_headers(
    when: datetime,
    network_message_id: str,
    *,
    from_entity: str = "Hosted",
    entity_stamped: bool = False,
    tenant_id: str = LAB_TENANT_ID,
) -> list[tuple[str, str]]:
    """What a message relayed out carries from the mailbox server and EOP's outbound host, top first:
    EOP's Received line, then the X-MS-Exchange-CrossTenant-* headers the mailbox server stamps.

    `from_entity`: Hosted for a cloud mailbox's mail, HybridOnPrem for mail an OnPremises connector
    brought in; `entity_stamped` when the message already carries that header (the MX stamps it on
    connector mail), so it is not written twice. Lab choices: the hop between them is TLS 1.3; AuthAs is
    Internal for Hosted mail (a signed-in mailbox) and Anonymous otherwise; no ARC headers.
    """
    mailbox, mailbox_address = MAILBOX_SERVER
    outbound, outbound_address = EOP_OUTBOUND_HOST
    received = (
        f"from {mailbox} ({mailbox_address}) by {outbound} ({outbound_address})"
        f"{_with_clause('TLSv1.3', None)} id {EXCHANGE_BUILD}; {header_date(when)}"
    )
    headers = [
        ("Received", received),
        ("X-MS-Exchange-CrossTenant-Network-Message-Id", network_message_id),
        ("X-MS-Exchange-CrossTenant-AuthSource", mailbox),
        ("X-MS-Exchange-CrossTenant-AuthAs", "Internal" if from_entity == "Hosted" else "Anonymous"),
        ("X-MS-Exchange-CrossTenant-OriginalArrivalTime", original_arrival_time(when)),
    ]
    if not entity_stamped:
        headers.append(("X-MS-Exchange-CrossTenant-FromEntityHeader", from_entity))
    headers += [
        ("X-MS-Exchange-CrossTenant-Id", tenant_id),
        ("X-MS-Exchange-Transport-CrossTenantHeadersStamped", mailbox),
    ]
    return headers


def original_arrival_time(when: datetime) -> str:
    """`15 Jul 2025 10:01:02.1234 (UTC)`: X-MS-Exchange-CrossTenant-OriginalArrivalTime's form, UTC with
    ten-thousandths of a second and a two-digit day."""
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    _, day, month, year, clock, _ = header_date(utc).split()
    return f"{int(day):02d} {month} {year} {clock}.{utc.microsecond // 100:04d} (UTC)"


def postfix_received(
    helo: str,
    client_name: str,
    client_ip: str,
    host: str,
    queue_id: str,
    rcpts: list[str],
    tls: bool,
    when: datetime,
) -> str:
    """The Received line a Postfix smtpd prepends (Postfix smtpd.c, its default folding with tabs):

    `Received: from <helo> (<client name> [<ip>])\\r\\n\\tby <host> (Postfix) with ESMTPS id <queue id>
    \\r\\n\\tfor <rcpt>; <date> (UTC)`; ESMTP without TLS, `for` only with a single recipient, and
    Postfix's date: the day space-padded, the zone's name after the offset.
    """
    protocol = "ESMTPS" if tls else "ESMTP"
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    weekday, day, month, year, clock, offset = header_date(utc).split()
    date = f"{weekday} {int(day):2d} {month} {year} {clock} {offset} (UTC)"
    target = f"\r\n\tfor <{rcpts[0]}>" if len(rcpts) == 1 else ""
    return (
        f"Received: from {helo or 'unknown'} ({client_name} [{client_ip}])\r\n"
        f"\tby {host} (Postfix) with {protocol} id {queue_id}{target}; {date}"
    )


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
    """An accepted recipient no mailbox has: the trace's FAIL event quotes the NDR's status ([NDR] 5.1.10;
    the quote in the trace is the lab's choice, the protocol sheet infers it)."""
    detail = f"{recipient} was not found: {R.RECIPIENT_NOT_FOUND}"
    return TraceStep("FAIL", detail, "deliver.recipient-not-found", "Failed")


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


def postmaster(tenant: Tenant) -> str:
    """The address Exchange Online's reports come from: a fixed mailbox of the tenant's initial domain."""
    return f"{POSTMASTER_LOCAL}@{tenant.initial_domain}"


def report_message_id(token: str) -> str:
    return f"<{token}@{R.SUBMISSION_DIAG}>"


def ndr(
    tenant: Tenant,
    mail_from: str,
    failures: list[ndr_policy.Failure],
    subject: str,
    original: bytes,
    when: datetime,
    token: str,
    dsn: ndr_policy.Dsn = ndr_policy.NO_DSN,
    arrived: datetime | None = None,
) -> bytes:
    """The non-delivery report Exchange Online sends the sender (policy/ndr.py builds it); `arrived`:
    when the message was taken in (its Arrival-Date), `when` by default."""
    return ndr_policy.non_delivery_report(
        postmaster=postmaster(tenant),
        sender=mail_from,
        subject=subject,
        original=original,
        failures=failures,
        when=when,
        message_id=report_message_id(token),
        dsn=dsn,
        arrived=arrived,
    )


def success_notification(
    tenant: Tenant,
    mail_from: str,
    recipient: str,
    relayed_to: str | None,
    subject: str,
    original: bytes,
    when: datetime,
    token: str,
    dsn: ndr_policy.Dsn,
    arrived: datetime | None = None,
) -> bytes:
    """NOTIFY=SUCCESS: the "Delivered:" or "Relayed:" report (policy/ndr.py)."""
    return ndr_policy.delivery_notification(
        postmaster=postmaster(tenant),
        sender=mail_from,
        subject=subject,
        original=original,
        recipient=recipient,
        relayed_to=relayed_to,
        when=when,
        message_id=report_message_id(token),
        dsn=dsn,
        arrived=arrived,
    )


def outcome_of_status(status: str) -> str:
    """Where a copy is that no folder holds, by its trace status: pending, failed, or unknown."""
    return _OUTCOME_OF_STATUS.get(status, "unknown")
