"""A third-party filter's server in front of Microsoft 365: it takes the tenant's mail and relays it on."""

from __future__ import annotations

import asyncio
import email.utils
import smtplib
import ssl
from collections.abc import Callable

from aiosmtpd.smtp import Envelope, Session

from ..delivery.smtpclient import XclientRefused, hand_off
from ..policy import mailfilter as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from ..world.model import MailFilter
from .outside import ThirdPartyHandler
from .protocol import LabSMTP, reverse_path


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
            with hand_off(
                host,
                port,
                helo=self.fqdn,
                source_ip=str(self.filter.public_ip),
                tls=self._tls_context(),
                tls_name=self.mx_host,
            ) as smtp:
                code, text = smtp.mail(mail_from)
                if code != 250:
                    return R.Reply.from_smtplib(code, text)
                refusals = []
                for rcpt in rcpts:
                    code, text = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        refusals.append(R.Reply.from_smtplib(code, text))
                refused = policy.relay_refusal(refusals, len(rcpts))
                if refused is not None:
                    return refused
                code, text = smtp.data(content)
                return R.Reply.from_smtplib(code, text)
        except XclientRefused as refusal:
            return R.Reply.from_smtplib(refusal.smtp_code, refusal.smtp_error)
        except (KeyError, OSError, smtplib.SMTPException):
            return R.FILTER_PROXY_FAILED
