"""An outside organisation's own mail server (mail.fabrikam.com): SPF, DKIM and DMARC, then file or refuse."""

from __future__ import annotations

import asyncio
import uuid

from aiosmtpd.smtp import Envelope, Session

from ..auth.verdicts import authenticate
from ..delivery.headers import headers_of
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
        )

    def _accept(self, content: bytes, mail_from: str, rcpts: list[str], client_ip: str, helo: str) -> str:
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
        stamp = "".join(f"{name}: {value}\r\n" for name, value in policy.stamp(self.fqdn, results, filing))
        for rcpt in rcpts:
            self.runtime.store.deliver(rcpt, filing.folder, stamp.encode() + content)
        return str(R.fabrikam_queued(uuid.uuid4().hex[:10].upper()))
