"""Rules every endpoint applies to a session: connections, commands, idle time, addresses, line ends."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import dns.exception
import dns.name

from . import replies as R
from .decision import Decision


@dataclass(frozen=True)
class SessionLimits:
    """The limits of one lab's SMTP endpoints; `Lab.start(limits=...)` sets them per lab.

    Exchange Online documents none of these for its endpoints; the defaults are those of an Exchange
    receive connector (Set-ReceiveConnector), whose replies the lab sends, except where noted.
    """

    # ConnectionInactivityTimeout, 5 minutes: no byte from the client for this long closes the session.
    idle_timeout_s: float = 300.0
    # MaxInboundConnectionPerSource, 20: open sessions from one client address, per endpoint. The address
    # is the one a policy sees: XCLIENT ADDR=, else the office's NAT address (DESIGN.md).
    max_connections_per_address: int = 20
    # MaxInboundConnection, 5000: open sessions per endpoint, from every address together.
    max_connections: int = 5000
    # Lab choice (Microsoft documents no limit): enough for several 500-recipient messages in one session,
    # few enough that no client keeps a session busy for ever.
    max_commands: int = 2000
    # ConnectionTimeout, 10 minutes: a session's total time, however busy, so that no client holds a slot
    # for ever by sending a byte now and then.
    connection_timeout_s: float = 600.0
    # MaxHeaderSize, 256 KB (262,144 bytes): the header of one message, counted while it is read.
    max_header_bytes: int = 256 * 1024
    # Lab choice (Exchange documents no such limit; Postfix's smtpd_min_data_rate, 500 bytes/s, is the
    # model): a DATA or BDAT upload slower than this on average, once it has run `data_rate_grace_s`, ends
    # the session. A 35 MB message at this rate would take 19 hours: only a stalled or hostile client is cut.
    min_data_rate_bps: float = 500.0
    data_rate_grace_s: float = 30.0


# MaxProtocolErrors, 5: unrecognised commands, syntax and sequence errors in one session. aiosmtpd closes
# after five unrecognised commands on its own, so the lab uses the same number for every protocol error.
MAX_PROTOCOL_ERRORS = 5
PROTOCOL_ERROR_CODES = (500, 501, 502, 503)

# RFC 5321 §4.5.3.1.1 and §4.5.3.1.2: 64 octets of local part, 255 of domain.
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255


def connection_refusal(from_address: int, total: int, limits: SessionLimits) -> Decision | None:
    """A new session, given the sessions already open from its address and in all (before this one)."""
    if total >= limits.max_connections:
        why = f"this endpoint already holds {limits.max_connections} sessions, its limit"
        return Decision(R.TOO_MANY_CONNECTIONS, "session.connections-total", why)
    if from_address >= limits.max_connections_per_address:
        why = f"this client address already has {limits.max_connections_per_address} sessions open"
        return Decision(R.TOO_MANY_CONNECTIONS_FROM_ADDRESS, "session.connections-per-address", why)
    return None


def command_refusal(commands: int, limits: SessionLimits) -> Decision | None:
    """The `commands`-th command of a session (counting this one)."""
    if commands > limits.max_commands:
        why = f"a session may send {limits.max_commands} commands; this client sent more"
        return Decision(R.TOO_MANY_COMMANDS, "session.too-many-commands", why)
    return None


def protocol_errors_refusal(errors: int) -> Decision | None:
    """After the `errors`-th protocol error of a session: enough to close it?"""
    if errors >= MAX_PROTOCOL_ERRORS:
        why = f"{MAX_PROTOCOL_ERRORS} unrecognised or malformed commands in one session"
        return Decision(R.TOO_MANY_ERRORS, "session.too-many-errors", why)
    return None


def is_protocol_error(reply_line: str) -> bool:
    """True for the replies that count against MAX_PROTOCOL_ERRORS (syntax and sequence errors)."""
    return reply_line[:3].isdigit() and int(reply_line[:3]) in PROTOCOL_ERROR_CODES and reply_line[3:4] == " "


def idle_timeout(limits: SessionLimits) -> Decision:
    why = f"the client sent nothing for {limits.idle_timeout_s:g} seconds"
    return Decision(R.IDLE_TIMEOUT, "session.idle-timeout", why)


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def session_expired(limits: SessionLimits) -> Decision:
    why = f"the session has lasted {limits.connection_timeout_s:g} seconds, the most one may last"
    return Decision(R.CONNECTION_TIMED_OUT, "session.connection-timeout", why)


def data_too_slow(received: int, seconds: float, limits: SessionLimits) -> Decision | None:
    """A DATA or BDAT upload that has run `seconds` and brought `received` bytes: too slow to go on?"""
    if seconds < limits.data_rate_grace_s or received >= limits.min_data_rate_bps * seconds:
        return None
    why = (
        f"the message data came at {received / seconds:.0f} bytes a second, under the "
        f"{limits.min_data_rate_bps:g} the lab requires once an upload has run {limits.data_rate_grace_s:g} s"
    )
    return Decision(R.CONNECTION_TIMED_OUT, "session.min-data-rate", why)


def header_end(content: bytes | bytearray, start: int = 0) -> int | None:
    """Where the header of a message ends (just after its empty line), searching from `start`; None when
    `content` holds no end of header yet. Bare line feeds end a header too (RFC 5322 wants CRLF; the lab
    counts what a lenient parser would)."""
    if content[:1] == b"\n" or content[:2] == b"\r\n":
        return 1 if content[:1] == b"\n" else 2
    found = _HEADER_END.search(content, max(0, start - 3))
    return found.end() if found is not None else None


def header_refusal(header_bytes: int, limits: SessionLimits) -> Decision | None:
    """A message whose header is (or, unfinished, already is) `header_bytes` long."""
    if header_bytes <= limits.max_header_bytes:
        return None
    why = f"the message's header is over {limits.max_header_bytes} bytes (MaxHeaderSize)"
    return Decision(R.HEADER_TOO_BIG, "session.header-size", why)


# -- addresses ------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def address_problem(address: str, *, sender: bool) -> Decision | None:
    """An envelope address the lab cannot route or file: None when it is well formed.

    RFC 5321 §4.1.2: a mailbox is local-part "@" domain, the domain a DNS name or an address literal. The
    null reverse-path "<>" is a valid sender. Anything with control characters, undecodable bytes (as
    aiosmtpd keeps them: lone surrogates), an empty or over-long part, or a domain no DNS lookup can take
    is refused with Exchange's "Invalid address" (501 5.1.7 for MAIL FROM, 501 5.1.3 for RCPT TO).
    """
    if sender and address == "<>":
        return None
    problem = _address_problem(address)
    if problem is None:
        return None
    if sender:
        return Decision(R.INVALID_SENDER_ADDRESS, "protocol.invalid-sender", f"{problem}: {address!r}")
    return Decision(R.INVALID_ADDRESS, "protocol.invalid-address", f"{problem}: {address!r}")


def _address_problem(address: str) -> str | None:
    if _CONTROL.search(address):
        return "the address holds control characters"
    try:
        address.encode("utf-8")
    except UnicodeEncodeError:
        return "the address holds bytes that are not UTF-8"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "the address is not local-part@domain"
    if len(local.encode()) > MAX_LOCAL_PART:
        return f"the local part is longer than {MAX_LOCAL_PART} octets"
    if domain.startswith("["):
        return None if _address_literal(domain) else "the address literal is not an IP address"
    if any(ch.isspace() for ch in domain):
        return "the domain holds spaces"
    if len(domain.encode()) > MAX_DOMAIN:
        return f"the domain is longer than {MAX_DOMAIN} octets"
    try:
        dns.name.from_text(domain)
    except (dns.exception.DNSException, UnicodeError, ValueError):
        return "the domain is not a DNS name"
    return None


def _address_literal(domain: str) -> bool:
    """RFC 5321 §4.1.3: [192.0.2.1] or [IPv6:2001:db8::1]."""
    if not domain.endswith("]"):
        return False
    inner = domain[1:-1]
    try:
        if inner[:5].upper() == "IPV6:":
            ipaddress.IPv6Address(inner[5:])
        else:
            ipaddress.IPv4Address(inner)
    except ValueError:
        return False
    return True


# -- message data ---------------------------------------------------------------------------------------

_BARE_LF = re.compile(rb"(?<!\r)\n")


def has_bare_linefeeds(content: bytes) -> bool:
    """A line feed not preceded by a carriage return (RFC 5321 §2.3.8: lines end with CRLF only)."""
    return _BARE_LF.search(content) is not None


def relay_refusal(content: bytes) -> Decision | None:
    """Microsoft 365 relaying a message with bare line feeds to a server that offers no CHUNKING (BDAT).

    Exchange Online no longer repairs bare line feeds (it would break DKIM signatures) and, over DATA,
    fails such a message with 550 5.6.11 (Microsoft KB 2998901; "Fix email delivery issues for error code
    550 5.6.11"). It takes the message in and delivers it to its own mailboxes; only the hand-off to
    the outside server fails, with a non-delivery report. The lab's outside servers offer no CHUNKING
    and the lab relays over DATA, so every such relay fails.
    """
    if not has_bare_linefeeds(content):
        return None
    why = (
        "the message has bare line feeds (LF without CR), which SMTP DATA cannot carry and the outside "
        "server offers no BDAT: Microsoft 365 refuses to relay it rather than change the message"
    )
    return Decision(R.BARE_LINEFEEDS_ILLEGAL, "relay.bare-linefeeds", why)


# -- greeting -------------------------------------------------------------------------------------------

# RFC 1035 §2.3.1 labels (letters, digits, hyphens inside), as Exchange checks an EHLO name.
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def helo_problem(name: str, *, fqdn: str, extended: bool) -> Decision | None:
    """An EHLO or HELO name Exchange Online refuses with 501 5.5.4 Invalid domain name; None when valid.

    A valid name is a domain (labels of letters, digits and inner hyphens, no trailing dot) or an address
    literal (RFC 5321 §4.1.3). Refused (protocol sheet: fastapi-mail#205, red-mail#79): a trailing dot as
    `socket.getfqdn()` often returns, an underscore, two words, no name at all. Lab choice: a single label
    (`EHLO printer01`) is accepted, as Exchange accepts it. A bare HELO is accepted on the MX
    (CyberNinjas/pam_aad#34). `fqdn` is the endpoint's: a server that is no Microsoft one (Postfix-like)
    takes any name, as Postfix does by default.
    """
    if R.diagnostic_host(fqdn) is None:
        return None
    if not name:
        if not extended and fqdn == R.MX_FQDN:
            return None
        return Decision(R.INVALID_DOMAIN_NAME, "protocol.invalid-helo", "EHLO/HELO named no host")
    if name.startswith("["):
        if _address_literal(name):
            return None
        why = f"{name!r} is no IP address literal"
    elif len(name) <= MAX_DOMAIN and all(_LABEL.match(label) for label in name.split(".")):
        return None
    elif name.endswith("."):
        why = f"{name!r} ends with a dot (a fully qualified name as DNS writes it): EHLO takes it without"
    elif " " in name:
        why = f"{name!r} is more than one word"
    else:
        why = f"{name!r} is not a domain name (letters, digits, hyphens and dots only)"
    return Decision(R.INVALID_DOMAIN_NAME, "protocol.invalid-helo", why)
