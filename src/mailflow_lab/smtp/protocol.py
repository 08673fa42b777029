"""aiosmtpd's SMTP protocol dressed as Exchange Online: XCLIENT, TLS facts, AUTH hand-off, exact wording."""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import collections
import functools
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session, TLSSetupException

from ..delivery.transport import Incoming
from ..policy import replies as R
from ..policy import session as limits_policy
from ..policy.observed import AuthAttempt, SessionRecord, address_of, mechanism_name
from ..policy.session import SessionLimits
from . import translate
from .connections import ConnectionTable


@dataclass
class ConnectionFacts:
    """What one connection has shown so far; kept across STARTTLS (aiosmtpd starts a new Session there)."""

    peer_ip: str
    client_ip: str
    xclient: bool = False
    helo: str | None = None
    tls_version: str | None = None
    tls_cipher: str | None = None
    cert_names: tuple[str, ...] = ()
    identity: str | None = None
    auth_failure: R.Reply | None = None
    auth_mechanisms_tried: list[str] = field(default_factory=list)
    messages: int = 0

    @property
    def tls_active(self) -> bool:
        return self.tls_version is not None


class EndpointHandler:
    """What every endpoint's handler shares: the runtime, the default client address, quiet hooks.

    Subclasses add aiosmtpd's handle_EHLO/MAIL/RCPT/DATA hooks and override what their endpoint does.
    """

    fqdn: str
    served_as: tuple[str, int] = ("", 0)  # the world (host name, port) this handler answers for

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def default_client_ip(self) -> str:
        """Without XCLIENT a client is taken to be behind the office's NAT address (DESIGN.md)."""
        return str(self.runtime.world.network.office.public_ip)

    async def auth(self, server: LabSMTP, mechanism: str, initial: str | None) -> R.Reply:
        return R.AUTH_UNRECOGNIZED

    def after_tls(self, server: LabSMTP) -> R.Reply | None:
        return None

    def incoming(self, server: LabSMTP, envelope: Envelope) -> Incoming:
        """The message of this DATA, with what the session showed of its client."""
        return Incoming(
            mail_from=reverse_path(envelope),
            recipients=list(envelope.rcpt_tos),
            content=envelope.original_content or b"",
            client_ip=server.facts.client_ip,
            helo=server.facts.helo or "",
            tls_version=server.facts.tls_version,
            endpoint_fqdn=self.fqdn,
        )

    def closed(self, server: LabSMTP) -> None:
        return None

    async def handle_exception(self, error: Exception) -> str:
        """Never a traceback: note the error (no secrets, no stack) and answer a temporary failure.

        Two are not errors of the lab and are not noted: a client whose TLS handshake fails after STARTTLS
        (the connection is closed; nothing can be said in clear any more) and a client that went away.
        """
        if not isinstance(error, TLSSetupException | ConnectionError):
            self.runtime.errors.append(f"{type(error).__name__}: {error}")
        return str(R.TEMPORARY_SERVER_ERROR)


class _ChallengeLineTooLong(Exception):
    """The answer to an AUTH challenge was longer than any line the lab reads."""


class LabSMTP(SMTP):
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
        self.__ident__ = banner
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
        # Every command counts against SessionLimits.max_commands (unknown ones count as protocol errors).
        self._smtp_methods = {name: self._counted(method) for name, method in self._smtp_methods.items()}

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
            self.facts.cert_names = tuple(_certificate_names(ssl_object))
        self._refusal = self.event_handler.after_tls(self)

    def connection_lost(self, error: Exception | None) -> None:
        try:
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

    def _timeout_cb(self) -> None:
        """Idle too long: Exchange's 451 4.7.0, then hang up (aiosmtpd would just close)."""
        if self.transport is None:
            return
        if not self._hanging_up and not self._handshaking:
            self._writer.write(translate.wire(limits_policy.idle_timeout(self.limits).reply))
        self._hang_up()

    def _hang_up(self) -> None:
        """Close, and stop reading now: what the client already sent is not processed any more.

        aiosmtpd's loop would go on with input already buffered until the connection is reported lost;
        and a reader paused on a full buffer asks the transport to resume reading, which a TLS transport
        closed twice (aiosmtpd closes it again after some of its own replies) cannot do. So the buffer is
        emptied and unpaused: the loop's next read waits, and the cancellation ends it there.
        """
        self._hanging_up = True
        reader = self._reader
        if reader is not None:
            reader._buffer.clear()  # type: ignore[attr-defined]  # as aiosmtpd does at STARTTLS
            reader._paused = False  # type: ignore[attr-defined]
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
        line = translate.reply_line(status, self._command)
        if self.record is not None:
            self.record.reply(self._verb, line)
        try:
            await super().push(line)
        except ConnectionError:
            self._hang_up()
            return
        if limits_policy.is_protocol_error(line):
            self._protocol_errors += 1
            refusal = limits_policy.protocol_errors_refusal(self._protocol_errors)
            if refusal is not None:
                await self.refuse_and_close(refusal.reply)

    def _counted(self, method: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        @functools.wraps(method)
        async def counted(arg: Any) -> None:
            self._commands += 1
            self._verb = method.__name__.removeprefix("smtp_")
            refusal = limits_policy.command_refusal(self._commands, self.limits)
            if refusal is not None:
                await self.refuse_and_close(refusal.reply)
                return
            await method(arg)

        return counted

    def ehlo_reply(self, lines: list[str]) -> list[str]:
        """A multi-line 250 EHLO reply; XCLIENT is listed only when the lab was told to (swaks needs it)."""
        if self.event_handler.runtime.advertise_xclient and self._loopback_peer():
            lines = [*lines, "XCLIENT ADDR NAME HELO"]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    def _loopback_peer(self) -> bool:
        try:
            return ipaddress.ip_address(self.facts.peer_ip).is_loopback
        except ValueError:
            return False

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
        self.facts.helo = hostname or self.facts.helo
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        self.facts.helo = hostname or self.facts.helo
        await super().smtp_HELO(hostname)

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
        # aiosmtpd's STARTTLS, with one change: plaintext the client sent after STARTTLS (RFC 3207 §4.2
        # says it must not) is dropped, and a socket paused because that plaintext filled the reader is
        # resumed. Paused, the TLS handshake would never see the client's bytes, nor its end, and would
        # hang until asyncio's 60-second handshake timeout.
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(self.loop, self, self.tls_context, waiter, server_side=True)
        raw = self.transport
        assert raw is not None
        self._original_transport = raw
        raw.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(raw)
        self._reader._buffer.clear()  # type: ignore[attr-defined]
        self._reader._paused = False  # type: ignore[attr-defined]
        if not raw.is_reading():  # type: ignore[attr-defined]
            raw.resume_reading()  # type: ignore[attr-defined]
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
        try:
            await super().smtp_MAIL(translate.strip_params(arg, translate.DSN_MAIL_PARAMS, binarymime=True))
        finally:
            self._command = None

    async def smtp_RCPT(self, arg: str | None) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        self._command = "RCPT"
        if self.record is not None:
            self.record.rcpt(address_of(arg))
        try:
            await super().smtp_RCPT(translate.strip_params(arg, translate.DSN_RCPT_PARAMS))
        finally:
            self._command = None

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """Addresses no lab rule could route or file are refused before any handler sees them."""
        if command in ("MAIL", "RCPT") and args:
            problem = limits_policy.address_problem(str(args[0]), sender=command == "MAIL")
            if problem is not None:
                return str(problem.reply)
        return await super()._call_handler_hook(command, *args)

    async def smtp_DATA(self, arg: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        await super().smtp_DATA(arg)

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

    def note_auth_user(self, user: str | None) -> None:
        """The user name an AUTH named, for the session record: only a well-formed address is kept.

        A user name is no secret, but a client may put anything there (its password, by mistake): what does
        not look like an address (user@domain, printable, no spaces) is left out.
        """
        if self.record is None or not self.record.auth or not user:
            return
        local, at, domain = user.partition("@")
        if at and local and "." in domain and user.isprintable() and " " not in user and len(user) <= 254:
            self.record.auth[-1].user = user.lower()

    # -- the session record --------------------------------------------------------------------------
    def _open_record(self, transport: asyncio.BaseTransport) -> None:
        handler = self.event_handler
        runtime = handler.runtime
        if getattr(runtime, "session_log", None) is None:
            return
        host, port = getattr(handler, "served_as", ("", 0))
        sockname = transport.get_extra_info("sockname") or ("", 0)
        self.record = SessionRecord(
            endpoint=host or getattr(handler, "fqdn", ""),
            port=port or int(sockname[1]),
            started=runtime.clock.now().isoformat(timespec="seconds"),
            listen=f"{sockname[0]}:{sockname[1]}",
            peer_ip=self.facts.peer_ip,
        )

    def _close_record(self) -> None:
        """Once per session, as it closes (connection_lost may come twice after a failed handshake)."""
        record, self.record = self.record, None
        if record is None:
            return
        facts = self.facts
        record.ended = self.event_handler.runtime.clock.now().isoformat(timespec="seconds")
        record.client_ip, record.xclient, record.ehlo = facts.client_ip, facts.xclient, facts.helo
        record.tls_version, record.tls_cipher = facts.tls_version, facts.tls_cipher
        record.cert_names = list(facts.cert_names)
        record.login = facts.identity
        record.commands = self._commands
        try:
            self.event_handler.runtime.session_log.append(record)
        except OSError as error:
            self.event_handler.runtime.errors.append(f"session record not written: {error}")

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

    async def smtp_XCLIENT(self, arg: str) -> None:
        """Postfix XCLIENT ADDR=: a lab client declares the address it appears from (loopback peers only).

        Never advertised in EHLO, so the EHLO reply stays identical to Microsoft 365's (DESIGN.md).
        """
        if not self._loopback_peer():
            await self.push(R.XCLIENT_DENIED)
            return
        attributes = dict(part.partition("=")[::2] for part in (arg or "").split())
        address = attributes.get("ADDR", "")
        try:
            declared = ipaddress.ip_address(address.removeprefix("IPV6:"))
            if isinstance(declared, ipaddress.IPv6Address) and declared.scope_id:
                raise ValueError(address)  # a zone (fe80::1%eth0) is no address Microsoft 365 could see
            client_ip = str(declared)
        except ValueError:
            await self.push(R.xclient_bad_address(address))
            return
        if self._counted_as is not None:
            refusal = self._connections.move(self._counted_as, client_ip)
            if refusal is not None:
                await self.refuse_and_close(refusal.reply)
                return
            self._counted_as = client_ip
        self.facts.client_ip = client_ip
        self.facts.xclient = True
        if attributes.get("HELO"):
            self.facts.helo = attributes["HELO"]
        # Postfix answers XCLIENT with a fresh greeting; the client says EHLO again.
        self._set_rset_state()
        self.session.host_name = None  # type: ignore[union-attr]
        await self.push(R.xclient_greeting(self.hostname, self.__ident__))

    def _create_session(self) -> Session:
        return Session(self.loop)

    def _create_envelope(self) -> Envelope:
        return Envelope()


def reverse_path(envelope: Envelope) -> str:
    """The envelope sender, "" for the null reverse-path MAIL FROM:<> (bounces; RFC 5321 §4.5.5)."""
    mail_from = envelope.mail_from or ""
    return "" if mail_from == "<>" else mail_from


def _certificate_names(ssl_object: Any) -> list[str]:
    cert = ssl_object.getpeercert() or {}
    names: list[str] = []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                names.append(value.lower())
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "DNS" and value.lower() not in names:
            names.append(value.lower())
    return names


__all__ = ["AuthResult", "ConnectionFacts", "EndpointHandler", "LabSMTP", "reverse_path"]
