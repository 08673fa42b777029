"""A third-party filter's server in front of Microsoft 365: it takes the tenant's mail and relays it on."""

from __future__ import annotations

import asyncio
import email.utils
import smtplib
import ssl
from collections.abc import Callable

from aiosmtpd.smtp import Envelope, Session

from ..policy import mailfilter as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from ..world.model import MailFilter
from .outside import ThirdPartyHandler
from .protocol import LabSMTP, reverse_path

RELAY_TIMEOUT_S = 30


class FilterHandler(ThirdPartyHandler):
    """Handler for a filtering service's MX host (Postfix-like wording, the lab's choice).

    Lab choice: the filter judges nothing itself and relays each message while the sender waits, passing
    Microsoft 365's answer back (a before-queue proxy). Real filters usually queue first and send a bounce
    later; the reply inside that bounce is the same. It relays from its own public address, with STARTTLS
    and a certificate for its host name, so a Partner connector can recognise it by IP or by certificate.
    """

    def __init__(
        self,
        runtime: LabRuntime,
        mail_filter: MailFilter,
        mx_host: str,
        tls_context: Callable[[], ssl.SSLContext],
    ) -> None:
        super().__init__(runtime)
        self.filter = mail_filter
        self.fqdn = mail_filter.host
        self.mx_host = mx_host
        self._tls_context = tls_context

    async def handle_MAIL(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return str(R.FABRIKAM_OK_SENDER)

    async def handle_RCPT(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        decision = policy.rcpt_to(self.runtime.world.tenant, self.filter, address)
        if decision.accepted:
            envelope.rcpt_tos.append(address)
        return str(decision.reply)

    async def handle_DATA(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        facts = server.facts
        received = policy.received_line(
            self.filter,
            facts.helo or "",
            facts.client_ip,
            facts.tls_active,
            email.utils.format_datetime(self.runtime.clock.now()),
        )
        content = f"Received: {received}\r\n".encode() + (envelope.original_content or b"")
        reply = await asyncio.to_thread(self._relay, reverse_path(envelope), list(envelope.rcpt_tos), content)
        return str(reply)

    def _relay(self, mail_from: str, rcpts: list[str], content: bytes) -> R.Reply:
        """Hand the message to the tenant's MX, appearing from the filter's public address.

        The answer is Microsoft 365's: its refusal of the sender or of every recipient, else its DATA reply.
        """
        try:
            host, port = self.runtime.endpoint(self.mx_host, 25)
            with smtplib.SMTP(host, port, local_hostname=self.fqdn, timeout=RELAY_TIMEOUT_S) as smtp:
                code, text = smtp.docmd("XCLIENT", f"ADDR={self.filter.public_ip} HELO={self.fqdn}")
                if code != 220:
                    return _reply(code, text)
                smtp.ehlo(self.fqdn)
                smtp._host = self.mx_host  # the name its certificate is checked against, not 127.0.0.1
                smtp.starttls(context=self._tls_context())
                smtp.ehlo(self.fqdn)
                code, text = smtp.mail(mail_from)
                if code != 250:
                    return _reply(code, text)
                refusals = []
                for rcpt in rcpts:
                    code, text = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        refusals.append(_reply(code, text))
                refused = policy.relay_refusal(refusals, len(rcpts))
                if refused is not None:
                    return refused
                code, text = smtp.data(content)
                return _reply(code, text)
        except (KeyError, OSError, smtplib.SMTPException):
            return R.FILTER_PROXY_FAILED


def _reply(code: int, text: bytes | str) -> R.Reply:
    raw = " ".join((text.decode("utf-8", "replace") if isinstance(text, bytes) else text).splitlines())
    enhanced, _, rest = raw.partition(" ")
    if enhanced.count(".") == 2 and enhanced.replace(".", "").isdigit():
        return R.Reply(code, enhanced, rest)
    return R.Reply(code, None, raw)
