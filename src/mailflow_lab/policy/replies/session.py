"""Replies of every endpoint's session: greeting, EHLO, acceptance, protocol errors, CHUNKING, limits."""

from __future__ import annotations

import re

from ..reply import Reply
from .hosts import MX_DIAG, _r


# -- greeting, EHLO and session ([MFD], transcripts from 2023 and 2025) ----------------------------
def banner_text(date: str) -> str:
    """The text after '220 <host>' in the greeting."""
    return f"Microsoft ESMTP MAIL Service ready at {date}"


EHLO_EXTENSIONS_BEFORE_TLS = (
    "SIZE 157286400",
    "PIPELINING",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "STARTTLS",
    "8BITMIME",
    "BINARYMIME",
    "CHUNKING",
    "SMTPUTF8",
)
# After STARTTLS on smtp.office365.com: STARTTLS replaced, in place, by the AUTH line. PLAIN is not offered.
AUTH_EXTENSION = "AUTH LOGIN XOAUTH2"
MAX_MESSAGE_SIZE_ADVERTISED = 157286400


def ehlo_greeting(fqdn: str, client_ip: str) -> str:
    return f"{fqdn} Hello [{client_ip}]"


STARTTLS_READY = _r(220, "2.0.0", "SMTP server ready")
QUIT = _r(221, "2.0.0", "Service closing transmission channel")
RSET = _r(250, "2.0.0", "Resetting")
NOOP = _r(250, "2.0.0", "OK")
SENDER_OK = _r(250, "2.1.0", "Sender OK")
RECIPIENT_OK = _r(250, "2.1.5", "Recipient OK")
START_MAIL_INPUT = _r(354, None, "Start mail input; end with <CRLF>.<CRLF>")


def queued(message_id: str, host: str) -> Reply:
    return _r(250, "2.0.0", f"OK {message_id} [Hostname={host}]")


def mx_queued(message_id: str, internal_id: int, size: int = 0, seconds: float = 0.0) -> Reply:
    """EOP's acceptance at the MX [observed]: `... 11251 bytes in 0.064, 171.566 KB/sec Queued mail for
    delivery`, the DATA's bytes and time (smtp/mx.py says what it measures), KB of 1024 bytes from the
    unrounded time (11251 / 1024 / 0.06404 = 171.566); under a millisecond counts as 0.001 (lab choice)."""
    elapsed = max(seconds, 0.001)
    text = f"{size} bytes in {elapsed:.3f}, {size / 1024 / elapsed:.3f} KB/sec Queued mail for delivery"
    return _r(250, "2.6.0", f"{message_id} [InternalId={internal_id}, Hostname={MX_DIAG}] {text}")


# -- protocol errors: aiosmtpd's wording replaced by Exchange-style replies ---------------------------
BAD_SEQUENCE_MAIL = _r(503, "5.5.1", "Bad sequence of commands")
SYNTAX_ERROR = _r(501, "5.5.4", "Invalid arguments")
LINE_TOO_LONG = _r(500, "5.3.3", "Line too long")
# Over SIZE (the advertised fixed maximum), at MAIL or after the data.
MESSAGE_TOO_BIG = _r(552, "5.3.4", "Message size exceeds fixed maximum message size")
DATA_TOO_BIG = MESSAGE_TOO_BIG
# EOP's sequence errors (invoiceninja/invoiceninja#3482 for "Need rcpt command"; the other three inferred
# from it: the protocol sheet).
NEED_RCPT = _r(503, "5.5.2", "Need rcpt command")
NEED_MAIL = _r(503, "5.5.2", "Need mail command")
SEND_HELLO_FIRST = _r(503, "5.5.2", "Send hello first")
SENDER_ALREADY_SPECIFIED = _r(503, "5.5.2", "Sender already specified")
# EHLO/HELO with a name that is no domain or address literal (sabuhish/fastapi-mail#205, Miksus/red-mail#79).
INVALID_DOMAIN_NAME = _r(501, "5.5.4", "Invalid domain name")
# The command word of an unknown command is echoed; unprintable input as 'unknown' (email-oauth2-proxy#251).
UNPRINTABLE_COMMAND = "unknown"


def unrecognized_command(command: str) -> Reply:
    """500 5.3.3 Unrecognized command '<the command as sent>' (simonrob/email-oauth2-proxy#251, #234)."""
    shown = command if command and command.isprintable() and command.isascii() else UNPRINTABLE_COMMAND
    return _r(500, "5.3.3", f"Unrecognized command '{shown}'")


# What logs and the session record keep of that echo: a client may type anything, its password too.
_ECHO = re.compile(r"^(500 5\.3\.3 Unrecognized command ').*'( \[[^\]]*\])?$", re.DOTALL)
ECHO_NOT_LOGGED = "(not logged)"


def without_echo(line: str) -> str:
    """A reply line as logs keep it: an unknown command's echo replaced (the wire still carries it)."""
    return _ECHO.sub(lambda m: f"{m[1]}{ECHO_NOT_LOGGED}'{m[2] or ''}", line)


# -- CHUNKING (RFC 3030) ------------------------------------------------------------------------------
def chunk_received(size: int) -> Reply:
    """A BDAT chunk that is not the last (RFC 3030 §2: a 250 per chunk; the wording is inferred)."""
    return _r(250, "2.0.0", f"{size} bytes received")


# RFC 3030 §3: BINARYMIME content can only be sent with BDAT. Lab wording (Exchange's is not documented).
BINARYMIME_NEEDS_BDAT = _r(503, "5.5.1", "BDAT required for BODY=BINARYMIME")


# Exchange's own wording for these (its transport's SmtpResponse table, as seen in Exchange Server; Exchange
# Online documents none of them): aiosmtpd's replies to the same situations are rewritten to them.
UNRECOGNIZED_PARAMETER = _r(501, "5.5.4", "Unrecognized parameter")
UNSUPPORTED_BODY_TYPE = _r(501, "5.5.4", "Unsupported BODY type")
INVALID_ADDRESS = _r(501, "5.1.3", "Invalid address")
INVALID_SENDER_ADDRESS = _r(501, "5.1.7", "Invalid address")
COMMAND_NOT_IMPLEMENTED = _r(502, "5.3.3", "Command not implemented")
CANNOT_VRFY = _r(252, "2.1.5", "Cannot VRFY user")
HELP_HEADER = "This server supports the following commands:"
HELP = _r(214, None, "HELO EHLO STARTTLS RCPT DATA RSET MAIL QUIT HELP AUTH BDAT")

# -- session limits (Exchange receive connector limits and their replies; see policy/session.py) ---------
IDLE_TIMEOUT = _r(451, "4.7.0", "Timeout waiting for client input")
TOO_MANY_ERRORS = _r(421, "4.7.0", "Too many errors on this connection, closing transmission channel")
TOO_MANY_CONNECTIONS_FROM_ADDRESS = _r(
    421,
    "4.3.2",
    "The maximum number of concurrent connections has exceeded a limit, closing transmission channel",
)
TOO_MANY_CONNECTIONS = _r(
    421,
    "4.3.2",
    "The maximum number of concurrent server connections has exceeded a limit, closing transmission channel",
)
# Lab choice: Microsoft documents no command limit; the text follows Exchange's "Connection dropped due to".
TOO_MANY_COMMANDS = _r(421, "4.4.2", "Connection dropped due to too many commands")
# ConnectionTimeout, a session's total time (10 minutes on the default receive connector): Exchange's reply
# as clients log it (servolutions.com, "421 4.4.1 Connection timed out" from Exchange 2007 on). Lab choice:
# the same reply for a DATA or BDAT upload slower than the lab's minimum data rate (policy/session.py).
CONNECTION_TIMED_OUT = _r(421, "4.4.1", "Connection timed out")
# MaxHeaderSize, 256 KB on a receive connector: Exchange's wording (as in the hardening issue; Exchange's
# SmtpResponse table), answered after the data like 552 5.3.4 for a message over SIZE.
HEADER_TOO_BIG = _r(552, "5.3.4", "Header size exceeds fixed maximum size")
# RFC 3207 §4 wording, for a server that offers no STARTTLS (Fabrikam's).
TLS_NOT_AVAILABLE = _r(454, "4.7.0", "TLS not available due to temporary reason")

# Microsoft 365 relaying a message with bare line feeds over DATA (KB 2998901; NDR 550 5.6.11).
BARE_LINEFEEDS_ILLEGAL = _r(
    550,
    "5.6.11",
    "SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, which cannot be sent via DATA "
    "and receiving system does not support BDAT",
)


# -- the lab's own protocol replies (XCLIENT is Postfix's; its wording is Postfix's) -------------------------
TLS_ALREADY_ACTIVE = _r(503, "5.5.1", "TLS already active")
XCLIENT_DENIED = _r(550, "5.7.0", "Error: insufficient authorization")
# Postfix XCLIENT_README: XCLIENT is refused inside a mail transaction (after MAIL, before its end).
XCLIENT_IN_TRANSACTION = _r(503, "5.5.1", "Error: MAIL transaction in progress")


def xclient_bad_address(address: str) -> Reply:
    return _r(501, "5.5.4", "Bad XCLIENT attribute value: ADDR=" + address)


def xclient_greeting(host: str, banner: str) -> str:
    """Postfix answers XCLIENT with a fresh greeting; the client says EHLO again."""
    return f"220 {host} {banner}"


def help_lines() -> list[str]:
    """HELP's two lines, the first a continuation."""
    return [f"214-{HELP_HEADER}", str(HELP)]
