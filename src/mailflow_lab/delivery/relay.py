"""Microsoft 365 relaying a message out: DKIM-signed, through EOP's outbound host, over real SMTP to the
outside organisation's server."""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass

from ..auth.dkim import sign_message
from ..policy import delivery as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from ..world.hosts import OUTBOUND_HELO
from .headers import header_value, prepend
from .smtpclient import hand_off

# The header the MX stamps on mail an OnPremises connector brought in (policy/antispam.connector_headers).
_FROM_ENTITY = "X-MS-Exchange-CrossTenant-FromEntityHeader"


@dataclass(frozen=True)
class RelayResult:
    """What the outside server answered for one recipient."""

    recipient: str
    reply: R.Reply
    server: str
    to_ip: str


def dkim_sign_outbound(runtime: LabRuntime, message: bytes, from_domain: str) -> bytes:
    """Sign with the key the delivery policy chooses for the From domain; unsigned when none can sign."""
    config = policy.signing_key(runtime.world.tenant, from_domain)
    if config is None:
        return message
    key = config.keys[config.selector].read_bytes()
    return sign_message(message, config.domain, config.selector, key)


def outbound_hop(runtime: LabRuntime, message: bytes) -> bytes:
    """The message as EOP's outbound host hands it on: its Received line and the mailbox server's
    X-MS-Exchange-CrossTenant-* headers on top (policy/delivery.outbound_hop_headers).

    Added after DKIM signing, as EOP adds them: none is a field the signature covers (auth/dkim.py signs
    From, To, Subject, Date, Message-ID and the MIME fields), so DKIM and DMARC still pass outside.
    """
    stamped = header_value(message, _FROM_ENTITY)
    headers = policy.outbound_hop_headers(
        runtime.clock.now(),
        str(uuid.uuid4()),
        from_entity=stamped or "Hosted",
        entity_stamped=stamped is not None,
    )
    return prepend(message, [f"{name}: {value}" for name, value in headers])


def relay_out(
    runtime: LabRuntime, message: bytes, mail_from: str, recipients: list[str]
) -> list[RelayResult]:
    """Hand the message to each recipient domain's server, appearing from Microsoft 365's outbound address
    (world network's microsoft365_outbound_ip, in EOP's published 40.107.0.0/16, which the lab zone's
    spf.protection.outlook.com lists), after EOP's outbound hop has stamped it."""
    message = outbound_hop(runtime, message)
    by_server: dict[str, list[str]] = {}
    results: list[RelayResult] = []
    for recipient in recipients:
        domain = recipient.rpartition("@")[2].lower()
        org = runtime.world.outside_for(domain)
        mx = runtime.dns.mx(domain)
        server = mx[0][1] if mx else (org.mail_server if org else "")
        if not server or (server, 25) not in runtime.endpoints:
            # The lab is a closed world: a domain without a lab server cannot be reached.
            reply = R.domain_unreachable(domain)
            results.append(RelayResult(recipient, reply, server or domain, ""))
            continue
        by_server.setdefault(server, []).append(recipient)
    for server, rcpts in by_server.items():
        results.extend(_send(runtime, server, message, mail_from, rcpts))
    return results


def _send(
    runtime: LabRuntime, server: str, message: bytes, mail_from: str, rcpts: list[str]
) -> list[RelayResult]:
    host, port = runtime.endpoint(server, 25)
    to_ip = next(iter(runtime.dns.addresses(server)), "")
    source = str(runtime.world.network.microsoft365_outbound_ip)
    try:
        with hand_off(host, port, helo=OUTBOUND_HELO, source_ip=source) as smtp:
            refused = smtp.sendmail(mail_from, rcpts, message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        reply = R.Reply.from_smtplib(exc.smtp_code, exc.smtp_error)
        return [RelayResult(r, reply, server, to_ip) for r in rcpts]
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        reply = R.hand_off_failed(server, str(exc))
        return [RelayResult(r, reply, server, to_ip) for r in rcpts]
    results = []
    for rcpt in rcpts:
        if rcpt in refused:
            code, text = refused[rcpt]
            results.append(RelayResult(rcpt, R.Reply.from_smtplib(code, text), server, to_ip))
        else:
            results.append(RelayResult(rcpt, R.RELAY_DELIVERED, server, to_ip))
    return results
