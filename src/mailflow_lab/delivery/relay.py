"""Microsoft 365 relaying a message out: DKIM-signed, over real SMTP to the outside organisation's server."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from ..auth.dkim import sign_message
from ..policy import replies as R
from ..store.runtime import LabRuntime

RELAY_TIMEOUT_S = 30


@dataclass(frozen=True)
class RelayResult:
    """What the outside server answered for one recipient."""

    recipient: str
    reply: R.Reply
    server: str
    to_ip: str


def dkim_sign_outbound(runtime: LabRuntime, message: bytes, from_domain: str) -> bytes:
    """Sign as Microsoft 365 does: the From domain's key when its DKIM is on, else the initial domain's."""
    tenant = runtime.world.tenant
    config = tenant.dkim_for(from_domain)
    if config is None or not config.enabled:
        config = tenant.dkim_for(tenant.initial_domain)
    if config is None or not config.enabled or config.selector not in config.keys:
        return message
    key = config.keys[config.selector].read_bytes()
    return sign_message(message, config.domain, config.selector, key)


def relay_out(
    runtime: LabRuntime, message: bytes, mail_from: str, recipients: list[str]
) -> list[RelayResult]:
    """Hand the message to each recipient domain's server, appearing from Microsoft 365's outbound address."""
    by_server: dict[str, list[str]] = {}
    results: list[RelayResult] = []
    for recipient in recipients:
        domain = recipient.rpartition("@")[2].lower()
        org = runtime.world.outside_for(domain)
        mx = runtime.dns.mx(domain)
        server = mx[0][1] if mx else (org.mail_server if org else "")
        if not server or (server, 25) not in runtime.endpoints:
            # The lab is a closed world: a domain without a lab server cannot be reached.
            reply = R.Reply(550, "5.4.310", f"DNS domain {domain} does not exist or has no lab mail server")
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
        with smtplib.SMTP(host, port, local_hostname=_outbound_helo(), timeout=RELAY_TIMEOUT_S) as smtp:
            code, text = smtp.docmd("XCLIENT", f"ADDR={source} HELO={_outbound_helo()}")
            if code != 220:
                raise smtplib.SMTPResponseException(code, text)
            smtp.ehlo(_outbound_helo())
            refused = smtp.sendmail(mail_from, rcpts, message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return [RelayResult(r, reply, server, to_ip) for r in rcpts]
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        reply = R.Reply(451, "4.4.0", f"Message delivery to {server} failed: {exc}")
        return [RelayResult(r, reply, server, to_ip) for r in rcpts]
    results = []
    for rcpt in rcpts:
        if rcpt in refused:
            code, text = refused[rcpt]
            results.append(RelayResult(rcpt, _reply(code, text), server, to_ip))
        else:
            results.append(RelayResult(rcpt, R.Reply(250, "2.0.0", "Delivered"), server, to_ip))
    return results


def _outbound_helo() -> str:
    return "EUR05-AM6-obe.outbound.protection.outlook.com"


def _reply(code: int, text: bytes | str) -> R.Reply:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    enhanced, _, rest = raw.partition(" ")
    if enhanced.count(".") == 2 and enhanced.replace(".", "").isdigit():
        return R.Reply(code, enhanced, rest)
    return R.Reply(code, None, raw)
