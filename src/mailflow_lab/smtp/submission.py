"""smtp.office365.com: the SMTP AUTH client submission handler, translating SMTP events into policy calls."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

from aiosmtpd.smtp import Envelope, Session

from ..auth.oauth import MalformedXOAuth2, parse_xoauth2
from ..delivery.headers import headers_of
from ..delivery.transport import Transport
from ..policy import replies as R
from ..policy import submission as policy
from ..policy.lockout import BAD_CREDENTIALS_RULE
from ..store.runtime import LabRuntime
from .protocol import EndpointHandler, LabSMTP, reverse_path


class SubmissionHandler(EndpointHandler):
    """Handler for smtp.office365.com (and smtp-legacy.office365.com) on ports 587 and 25."""

    def __init__(self, runtime: LabRuntime, transport: Transport, *, legacy: bool = False) -> None:
        super().__init__(runtime)
        self.transport = transport
        self.legacy = legacy
        self.fqdn = R.SUBMISSION_FQDN

    # -- connection ----------------------------------------------------------------------------------
    def after_tls(self, server: LabSMTP) -> R.Reply | None:
        decision = policy.after_tls_handshake(
            server.facts.tls_version or "", legacy_endpoint=self.legacy, tenant=self.runtime.world.tenant
        )
        return decision.reply if decision else None

    def closed(self, server: LabSMTP) -> None:
        self.sign_out(server)

    def sign_out(self, server: LabSMTP) -> None:
        identity = server.facts.identity
        if identity is not None:
            with self.runtime.lock:
                self.runtime.signed_in[identity] -= 1
            server.facts.identity = None
        server.facts.auth_failure = None

    # -- EHLO ------------------------------------------------------------------------------------
    async def handle_EHLO(
        self, server: LabSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        lines = [R.ehlo_greeting(self.fqdn, server.facts.client_ip)]
        lines += policy.ehlo_extensions(server.facts.tls_active)
        return server.ehlo_reply(lines)

    # -- AUTH ------------------------------------------------------------------------------------
    async def auth(self, server: LabSMTP, mechanism: str, initial: str | None) -> R.Reply:
        facts = server.facts
        refused = policy.auth_mechanism(
            mechanism, tls_active=facts.tls_active, already=facts.identity is not None
        )
        if refused is not None:
            return refused.reply
        if mechanism == "LOGIN":
            username = _b64(initial) if initial else await _ask(server, R.AUTH_LOGIN_USERNAME)
            if username is None:
                return R.AUTH_ABORTED
            server.note_auth_user(username)
            password = await _ask(server, R.AUTH_LOGIN_PASSWORD)
            if password is None:
                return R.AUTH_ABORTED
            now = self.runtime.clock.now()
            locked = self.runtime.lockout.locked(username, facts.client_ip, now)
            if locked is not None:
                facts.auth_failure = locked.reply
                return locked.reply
            outcome = policy.authenticate_basic(self.runtime.world.tenant, username, password)
            failed = outcome.decision.rule == BAD_CREDENTIALS_RULE
            self.runtime.lockout.record(username, facts.client_ip, password, failed=failed, now=now)
        else:  # XOAUTH2
            blob = initial if initial else await server.challenge("334 ")
            if blob is None:
                return R.AUTH_ABORTED
            try:
                username, token = parse_xoauth2(blob)
            except MalformedXOAuth2:
                return R.XOAUTH2_BAD_DATA
            except ValueError:
                return R.AUTH_BAD_BASE64
            server.note_auth_user(username)
            check = self.runtime.tokens.validate(token, username)
            outcome = policy.authenticate_oauth(self.runtime.world.tenant, username, check.problem)
        if outcome.identity is None:
            facts.auth_failure = outcome.decision.reply
            return outcome.decision.reply
        with self.runtime.lock:
            busy = policy.concurrent_connections(
                self.runtime.signed_in[outcome.identity], self.runtime.submission_limits
            )
            if busy is None:
                self.runtime.signed_in[outcome.identity] += 1
                facts.identity = outcome.identity
                facts.auth_failure = None
        return busy.reply if busy else outcome.decision.reply

    # -- MAIL, RCPT, DATA ------------------------------------------------------------------------------
    async def handle_MAIL(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        declared = next((int(o[5:]) for o in options if o.startswith("SIZE=") and o[5:].isdigit()), None)
        decision = policy.mail_from(
            tls_active=server.facts.tls_active,
            identity=server.facts.identity,
            auth_failure=server.facts.auth_failure,
            declared_size=declared,
            limits=self.runtime.submission_limits,
        )
        if decision.accepted:
            envelope.mail_from = address
            envelope.mail_options.extend(options)
        return str(decision.reply)

    async def handle_RCPT(
        self, server: LabSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        decision = policy.rcpt_to(len(envelope.rcpt_tos), self.runtime.submission_limits)
        if decision.accepted:
            envelope.rcpt_tos.append(address)
        return str(decision.reply)

    async def handle_DATA(self, server: LabSMTP, session: Session, envelope: Envelope) -> str:
        login = server.facts.identity or ""
        content: bytes = envelope.original_content or b""
        _, from_address, _ = headers_of(content)
        _, recipients_24h = self.runtime.recent_submissions(login, timedelta(days=1))
        decision = policy.end_of_data(
            self.runtime.world.tenant,
            login=login,
            senders=[reverse_path(envelope), from_address],
            size=len(content),
            recipients=len(envelope.rcpt_tos),
            recipients_last_24h=recipients_24h,
            limits=self.runtime.submission_limits,
        )
        if not decision.accepted:
            return str(decision.reply)
        messages_last_minute, _ = self.runtime.recent_submissions(login, timedelta(minutes=1))
        incoming = self.incoming(server, envelope)
        delay = policy.deferral_minutes(messages_last_minute, self.runtime.submission_limits)
        # Files are written (and fsync'd) off the event loop; 250 goes out only once they are on disk.
        message_id = await asyncio.to_thread(self.transport.submit, incoming, login, delay)
        server.facts.messages += 1
        return str(R.queued(message_id, R.SUBMISSION_DIAG))


async def _ask(server: LabSMTP, prompt: str) -> str | None:
    answer = await server.challenge(prompt)
    return None if answer is None else _b64(answer)


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return "\x00invalid"


def handler_kwargs() -> dict[str, Any]:
    """aiosmtpd settings shared by the Microsoft 365 endpoints."""
    return {"data_size_limit": R.MAX_MESSAGE_SIZE_ADVERTISED, "auth_require_tls": True}
