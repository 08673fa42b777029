"""What one SMTP connection has shown of its client, and what every endpoint's handler shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import Envelope, TLSSetupException

from ..delivery.transport import Incoming
from ..policy import replies as R
from . import compat

if TYPE_CHECKING:
    from .protocol import LabSMTP


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

    def __dir__(self) -> list[str]:
        # aiosmtpd looks up the handle_* and auth_* hooks through dir() on every connection (compat.py).
        return compat.hook_names(type(self))

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
            tls_cipher=server.facts.tls_cipher,
            session_id=server.session_id,
            dsn_mail_params=tuple(getattr(envelope, "dsn_mail_params", ())),
            dsn_rcpt_params=dict(getattr(envelope, "dsn_rcpt_params", {})),
        )

    def closed(self, server: LabSMTP) -> None:
        return None

    def sign_out(self, server: LabSMTP) -> None:
        """Forget who signed in on this connection (XCLIENT starts the session over)."""
        server.facts.identity = None
        server.facts.auth_failure = None

    async def handle_exception(self, error: Exception) -> str:
        """Never a traceback: note the error (no secrets, no stack) and answer a temporary failure.

        Two are not errors of the lab and are not noted: a client whose TLS handshake fails after STARTTLS
        (the connection is closed; nothing can be said in clear any more) and a client that went away.
        """
        if not isinstance(error, TLSSetupException | ConnectionError):
            self.runtime.errors.append(f"{type(error).__name__}: {error}")
        return str(R.TEMPORARY_SERVER_ERROR)


def reverse_path(envelope: Envelope) -> str:
    """The envelope sender, "" for the null reverse-path MAIL FROM:<> (bounces; RFC 5321 §4.5.5)."""
    mail_from = envelope.mail_from or ""
    return "" if mail_from == "<>" else mail_from


def certificate_names(ssl_object: Any) -> list[str]:
    """The names a client certificate carries: its subject CN, then its DNS subject alternative names."""
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
