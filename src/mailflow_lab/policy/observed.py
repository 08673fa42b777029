"""What each SMTP session showed of its client: the record the SMTP glue fills, the readiness policy reads."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from .replies import Reply

# Plain data, no lab imports: the SMTP glue fills a record, the readiness policy reads it, another process
# (`mailflow-lab report`) loads it. Passwords and tokens never enter a record: AUTH is recorded as its
# mechanism, the user name it named and the reply it got, never what followed the user name.

# SASL mechanism names a client may put after AUTH (IANA "SASL Mechanisms" registry, RFC 4422 §3.1, plus
# the vendor ones mail clients send: LOGIN, XOAUTH2, NTLM). Whatever else follows AUTH is no mechanism
# and may be anything (a password typed in the wrong place): it is recorded as UNRECOGNISED, never as is.
SASL_MECHANISMS = frozenset(
    {
        "ANONYMOUS", "CRAM-MD5", "DIGEST-MD5", "EXTERNAL", "GSSAPI", "GSS-SPNEGO", "GS2-KRB5",
        "GS2-KRB5-PLUS", "KERBEROS_V4", "KERBEROS_V5", "LOGIN", "NTLM", "OAUTH10A", "OAUTHBEARER",
        "OPENID20", "OTP", "PLAIN", "SAML20", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-512-PLUS", "SECURID", "SKEY", "XOAUTH",
        "XOAUTH2",
    }
)  # fmt: skip
UNRECOGNISED = "(unrecognised)"


def mechanism_name(word: str) -> str:
    """The SASL mechanism an AUTH command named, upper-cased, or UNRECOGNISED for any other word."""
    name = word.strip().upper()
    return name if name in SASL_MECHANISMS else UNRECOGNISED


@dataclass
class AuthAttempt:
    """An AUTH command: its mechanism, the user name it named (if it got that far) and the final reply."""

    mechanism: str
    user: str | None = None
    reply: Reply | None = None


@dataclass
class Recipient:
    address: str
    reply: Reply | None = None


@dataclass
class Transaction:
    """MAIL FROM, its recipients and the end of DATA, each with the reply it got."""

    mail_from: str
    mail_reply: Reply | None = None
    recipients: list[Recipient] = field(default_factory=list)
    data_reply: Reply | None = None


@dataclass
class SessionRecord:
    """One SMTP session at one endpoint, as the lab saw it (world names, and the socket it came to)."""

    endpoint: str  # the world host name served, e.g. smtp.office365.com
    port: int  # the world port, e.g. 587
    started: str = ""  # ISO 8601, lab clock
    ended: str = ""
    listen: str = ""  # "address:port" the lab actually listened on
    peer_ip: str = ""  # the real client address on the socket
    client_ip: str = ""  # the address Microsoft 365 sees: XCLIENT's, else the office NAT address
    xclient: bool = False
    ehlo: str | None = None
    implicit_tls: bool = False  # a TLS ClientHello as the first bytes on this plain port (port 465 style)
    starttls: bool = False  # the client asked for STARTTLS
    tls_failed: bool = False  # ... and the handshake did not complete
    tls_version: str | None = None
    tls_cipher: str | None = None
    cert_names: list[str] = field(default_factory=list)  # the client certificate's CN and DNS SANs
    auth: list[AuthAttempt] = field(default_factory=list)
    login: str | None = None  # the mailbox signed in, once AUTH succeeded
    transactions: list[Transaction] = field(default_factory=list)
    closing_reply: Reply | None = None  # a 421 that ended the session (refused at connect, TLS 1.0...)
    commands: int = 0
    # The 16-hex id Exchange Online shows at the end of the banner and of each error reply of the session.
    session_id: str = ""

    # -- filled in by the SMTP glue as the session goes -------------------------------------------
    def mail(self, address: str) -> None:
        self.transactions.append(Transaction(address))

    def rcpt(self, address: str) -> None:
        if not self.transactions:
            self.transactions.append(Transaction(""))
        self.transactions[-1].recipients.append(Recipient(address))

    def reply(self, verb: str | None, line: str) -> None:
        """Note the final line of a reply to `verb` (None: the greeting)."""
        if len(line) > 3 and line[3] == "-":
            return  # a continuation line of a multi-line reply
        try:
            seen = Reply.from_text(line)
        except ValueError:
            return
        if seen.code == 421:
            self.closing_reply = seen
        if verb == "AUTH" and self.auth:
            self.auth[-1].reply = seen
        elif verb == "MAIL" and self.transactions:
            self.transactions[-1].mail_reply = seen
        elif verb == "RCPT" and self.transactions and self.transactions[-1].recipients:
            self.transactions[-1].recipients[-1].reply = seen
        elif verb in ("DATA", "BDAT") and self.transactions and seen.code != 354:
            self.transactions[-1].data_reply = seen

    # -- to and from JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> SessionRecord:
        """A record as `to_dict` wrote it; ValueError naming the first field of the wrong kind.

        Unknown keys are ignored; a missing key takes its default, but the endpoint, its port and the
        addresses (real and as Microsoft 365 sees it) are required: every record the lab writes has them.
        The real address may be "": asyncio knows no peer name for a client that reset at once.
        """
        record = _Fields(data, "record")
        return cls(
            endpoint=record.text("endpoint"),
            port=record.port("port"),
            started=record.text("started", ""),
            ended=record.text("ended", ""),
            listen=record.text("listen", ""),
            peer_ip=record.address("peer_ip", real=True),
            client_ip=record.address("client_ip"),
            xclient=record.flag("xclient"),
            ehlo=record.optional_text("ehlo"),
            implicit_tls=record.flag("implicit_tls"),
            starttls=record.flag("starttls"),
            tls_failed=record.flag("tls_failed"),
            tls_version=record.optional_text("tls_version"),
            tls_cipher=record.optional_text("tls_cipher"),
            cert_names=[_text(name, "cert_names[]") for name in record.items("cert_names")],
            auth=[_auth(item) for item in record.items("auth")],
            login=record.optional_text("login"),
            transactions=[_transaction(item) for item in record.items("transactions")],
            closing_reply=_reply(record.get("closing_reply"), "closing_reply"),
            commands=record.count("commands"),
            session_id=record.text("session_id", ""),
        )


_REQUIRED = object()


class _Fields:
    """One JSON object of a record being read: each getter checks the kind of its value."""

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"{what}: expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.what = what

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        if value is _REQUIRED:
            raise ValueError(f"{self.what}.{key}: missing")
        return value

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        return _text(self.get(key, default), f"{self.what}.{key}")

    def optional_text(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else _text(value, f"{self.what}.{key}")

    def flag(self, key: str) -> bool:
        value = self.get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"{self.what}.{key}: expected true or false")
        return value

    def count(self, key: str, default: Any = 0, low: int = 0, high: int | None = None) -> int:
        value = self.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
            raise ValueError(f"{self.what}.{key}: expected a whole number from {low} to {high or 'any'}")
        return value

    def port(self, key: str) -> int:
        return self.count(key, _REQUIRED, 0, 65535)

    def address(self, key: str, *, real: bool = False) -> str:
        """An IP address. A `real` one (a socket's peer) may be "" or carry an IPv6 zone (fe80::1%eth0);
        an address as Microsoft 365 sees it may not: SPF and connectors know no zones.
        """
        value = self.text(key)
        if real and value == "":
            return value
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{self.what}.{key}: expected an IP address") from None
        if not real and isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            raise ValueError(f"{self.what}.{key}: expected an address without an IPv6 zone")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.get(key, [])
        if not isinstance(value, list):
            raise ValueError(f"{self.what}.{key}: expected a list")
        return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string")
    return value


def _auth(data: Any) -> AuthAttempt:
    attempt = _Fields(data, "auth[]")
    # A record written before mechanisms were checked may hold any word: it is read as UNRECOGNISED too.
    mechanism = mechanism_name(attempt.text("mechanism"))
    return AuthAttempt(mechanism, attempt.optional_text("user"), _reply(attempt.get("reply"), "auth[].reply"))


def _transaction(data: Any) -> Transaction:
    transaction = _Fields(data, "transactions[]")
    recipients = []
    for item in transaction.items("recipients"):
        recipient = _Fields(item, "recipients[]")
        recipients.append(Recipient(recipient.text("address"), _reply(recipient.get("reply"), "reply")))
    return Transaction(
        transaction.text("mail_from", ""),
        _reply(transaction.get("mail_reply"), "mail_reply"),
        recipients,
        _reply(transaction.get("data_reply"), "data_reply"),
    )


def _reply(data: Any, what: str) -> Reply | None:
    if data is None:
        return None
    reply = _Fields(data, what)
    return Reply(
        reply.count("code", _REQUIRED, 100, 599), reply.optional_text("enhanced"), reply.text("text", "")
    )


def address_of(arg: str | None) -> str:
    """The address in a MAIL FROM:/RCPT TO: argument, e.g. "FROM:<a@b.c> SIZE=10" -> "a@b.c"."""
    text = (arg or "").partition(":")[2].strip()
    if text.startswith("<"):
        return text[1 : text.find(">")] if ">" in text else text[1:]
    return text.split(" ", 1)[0] if text else ""
