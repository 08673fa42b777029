"""An outside organisation's own mail server (mail.fabrikam.com): SPF, DKIM and DMARC, then file or refuse."""

from __future__ import annotations

import asyncio
import secrets

import dns.exception
import dns.reversename
from aiosmtpd.smtp import Envelope, Session

from ..auth.verdicts import authenticate
from ..delivery.headers import headers_of, prepend
from ..policy import delivery as delivery_policy
from ..policy import outside as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from ..world.model import OutsideOrganisation
from .protocol import EndpointHandler, LabSMTP, reverse_path

MAX_MESSAGE_SIZE = R.POSTFIX_MESSAGE_SIZE_LIMIT  # advertised, and enforced (aiosmtpd answers 552 past it)
EXTENSIONS = R.POSTFIX_EHLO_EXTENSIONS


class ThirdPartyHandler(EndpointHandler):
    """A mail server outside Microsoft 365 (Postfix-like wording, the lab's choice): banner, EHLO, no AUTH."""

    def banner_text(self, date: str) -> str:
        """The greeting after '220 <host>': Postfix's, not Exchange Online's (servers.py asks for it)."""
        return R.postfix_banner_text(date)

    async def auth(self, server: LabSMTP, mechanism: str, initial: str | None) -> R.Reply:
        return R.AUTH_NOT_ENABLED

    async def handle_EHLO(
        self, server: LabSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return server.ehlo_reply([self.fqdn, *EXTENSIONS])


class OutsideHandler(ThirdPartyHandler):
    """Handler for one outside organisation's receiving server."""

    data_size_limit = MAX_MESSAGE_SIZE

    def __init__(self, runtime: LabRuntime, org: OutsideOrganisation) -> None:
        super().__init__(runtime)
        self.org = org
        self.fqdn = org.mail_server

    async def handle_MAIL(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return str(R.FABRIKAM_OK_SENDER)

    async def handle_RCPT(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        decision = policy.rcpt_to(self.org, address)
        if decision.accepted:
            envelope.rcpt_tos.append(address)
        return str(decision.reply)

    async def handle_DATA(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        return await asyncio.to_thread(
            self._accept,
            envelope.original_content or b"",
            reverse_path(envelope),
            list(envelope.rcpt_tos),
            server.facts.client_ip,
            server.facts.helo or "unknown",
            server.facts.tls_active,
        )

    def client_name(self, client_ip: str) -> str:
        """The client's name as Postfix records it: its PTR name in the lab DNS when that name's own
        addresses include the client's (forward-confirmed), else `unknown` (Postfix smtpd's "client
        hostname", as postconf(5) defines it under reject_unknown_client_hostname)."""
        try:
            answer = self.runtime.dns.resolve(dns.reversename.from_address(client_ip), "PTR")
        except (dns.exception.DNSException, ValueError):
            return "unknown"
        for record in answer.records:
            name = record.target.to_text(omit_final_dot=True)
            if client_ip in self.runtime.dns.addresses(name):
                return name
        return "unknown"

    def _accept(
        self, content: bytes, mail_from: str, rcpts: list[str], client_ip: str, helo: str, tls: bool = False
    ) -> str:
        _, from_address, _ = headers_of(content)
        results = authenticate(
            content,
            client_ip=client_ip,
            mail_from=mail_from,
            helo=helo,
            header_from=from_address,
            dns=self.runtime.dns,
        )
        filing = policy.file_message(
            self.org,
            spf=results.spf,
            dkim=results.dkim,
            dmarc=results.dmarc,
            disposition=results.dmarc_disposition,
            from_domain=results.header_from_domain,
        )
        if filing.folder is None:
            return str(filing.decision.reply)
        # Postfix's short queue id: ten hex digits, named in its Received line and in its 250 reply.
        queue_id = secrets.token_hex(5).upper()
        now = self.runtime.clock.now()
        received = delivery_policy.postfix_received(
            helo, self.client_name(client_ip), client_ip, self.fqdn, queue_id, rcpts, tls, now
        )
        # Top to bottom as Fabrikam files it: its milters' Authentication-Results on top, then the
        # Received line smtpd wrote on arrival, then the message as it came.
        stamp = [f"{name}: {value}" for name, value in policy.stamp(self.fqdn, results, filing)]
        stored = prepend(content, [*stamp, received])
        for rcpt in rcpts:
            self.runtime.store.deliver(rcpt, filing.folder, stored)
        return str(R.fabrikam_queued(queue_id))
