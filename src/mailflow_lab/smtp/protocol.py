"""aiosmtpd's SMTP protocol dressed as Exchange Online: XCLIENT, TLS facts, AUTH hand-off, exact wording."""

from __future__ import annotations

import asyncio
import collections
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, TLSSetupException

from ..policy import dates
from ..policy import replies as R
from ..policy import session as limits_policy
from ..policy.observed import AuthAttempt, SessionRecord, address_of, mechanism_name
from ..policy.session import SessionLimits
from . import compat, translate
from .chunking import Chunking
from .connections import ConnectionTable
from .data import DataCommand
from .facts import ConnectionFacts, EndpointHandler, certificate_names, reverse_path
from .recording import SessionRecording
from .timers import SessionTimers
from .xclient import XclientCommand


class _ChallengeLineTooLong(Exception):
    """The answer to an AUTH challenge was longer than any line the lab reads."""


class LabSMTP(SessionRecording, SessionTimers, DataCommand, Chunking, XclientCommand, SMTP):
    """One SMTP connection to a lab endpoint."""

    # RFC 4954 §4: an AUTH command line (an XOAUTH2 token) may be up to 12,288 octets.
    line_length_limit = 12288 + 2

    def __init__(
        self,
        handler: Any,
        *,
        fqdn: str,
        banner: str,
        limits: SessionLimits | None = None,
        connections: ConnectionTable | None = None,
        **kwargs: Any,
    ) -> None:
        self.limits = limits or SessionLimits()
        kwargs.setdefault("timeout", self.limits.idle_timeout_s)
        super().__init__(handler, hostname=fqdn, ident=banner, enable_SMTPUTF8=True, **kwargs)
        # aiosmtpd keeps these limits in a dict shared by every instance: give this one its own.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"AUTH": self.line_length_limit}
        )
        # The session's id, as Exchange Online shows it at the end of its banner and of every error reply
        # (`08DD66EDEFB0DFDF`: 16 upper-case hex digits); kept in the session log and the trace.
        self.session_id = f"08D{secrets.randbits(52):013X}"
        # The host a Microsoft endpoint names in its replies' suffix; None for Postfix-like servers.
        self._diagnostic_host = R.diagnostic_host(fqdn)
        self.__ident__ = R.banner_with_session(banner, self.session_id) if self._diagnostic_host else banner
        self.facts = ConnectionFacts(peer_ip="", client_ip="")
        self._refusal: R.Reply | None = None
        self._connections = connections or ConnectionTable(self.limits)
        self._counted_as: str | None = None  # the address this session counts against in the table
        self._refused_at_connect: R.Reply | None = None
        self._hanging_up = False  # a closing reply went out: nothing more is written
        self._commands = 0
        self._protocol_errors = 0
        self._command: str | None = None  # the command being answered (for aiosmtpd's address wording)
        self._handshaking = False  # in a STARTTLS handshake: no plaintext reply may go out
        self.record: SessionRecord | None = None  # what this session shows of its client (sessions.py)
        self._verb: str | None = None  # the command being answered, for the record
        self._first_bytes = True  # nothing read yet on this connection
        self._held: list[str] = []  # the first lines of a multi-line reply, until its last line
        # Every command counts against SessionLimits.max_commands (unknown ones count as protocol errors):
        # one counting dispatch (compat.CommandTable).
        self._smtp_methods = compat.CommandTable(self, _counted)

    def __dir__(self) -> list[str]:
        return compat.hook_names(type(self))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return compat.getaddr(self, arg)

    # -- connection --------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starting_tls = self._original_transport is not None
        super().connection_made(transport)
        if not starting_tls:
            self.event_handler.runtime.refresh_tenant()
            peer = transport.get_extra_info("peername") or ("", 0)
            self.facts.peer_ip = str(peer[0])
            self.facts.client_ip = self.event_handler.default_client_ip()
            self._open_record(transport)
            self._start_session_clock()
            refusal = self._connections.admit(self.facts.client_ip)
            if refusal is None:
                self._counted_as = self.facts.client_ip
            else:
                self._refused_at_connect = refusal.reply
            return
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.facts.tls_version = ssl_object.version()
            cipher = ssl_object.cipher()
            self.facts.tls_cipher = cipher[0] if cipher else None
            self.facts.cert_names = tuple(certificate_names(ssl_object))
        self._refusal = self.event_handler.after_tls(self)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            self._stop_clocks()
            self._close_record()
            if self._counted_as is not None:
                self._connections.release(self._counted_as)
                self._counted_as = None
            self.event_handler.closed(self)
        finally:
            super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._refused_at_connect is not None:
            # MaxInboundConnection(PerSource): the refusal instead of the banner, then hang up.
            await self.refuse_and_close(self._refused_at_connect)
            return
        await super()._handle_client()

    def data_received(self, data: bytes) -> None:
        if self._hanging_up:
            return  # the lab has hung up: what the client still sends is dropped unread
        # ConnectionInactivityTimeout counts silence: any byte (a slow DATA upload too) restarts it.
        if self.transport is not None:
            self._reset_timeout()
        self._count_upload(len(data))
        if self._first_bytes and not self.facts.tls_active:
            self._first_bytes = False
            # A TLS record header (handshake 0x16, version 3.x) as the very first bytes on a port that
            # starts in plain text: the client began TLS at once, as a device set to port 465 / "SSL" does.
            # Lab choice: record it and close without a reply (the client could not read one); Microsoft
            # 365 offers no implicit TLS at all, so the device fails there too.
            if data[:2] == b"\x16\x03":
                if self.record is not None:
                    self.record.implicit_tls = True
                self._hang_up()
                return
        super().data_received(data)

    def _hang_up(self) -> None:
        """Close, and stop reading now: what the client already sent is not processed any more.

        aiosmtpd's loop would go on with input already buffered until the connection is reported lost;
        and a reader paused on a full buffer asks the transport to resume reading, which a TLS transport
        closed twice (aiosmtpd closes it again after some of its own replies) cannot do. So the buffer is
        emptied and unpaused: the loop's next read waits, and the cancellation ends it there.
        """
        self._hanging_up = True
        compat.drop_buffered_input(self._reader)
        if self._handler_coroutine is not None:
            self._handler_coroutine.cancel()
        if self.transport is not None:
            self.transport.close()

    async def push(self, status: Any) -> None:
        if self._hanging_up or self.transport is None or self.transport.is_closing():
            # After a closing reply (aiosmtpd's QUIT too), or a client that left, nothing more goes out,
            # and nothing more the client sent is read.
            if not self._hanging_up:
                self._hang_up()
            return
        line = self._line(status)
        if self.record is not None:
            self.record.reply(self._verb, R.without_echo(line))
        if line[3:4] == "-":  # a line of a multi-line reply (EHLO's): written with its last line, in one send
            self._held.append(line)
            return
        last = line
        if self._held:
            line, self._held = "\r\n".join([*self._held, line]), []
        try:
            await super().push(line)
        except ConnectionError:
            self._hang_up()
            return
        if limits_policy.is_protocol_error(last):
            self._protocol_errors += 1
            refusal = limits_policy.protocol_errors_refusal(self._protocol_errors)
            if refusal is not None:
                await self.refuse_and_close(refusal.reply)

    def _line(self, status: Any) -> str:
        """A reply in Exchange's words; on a Microsoft endpoint an error ends `[<host> <time> <id>]`."""
        line = translate.reply_line(status, self._command)
        if self._diagnostic_host is None or not R.takes_diagnostics(line):
            return line
        when = dates.diagnostic_time(self.event_handler.runtime.clock.now())
        return R.with_diagnostics(line, self._diagnostic_host, when, self.session_id)

    def ehlo_reply(self, lines: list[str]) -> list[str]:
        """A multi-line 250 EHLO reply; XCLIENT is listed only when the lab was told to (swaks needs it)."""
        if self.event_handler.runtime.advertise_xclient and self._loopback_peer():
            lines = [*lines, "XCLIENT ADDR NAME HELO"]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def refuse_and_close(self, reply: R.Reply) -> None:
        """A closing reply (421, or a refusal after TLS): nothing is written after it."""
        await self.push(reply)
        self._hang_up()

    # -- commands ------------------------------------------------------------------------------------
    def _gate(self) -> bool:
        """True when the connection is refused (e.g. TLS 1.0 after STARTTLS): answer 421 and close."""
        return self._refusal is not None

    async def smtp_EHLO(self, hostname: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        problem = limits_policy.helo_problem(hostname, fqdn=self.hostname, extended=True)
        if problem is not None:
            await self.push(problem.reply)
            return
        self.facts.helo = hostname or self.facts.helo
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        problem = limits_policy.helo_problem(hostname, fqdn=self.hostname, extended=False)
        if problem is not None:
            await self.push(problem.reply)
            return
        if self._diagnostic_host is None:
            self.facts.helo = hostname or self.facts.helo
            await super().smtp_HELO(hostname)
            return
        # Exchange answers HELO with the first line of its EHLO reply, a bare HELO on the MX too.
        self._set_rset_state()
        assert self.session is not None
        self.session.extended_smtp = False
        self.session.host_name = hostname or f"[{self.facts.client_ip}]"
        self.facts.helo = hostname or self.facts.helo
        await self.push(f"250 {R.ehlo_greeting(self.hostname, self.facts.client_ip)}")

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        if self.facts.tls_active:
            await self.push(R.TLS_ALREADY_ACTIVE)
            return
        if self.record is not None:
            self.record.starttls = True
        if arg or not self.tls_context:
            await super().smtp_STARTTLS(arg)  # its 501 or 454, in Exchange's words (see push)
            return
        await self.push(R.STARTTLS_READY)
        waiter = compat.start_server_tls(self, self.tls_context)
        self._handshaking = True
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self.record is not None:
                self.record.tls_failed = True
            raise TLSSetupException() from error
        finally:
            self._handshaking = False

    async def smtp_MAIL(self, arg: str | None) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        self._command = "MAIL"
        if self.record is not None:
            self.record.mail(address_of(arg))
        if not arg and self._diagnostic_host is not None:
            await self.push(R.UNRECOGNIZED_PARAMETER)  # a bare MAIL (CyberNinjas/pam_aad#34)
            self._command = None
            return
        try:
            await super().smtp_MAIL(translate.strip_params(arg, translate.DSN_MAIL_PARAMS, binarymime=True))
            envelope = self.envelope
            if envelope is not None and envelope.mail_from:
                envelope.dsn_mail_params = translate.dsn_params(arg, translate.DSN_MAIL_PARAMS)  # type: ignore[attr-defined]
                envelope.lab_binarymime = translate.declares_binarymime(arg)  # type: ignore[attr-defined]
        finally:
            self._command = None

    async def smtp_RCPT(self, arg: str | None) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        self._command = "RCPT"
        if self.record is not None:
            self.record.rcpt(address_of(arg))
        envelope = self.envelope
        accepted = len(envelope.rcpt_tos) if envelope is not None else 0
        try:
            await super().smtp_RCPT(translate.strip_params(arg, translate.DSN_RCPT_PARAMS))
            if envelope is not None and len(envelope.rcpt_tos) > accepted:
                params = getattr(envelope, "dsn_rcpt_params", None)
                if params is None:
                    params = envelope.dsn_rcpt_params = {}  # type: ignore[attr-defined]
                params[envelope.rcpt_tos[-1]] = translate.dsn_params(arg, translate.DSN_RCPT_PARAMS)
        finally:
            self._command = None

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """Addresses no lab rule could route or file are refused before any handler sees them."""
        if command in ("MAIL", "RCPT") and args:
            problem = limits_policy.address_problem(str(args[0]), sender=command == "MAIL")
            if problem is not None:
                return str(problem.reply)
        return await super()._call_handler_hook(command, *args)

    async def smtp_RSET(self, arg: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        self._set_rset_state()
        await self.push(R.RSET if not arg else R.SYNTAX_ERROR)

    async def smtp_NOOP(self, arg: str) -> None:
        await self.push(R.NOOP)

    async def smtp_VRFY(self, arg: str) -> None:
        """Exchange Online never tells whether an address exists."""
        await self.push(R.CANNOT_VRFY)

    async def smtp_HELP(self, arg: str) -> None:
        for line in R.help_lines():
            await self.push(line)

    async def smtp_AUTH(self, arg: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        if self.session is not None and not self.session.host_name:
            await self.push(R.SEND_HELLO_FIRST)
            return
        if not arg:
            await self.push(R.SYNTAX_ERROR)
            return
        word, _, initial = arg.partition(" ")
        # Only a known SASL mechanism name is kept: a client may put anything after AUTH, its password too.
        mechanism = mechanism_name(word)
        self.facts.auth_mechanisms_tried.append(mechanism)
        if self.record is not None:
            self.record.auth.append(AuthAttempt(mechanism))
        try:
            status = await self.event_handler.auth(self, mechanism, initial.strip() or None)
        except _ChallengeLineTooLong:
            status = R.LINE_TOO_LONG
        await self.push(status)

    async def challenge(self, line: str) -> str | None:
        """Send a raw 334 line, read the client's answer; None when the client aborted with '*' or left."""
        await self.push(line)
        reader = self._reader
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as error:
            # As aiosmtpd does for a command line: read the rest of the line, then refuse it.
            await reader.read(error.consumed)
            while True:
                try:
                    await reader.readuntil(b"\n")
                    break
                except asyncio.LimitOverrunError as more:
                    await reader.read(more.consumed)
            raise _ChallengeLineTooLong from None
        answer = raw.strip()
        if answer == b"*":
            return None
        return answer.decode("ascii", "replace")

    def _create_session(self) -> Session:
        return Session(self.loop)

    def _create_envelope(self) -> Envelope:
        return Envelope()


__all__ = ["AuthResult", "ConnectionFacts", "EndpointHandler", "LabSMTP", "reverse_path"]


async def _counted(self: LabSMTP, verb: str, method: Callable[[Any], Awaitable[None]], arg: Any) -> None:
    """The one dispatch of every command: count it (SessionLimits.max_commands), note it, then run it."""
    self._commands += 1
    self._verb = verb
    refusal = limits_policy.command_refusal(self._commands, self.limits)
    if refusal is not None:
        await self.refuse_and_close(refusal.reply)
        return
    await method(arg)
