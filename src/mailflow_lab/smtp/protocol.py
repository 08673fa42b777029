"""aiosmtpd's SMTP protocol dressed as Exchange Online: XCLIENT, TLS facts, AUTH hand-off, exact wording."""

from __future__ import annotations

import asyncio
import collections
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from ..policy import replies as R

# aiosmtpd's own wording for the situations it handles itself, replaced by Exchange-style replies.
_REWRITES: dict[str, R.Reply] = {
    "221 Bye": R.QUIT,
    "220 Ready to start TLS": R.STARTTLS_READY,
    "354 End data with <CR><LF>.<CR><LF>": R.START_MAIL_INPUT,
    "250 OK": R.NOOP,
    "500 Command line too long": R.LINE_TOO_LONG,
    "552 Error: Too much mail data": R.MESSAGE_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": R.MESSAGE_TOO_BIG,
    "503 Error: need MAIL command": R.BAD_SEQUENCE_MAIL,
    "503 Error: need RCPT command": R.BAD_SEQUENCE_MAIL,
    "503 Error: nested MAIL command": R.BAD_SEQUENCE_MAIL,
    "503 Error: send HELO first": R.BAD_SEQUENCE_MAIL,
}
_DSN_MAIL_PARAMS = ("RET=", "ENVID=")
_DSN_RCPT_PARAMS = ("NOTIFY=", "ORCPT=")


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

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def default_client_ip(self) -> str:
        """Without XCLIENT a client is taken to be behind the office's NAT address (DESIGN.md)."""
        return str(self.runtime.world.network.office.public_ip)

    async def auth(self, server: LabSMTP, mechanism: str, initial: str | None) -> R.Reply:
        return R.AUTH_UNRECOGNIZED

    def after_tls(self, server: LabSMTP) -> R.Reply | None:
        return None

    def closed(self, server: LabSMTP) -> None:
        return None

    async def handle_exception(self, error: Exception) -> str:
        """Never a traceback: note the error (no secrets, no stack) and answer a temporary failure."""
        self.runtime.errors.append(f"{type(error).__name__}: {error}")
        return str(R.TEMPORARY_SERVER_ERROR)


class LabSMTP(SMTP):
    """One SMTP connection to a lab endpoint."""

    # RFC 4954 §4: an AUTH command line (an XOAUTH2 token) may be up to 12,288 octets.
    line_length_limit = 12288 + 2

    def __init__(self, handler: Any, *, fqdn: str, banner: str, **kwargs: Any) -> None:
        super().__init__(handler, hostname=fqdn, ident=banner, enable_SMTPUTF8=True, **kwargs)
        # aiosmtpd keeps these limits in a dict shared by every instance: give this one its own.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"AUTH": self.line_length_limit}
        )
        self.__ident__ = banner
        self.facts = ConnectionFacts(peer_ip="", client_ip="")
        self._refusal: R.Reply | None = None

    # -- connection --------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        starting_tls = self._original_transport is not None
        super().connection_made(transport)
        if not starting_tls:
            self.event_handler.runtime.refresh_tenant()
            peer = transport.get_extra_info("peername") or ("", 0)
            self.facts.peer_ip = str(peer[0])
            self.facts.client_ip = self.event_handler.default_client_ip()
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
            self.event_handler.closed(self)
        finally:
            super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, R.Reply):
            status = str(status)
        elif isinstance(status, str) and status in _REWRITES:
            status = str(_REWRITES[status])
        elif isinstance(status, str) and status.startswith("500 Error: command"):
            status = str(R.unrecognized_command(status))
        await super().push(status)

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
        await self.push(reply)
        if self.transport is not None:
            self.transport.close()

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
            await self.push(R.Reply(503, "5.5.1", "TLS already active"))
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        await super().smtp_MAIL(_strip_params(arg, _DSN_MAIL_PARAMS, binarymime=True))

    async def smtp_RCPT(self, arg: str | None) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        await super().smtp_RCPT(_strip_params(arg, _DSN_RCPT_PARAMS))

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

    async def smtp_AUTH(self, arg: str) -> None:
        if self._gate():
            return await self.refuse_and_close(self._refusal)  # type: ignore[arg-type]
        if not arg:
            await self.push(R.SYNTAX_ERROR)
            return
        mechanism, _, initial = arg.partition(" ")
        self.facts.auth_mechanisms_tried.append(mechanism.upper())
        status = await self.event_handler.auth(self, mechanism.upper(), initial.strip() or None)
        await self.push(status)

    async def challenge(self, line: str) -> str | None:
        """Send a raw 334 line, read the client's answer; None when the client aborted with '*'."""
        await self.push(line)
        answer = (await self._reader.readline()).strip()  # type: ignore[union-attr]
        if answer == b"*":
            return None
        return answer.decode("ascii", "replace")

    async def smtp_XCLIENT(self, arg: str) -> None:
        """Postfix XCLIENT ADDR=: a lab client declares the address it appears from (loopback peers only).

        Never advertised in EHLO, so the EHLO reply stays identical to Microsoft 365's (DESIGN.md).
        """
        if not self._loopback_peer():
            await self.push(R.Reply(550, "5.7.0", "Error: insufficient authorization"))
            return
        attributes = dict(part.partition("=")[::2] for part in (arg or "").split())
        address = attributes.get("ADDR", "")
        try:
            client_ip = str(ipaddress.ip_address(address.removeprefix("IPV6:")))
        except ValueError:
            await self.push(R.Reply(501, "5.5.4", "Bad XCLIENT attribute value: ADDR=" + address))
            return
        self.facts.client_ip = client_ip
        self.facts.xclient = True
        if attributes.get("HELO"):
            self.facts.helo = attributes["HELO"]
        # Postfix answers XCLIENT with a fresh greeting; the client says EHLO again.
        self._set_rset_state()
        self.session.host_name = None  # type: ignore[union-attr]
        await self.push(f"220 {self.hostname} {self.__ident__}")

    def _create_session(self) -> Session:
        return Session(self.loop)

    def _create_envelope(self) -> Envelope:
        return Envelope()


def _strip_params(arg: str | None, dsn: tuple[str, ...], binarymime: bool = False) -> str | None:
    """Accept the DSN and BINARYMIME parameters Microsoft 365 advertises; aiosmtpd knows neither."""
    if not arg:
        return arg
    parts = arg.split(" ")
    kept = [parts[0]]
    for part in parts[1:]:
        upper = part.upper()
        if upper.startswith(dsn):
            continue
        if binarymime and upper == "BODY=BINARYMIME":
            kept.append("BODY=8BITMIME")
            continue
        kept.append(part)
    return " ".join(p for p in kept if p)


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


__all__ = ["AuthResult", "ConnectionFacts", "EndpointHandler", "LabSMTP"]
