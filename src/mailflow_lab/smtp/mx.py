"""The tenant MX (contoso-com.mail.protection.outlook.com:25): direct send and connector relay."""

from __future__ import annotations

import asyncio
import secrets
import time
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import Envelope, Session

from ..auth.verdicts import authenticate
from ..delivery.headers import header_block, headers_of
from ..delivery.transport import Incoming, Transport
from ..policy import antispam, enhanced_filtering
from ..policy import inbound as policy
from ..policy import replies as R
from ..store.runtime import LabRuntime
from .protocol import EndpointHandler, LabSMTP, reverse_path


class MXHandler(EndpointHandler):
    """Handler for the tenant's MX host: anonymous SMTP, STARTTLS optional, client certificates welcome.

    It offers no AUTH at all ([MFD] direct send details): the base class answers 504 5.7.4.
    """

    def __init__(self, runtime: LabRuntime, transport: Transport) -> None:
        super().__init__(runtime)
        self.transport = transport
        self.fqdn = R.MX_FQDN

    async def handle_EHLO(
        self, server: LabSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        extensions = (
            policy.ehlo_extensions_after_tls() if server.facts.tls_active else policy.ehlo_extensions()
        )
        lines = [R.ehlo_greeting(self.fqdn, server.facts.client_ip), *extensions]
        return server.ehlo_reply(lines)

    async def handle_MAIL(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        self._routes(envelope).clear()
        return str(R.SENDER_OK)

    async def handle_RCPT(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        facts = policy.InboundFacts(
            client_ip=server.facts.client_ip,
            cert_names=server.facts.cert_names,
            tls_active=server.facts.tls_active,
            mail_from=reverse_path(envelope),
            rcpt=address,
            recipients_so_far=len(envelope.rcpt_tos),
        )
        outcome = policy.rcpt_to(self.runtime.world.tenant, facts)
        if outcome.decision.accepted:
            envelope.rcpt_tos.append(address)
            self._routes(envelope)[address] = (outcome.route or "inbound", outcome.connector)
        envelope.lab_data_clock = time.perf_counter()  # type: ignore[attr-defined]
        return str(outcome.decision.reply)

    async def handle_DATA(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        # The acceptance line's "<size> bytes in <seconds>": the handler sees neither the DATA command
        # nor its 354, so the time runs from its last answer before the data (the last RCPT TO, a moment
        # before the client's DATA or BDAT) to the 250 being ready: the command, the 354, the transfer
        # and EOP's checks and filing. Real time, not the lab clock (which a lesson may move on).
        started = getattr(envelope, "lab_data_clock", None) or time.perf_counter()
        routes = self._routes(envelope)
        connector = next((c for _, c in routes.values() if c), None)
        incoming = self.incoming(server, envelope)
        source = enhanced_filtering.original_source(
            self.runtime.world.tenant,
            server.facts.client_ip,
            server.facts.cert_names,
            received_headers(incoming.content),
            list(envelope.rcpt_tos),
        )
        return await asyncio.to_thread(self._accept, incoming, connector, source.ip, started)

    def _accept(
        self,
        incoming: Incoming,
        connector: str | None,
        source_ip: str | None = None,
        started: float | None = None,
    ) -> str:
        results = self.authenticate(incoming, source_ip)
        verdict = antispam.evaluate(results, via_connector=connector is not None)
        if verdict.reply is not None:
            # Refused in the session: nothing is stored and no mailbox sees it.
            return str(verdict.reply)
        if connector is not None:
            kind = policy.connector_mail(self.runtime.world.tenant, connector, incoming.recipients)
            stamp = antispam.connector_headers(
                incoming.client_ip,
                incoming.helo,
                kind.internal_only,
                treat_as_internal=kind.treat_as_internal,
            )
        else:
            stamp = antispam.headers(results, verdict)
        message_id = self.transport.inbound(incoming, verdict, stamp, connector)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        # InternalId: a 12-digit number, as in real acceptances.
        internal_id = 10**11 + secrets.randbelow(9 * 10**11)
        return str(R.mx_queued(message_id, internal_id, len(incoming.content), elapsed))

    def authenticate(self, incoming: Incoming, source_ip: str | None = None) -> antispam.AuthResults:
        """SPF, DKIM and DMARC of the message (auth/verdicts.py), from the client's address.

        `source_ip` is the original sender's address when Enhanced Filtering for Connectors found one.
        """
        _, from_address, _ = headers_of(incoming.content)
        return authenticate(
            incoming.content,
            client_ip=source_ip or incoming.client_ip,
            mail_from=incoming.mail_from,
            helo=incoming.helo,
            header_from=from_address,
            dns=self.runtime.dns,
        )

    @staticmethod
    def _routes(envelope: Envelope) -> dict[str, tuple[str, str | None]]:
        routes = getattr(envelope, "lab_routes", None)
        if routes is None:
            routes = {}
            envelope.lab_routes = routes  # type: ignore[attr-defined]
        return routes


def received_headers(content: bytes) -> list[str]:
    """The Received headers of a message as it arrived, newest (top) first."""
    parsed = BytesHeaderParser().parsebytes(header_block(content))
    return [str(v) for v in parsed.get_all("Received", [])]
