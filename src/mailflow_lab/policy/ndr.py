"""Non-delivery reports and delivery notifications as Exchange Online writes them (RFC 3464, RFC 3461)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import SMTP
from email.policy import default as default_policy

from .dates import header_date
from .reply import Reply

# The mailbox server that writes the report ("Generating server:" in the NDR): made up, well formed.
GENERATING_SERVER = "LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM"
ADMIN_SECTION = "Diagnostic information for administrators:"
ORIGINAL_HEADERS = "Original message headers:"
# RFC 3461 §4.1: NOTIFY=NEVER, or any of SUCCESS, FAILURE, DELAY; without NOTIFY a server reports failures.
DEFAULT_NOTIFY = frozenset({"FAILURE"})
# The delivery-status fields are written on one line each (RFC 5322's 998), so a quoted reply stays whole.
_FIELDS_POLICY = SMTP.clone(max_line_length=998)


# -- what the sender asked for (RFC 3461) ---------------------------------------------------------------
@dataclass(frozen=True)
class Dsn:
    """The DSN parameters of one message: RET and ENVID from MAIL, NOTIFY and ORCPT per recipient."""

    ret: str | None = None  # "FULL" or "HDRS"; None: the server's choice (Exchange returns headers)
    envid: str | None = None
    notify: dict[str, frozenset[str]] = field(default_factory=dict)
    orcpt: dict[str, str] = field(default_factory=dict)

    def wants(self, recipient: str, kind: str) -> bool:
        """Whether `recipient`'s sender asked for a `kind` report ("FAILURE" or "SUCCESS")."""
        asked = self.notify.get(recipient.lower(), DEFAULT_NOTIFY)
        return kind in asked and "NEVER" not in asked


NO_DSN = Dsn()
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")


def xtext_decode(text: str) -> str:
    """RFC 3461 §4: `+XX` is the octet XX in hexadecimal."""
    return _XTEXT.sub(lambda m: chr(int(m[1], 16)), text)


def _valid_envid(value: str) -> bool:
    """RFC 3461 §4.4: ENVID decodes to printable US-ASCII, at most 100 characters. Anything else (a CR LF
    smuggled in as +0D+0A would end up in the report's fields) makes the parameter invalid: ignored."""
    return 0 < len(value) <= 100 and all(" " <= c <= "~" for c in value)


def _valid_orcpt(value: str) -> bool:
    """RFC 3461 §4.2: ORCPT is `addr-type ";" xtext`, decoded to printable US-ASCII; invalid: ignored."""
    kind, semicolon, address = value.partition(";")
    return bool(kind and semicolon and address) and all(" " < c <= "~" for c in value)


def parse_dsn(mail_params: tuple[str, ...], rcpt_params: dict[str, tuple[str, ...]]) -> Dsn:
    """The DSN request from MAIL's and each RCPT's parameters as sent (names case-insensitive).

    Lab choice: NOTIFY=DELAY is accepted and never triggers a report (the lab delivers or fails at once;
    a deferred message is released within minutes).
    """
    ret = envid = None
    for param in mail_params:
        name, _, value = param.partition("=")
        if name.upper() == "RET" and value.upper() in ("FULL", "HDRS"):
            ret = value.upper()
        elif name.upper() == "ENVID" and _valid_envid(xtext_decode(value)):
            envid = xtext_decode(value)
    notify: dict[str, frozenset[str]] = {}
    orcpt: dict[str, str] = {}
    for recipient, params in rcpt_params.items():
        for param in params:
            name, _, value = param.partition("=")
            if name.upper() == "NOTIFY" and value:
                asked = (v.strip().upper() for v in value.split(","))
                notify[recipient.lower()] = frozenset(v for v in asked if v)
            elif name.upper() == "ORCPT" and _valid_orcpt(xtext_decode(value)):
                orcpt[recipient.lower()] = xtext_decode(value)
    return Dsn(ret, envid, notify, orcpt)


# -- the report ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """One recipient that could not be reached: the reply that says why, and the server that gave it."""

    recipient: str
    reply: Reply
    remote_server: str | None = None  # the outside server that refused it; None: Microsoft 365 itself


# What the user section says, by the start of the enhanced status code ([NDR] article's sections).
_FOR_USERS: tuple[tuple[str, str, str], ...] = (
    (
        "5.1.10",
        "{recipient} wasn't found at {domain}.",
        "Check the recipient's address for typos and send the message again; if it is right, ask the "
        "recipient's email admin whether the address exists.",
    ),
    (
        "5.1.1",
        "The recipient's email system says the address {recipient} doesn't exist.",
        "Check the address for typos, or contact the recipient by another means.",
    ),
    (
        "5.6.11",
        "The message has lines that end in a bare line feed, which the recipient's email system can't take.",
        "Ask the admin of the device or app that sent it to end every line with CRLF.",
    ),
    (
        "5.2.",
        "The message couldn't be delivered because of a size or mailbox limit.",
        "Make the message smaller, or try again later.",
    ),
    (
        "5.7.",
        "The recipient's email system refused the message for a security or policy reason.",
        "Forward this report to your email admin: the section below tells them what to change.",
    ),
    (
        "",
        "The message couldn't be delivered.",
        "Forward this report to your email admin.",
    ),
)


def _for_users(failure: Failure) -> tuple[str, str]:
    domain = failure.recipient.rpartition("@")[2]
    status = failure.reply.enhanced or ""
    cause, fix = next((c, f) for prefix, c, f in _FOR_USERS if status.startswith(prefix))
    return cause.format(recipient=failure.recipient, domain=domain), fix


def _one_line(text: str) -> str:
    """A header value on one line: a decoded Subject may hold CR or LF (an encoded word such as
    =?utf-8?q?a=0D=0ABcc:?=), which the email package refuses in a header it writes."""
    return " ".join(text.splitlines())


def _headers_text(original: bytes) -> str:
    head = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return head.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n") + "\n"


def _report(
    *,
    postmaster: str,
    sender: str,
    subject: str,
    when: datetime,
    message_id: str,
    readable: str,
    blocks: list[dict[str, str]],
    original: bytes,
    ret: str | None,
) -> bytes:
    report = EmailMessage(policy=SMTP)
    report["From"] = f"Microsoft Outlook <{postmaster}>"
    report["To"] = _one_line(sender)
    report["Subject"] = _one_line(subject)
    report.set_raw("Date", header_date(when))  # as written: the email package would add a leading zero
    report["Message-ID"] = message_id
    # Long lines (the quoted reply) stay readable: 7bit or 8bit, not quoted-printable (RFC 5322: 998).
    report.set_content(readable, cte="7bit" if readable.isascii() else "8bit")
    report.make_mixed()
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    status = EmailMessage(policy=SMTP)
    status["Content-Type"] = "message/delivery-status"
    parts = []
    for block in blocks:
        fields = Message(policy=_FIELDS_POLICY)
        for name, value in block.items():
            fields[name] = _one_line(value)
        parts.append(fields)
    status.set_payload(parts)
    report.attach(status)
    returned = EmailMessage(policy=SMTP)
    if ret == "FULL":
        # RET=FULL: the whole message comes back (RFC 3461 §4.3).
        returned.set_content(BytesParser(policy=default_policy).parsebytes(original))
    else:
        returned.set_content(_headers_text(original), subtype="rfc822-headers")
    report.attach(returned)
    return bytes(report)


def _per_message(arrived: datetime, dsn: Dsn) -> dict[str, str]:
    block = {"Reporting-MTA": f"dns;{GENERATING_SERVER}"}
    if dsn.envid:
        block["Original-Envelope-Id"] = dsn.envid
    block["Arrival-Date"] = header_date(arrived)
    return block


def _per_recipient(recipient: str, dsn: Dsn, action: str, status: str) -> dict[str, str]:
    block = {"Final-Recipient": f"rfc822;{recipient}"}
    if recipient.lower() in dsn.orcpt:
        block["Original-Recipient"] = dsn.orcpt[recipient.lower()]
    block["Action"] = action
    block["Status"] = status
    return block


def non_delivery_report(
    *,
    postmaster: str,
    sender: str,
    subject: str,
    original: bytes,
    failures: list[Failure],
    when: datetime,
    message_id: str,
    dsn: Dsn = NO_DSN,
    arrived: datetime | None = None,
) -> bytes:
    """The NDR Exchange Online sends the sender ([NDR]): "Undeliverable: <subject>", a readable part with
    the user section and the "Diagnostic information for administrators", a message/delivery-status part
    and the original headers (text/rfc822-headers; the whole message with RET=FULL). `arrived`: when
    Microsoft 365 took the message (Arrival-Date; a message deferred by the per-minute limit arrived before
    the report is written), `when` by default."""
    lines: list[str] = []
    for failure in failures:
        cause, fix = _for_users(failure)
        lines += [f"Your message to {failure.recipient} couldn't be delivered.", "", cause, "", fix, ""]
    lines += [ADMIN_SECTION, "", f"Generating server: {GENERATING_SERVER}", ""]
    for failure in failures:
        lines.append(failure.recipient)
        if failure.remote_server:
            lines.append(f"Remote server: {failure.remote_server}")
        lines += [f"Remote server returned '{failure.reply}'", ""]
    lines += [ORIGINAL_HEADERS, "", _headers_text(original)]
    blocks = [_per_message(arrived or when, dsn)]
    for failure in failures:
        block = _per_recipient(failure.recipient, dsn, "failed", failure.reply.enhanced or "5.0.0")
        if failure.remote_server:
            block["Remote-MTA"] = f"dns;{failure.remote_server}"
        block["Diagnostic-Code"] = f"smtp;{failure.reply}"
        blocks.append(block)
    return _report(
        postmaster=postmaster,
        sender=sender,
        subject=f"Undeliverable: {subject}",
        when=when,
        message_id=message_id,
        readable="\n".join(lines),
        blocks=blocks,
        original=original,
        ret=dsn.ret,
    )


def delivery_notification(
    *,
    postmaster: str,
    sender: str,
    subject: str,
    original: bytes,
    recipient: str,
    relayed_to: str | None,
    when: datetime,
    message_id: str,
    dsn: Dsn = NO_DSN,
    arrived: datetime | None = None,
) -> bytes:
    """NOTIFY=SUCCESS: "Delivered: <subject>" for a mailbox of the tenant, "Relayed: <subject>" for a
    hand-off to a server outside, which sends no report of its own (RFC 3464 Action: delivered/relayed)."""
    if relayed_to is None:
        word, action = "Delivered", "delivered"
        text = f"Your message has been delivered to the following recipients:\n\n{recipient}\n"
    else:
        word, action = "Relayed", "relayed"
        text = (
            "Delivery to these recipients or groups is complete, but no delivery notification was sent by "
            f"the destination server:\n\n{recipient}\n\nRemote server: {relayed_to}\n"
        )
    block = _per_recipient(recipient, dsn, action, "2.0.0")
    if relayed_to:
        block["Remote-MTA"] = f"dns;{relayed_to}"
    return _report(
        postmaster=postmaster,
        sender=sender,
        subject=f"{word}: {subject}",
        when=when,
        message_id=message_id,
        readable=text,
        blocks=[_per_message(arrived or when, dsn), block],
        original=original,
        ret="HDRS",  # a success report returns the headers only (RFC 3461 §4.3)
    )


# -- reading a report back (the mailbox viewer) -----------------------------------------------------------
@dataclass(frozen=True)
class ReportView:
    """A delivery report's sections, for a learner to read."""

    subject: str
    for_users: str
    for_admins: str
    fields: list[dict[str, str]]  # the message/delivery-status blocks: per message, then per recipient
    original_headers: str


def _text(part: Message) -> str:
    """A text part's content; its bytes as UTF-8 when its charset is unknown or its encoding broken (the
    viewer reads every report in a mailbox, and anyone can send one that claims to be a report)."""
    try:
        text = str(part.get_content())
    except (LookupError, UnicodeError, ValueError, KeyError, AttributeError):
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return text.replace("\r\n", "\n")


def _readable(part: Message) -> str | None:
    """The readable part's text: text/plain, or the text/plain of a multipart/alternative (as Exchange
    Online writes it, with an HTML twin)."""
    if part.get_content_type() == "text/plain":
        return _text(part)
    if part.get_content_type() == "multipart/alternative":
        return next((_text(p) for p in part.iter_parts() if p.get_content_type() == "text/plain"), None)
    return None


def _blocks(part: Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return []
    return [{k: " ".join(str(v).split()) for k, v in b.items()} for b in payload if isinstance(b, Message)]


def read_report(content: bytes) -> ReportView | None:
    """The sections of a multipart/report; report-type=delivery-status message, None for any other."""
    message = BytesParser(policy=default_policy).parsebytes(content)
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != (
        "delivery-status"
    ):
        return None
    readable: str | None = None
    headers = ""
    fields: list[dict[str, str]] = []
    for part in message.iter_parts():
        kind = part.get_content_type()
        if readable is None:
            readable = _readable(part)
        if kind == "message/delivery-status":
            fields = _blocks(part)
        elif kind == "text/rfc822-headers":
            headers = _text(part)
        elif kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                headers = "".join(f"{k}: {v}\n" for k, v in payload[0].items())
    users, _, admins = (readable or "").partition(ADMIN_SECTION)
    admins = admins.partition(ORIGINAL_HEADERS)[0]
    return ReportView(str(message.get("Subject", "")), users.strip(), admins.strip(), fields, headers.strip())


def is_report(content: bytes) -> bool:
    """A delivery report, by its Content-Type (headers only are read)."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
    return headers.get_content_type() == "multipart/report"
