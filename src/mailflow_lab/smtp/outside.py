"""An outside organisation's own mail server (mail.fabrikam.com): SPF, DKIM and DMARC, then file or refuse."""

from __future__ import annotations

import asyncio
import uuid

from aiosmtpd.smtp import Envelope, Session

from ..auth.dkim import verify_all
from ..auth.dmarc import evaluate_dmarc
from ..auth.spf import check_spf
from ..delivery.transport import headers_of
from ..policy import outside as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from ..world.model import OutsideOrganisation
from .protocol import EndpointHandler, LabSMTP, reverse_path

MAX_MESSAGE_SIZE = 52428800  # what it advertises, and enforces (aiosmtpd answers 552 past it)
EXTENSIONS = ("PIPELINING", f"SIZE {MAX_MESSAGE_SIZE}", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8")


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
        dns = self.runtime.dns
        spf = check_spf(client_ip, mail_from, helo, dns=dns)
        dkim = verify_all(content, dns)
        _, from_address, _ = headers_of(content)
        from_domain = from_address.rpartition("@")[2] or spf.domain
        dmarc = evaluate_dmarc(from_domain, spf.result, spf.domain, [(v.result, v.domain) for v in dkim], dns)
        dkim_result = dkim[0].result if dkim else "none"
        filing = policy.file_message(
            self.org,
            spf=spf.result,
            dkim=dkim_result,
            dmarc=dmarc.result,
            disposition=dmarc.disposition,
            from_domain=from_domain,
        )
        if filing.folder is None:
            return str(filing.decision.reply)
        dkim_domain = dkim[0].domain if dkim and dkim[0].domain else "none"
        stamp = (
            f"Authentication-Results: {self.fqdn}; spf={spf.result} smtp.mailfrom={spf.domain}; "
            f"dkim={dkim_result} header.d={dkim_domain}; dmarc={dmarc.result} header.from={from_domain}\r\n"
            f"X-MailflowLab-Filing: {filing.folder}; {filing.decision.explanation}\r\n"
        ).encode()
        for rcpt in rcpts:
            self.runtime.store.deliver(rcpt, filing.folder, stamp + content)
        return str(R.fabrikam_queued(uuid.uuid4().hex[:10].upper()))
