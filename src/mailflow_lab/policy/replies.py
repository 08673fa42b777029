"""Every SMTP reply the lab sends, word for word as Exchange Online sends it (shared/reference sheets)."""

from __future__ import annotations

import re

from .reply import Reply, with_diagnostics, without_diagnostics

__all__ = ["Reply", "with_diagnostics", "without_diagnostics"]  # the type and its wire form: policy/reply.py

# Made-up but well-formed Exchange Online server names (the sheets show <HOST> placeholders).
SUBMISSION_HOST = "LO2P265CA0123"
SUBMISSION_FQDN = f"{SUBMISSION_HOST}.outlook.office365.com"
SUBMISSION_DIAG = f"{SUBMISSION_HOST}.GBRP265.PROD.OUTLOOK.COM"
MX_HOST = "AM4PEPF00027A6C"
MX_FQDN = f"{MX_HOST}.mail.protection.outlook.com"
MX_DIAG = f"{MX_HOST}.eurprd04.prod.outlook.com"
EOP_DIAG = "AMS0EPF000001A0.eop-EUR02.prod.protection.outlook.com"
FABRIKAM_FQDN = "mail.fabrikam.com"


def _r(code: int, enhanced: str | None, text: str) -> Reply:
    return Reply(code, enhanced, text)


# -- the diagnostic suffix: since about 2023 every error reply ends [<HOST> <UTC time, ms> <session id>]
# (HChaoHui/msOauth2api#3, MailKit#1712); the session id also ends the banner (email-oauth2-proxy#297).
_DIAGNOSTIC_HOSTS = {SUBMISSION_FQDN: SUBMISSION_DIAG, MX_FQDN: EOP_DIAG}


def diagnostic_host(fqdn: str) -> str | None:
    """The host a Microsoft endpoint names in its replies' suffix; None for a server that is no Microsoft
    one (Fabrikam's Postfix, a third-party filter), whose replies carry no suffix."""
    return _DIAGNOSTIC_HOSTS.get(fqdn)


def banner_with_session(banner: str, session_id: str) -> str:
    """Exchange Online ends its greeting with the session id: `... ready at <date> [08DCE8B62813AB2B]`."""
    return f"{banner} [{session_id}]"


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


# -- SMTP AUTH client submission ([AUTHSMTP], [NDR], transcripts) ---------------------------------------
AUTH_OK = _r(235, "2.7.0", "Authentication successful")
AUTH_LOGIN_USERNAME = "334 VXNlcm5hbWU6"
AUTH_LOGIN_PASSWORD = "334 UGFzc3dvcmQ6"
AUTH_UNRECOGNIZED = _r(504, "5.7.4", "Unrecognized authentication type")
AUTH_BAD_CREDENTIALS = _r(535, "5.7.3", "Authentication unsuccessful")
AUTH_DISABLED_TENANT = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.",
)
AUTH_DISABLED_MAILBOX = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.",
)
AUTH_SECURITY_DEFAULTS = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, user is locked by your organization's security defaults policy. "
    "Contact your administrator.",
)
AUTH_BASIC_DISABLED = _r(535, "5.7.139", "Authentication unsuccessful, basic authentication is disabled.")
AUTH_CONDITIONAL_ACCESS = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. "
    "Contact your administrator.",
)
# After the final retirement of basic authentication for SMTP AUTH ([AUTHSMTP]; not yet in force in the lab).
BASIC_AUTH_RETIRED = _r(550, "5.7.30", "Basic authentication is not supported for Client Submission.")
AUTH_ALREADY = _r(503, "5.5.2", "Already authenticated")  # RFC 4954 §4: AUTH after AUTH is refused
AUTH_ABORTED = _r(501, "5.7.0", "Auth aborted")
AUTH_BAD_BASE64 = _r(501, "5.5.2", "Cannot decode base64")
# XOAUTH2 data that decodes but is not user=...^Aauth=Bearer ...^A^A (tarickb/sasl-xoauth2#110, seen on the
# HVE front end; inferred for smtp.office365.com).
XOAUTH2_BAD_DATA = _r(501, "5.5.124", "Invalid XOAUTH2 auth data - User address provided is not valid.")
STARTTLS_REQUIRED = _r(451, "5.7.3", "STARTTLS is required to send mail")
TLS_LEGACY_REFUSED = _r(
    421,
    "4.7.66",
    "TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
    "Visit https://aka.ms/smtp_auth_tls",
)


def not_authenticated(after_failure: Reply | None) -> Reply:
    """MAIL FROM without a successful AUTH; quotes the AUTH failure when there was one."""
    if after_failure is not None:
        return _r(530, "5.7.57", f"Client not authenticated to send mail. Error: {after_failure}")
    return _r(
        530,
        "5.7.57",
        "SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
    )


def send_as_denied(login: str, sender: str) -> Reply:
    return _r(
        554,
        "5.2.252",
        f"SendAsDenied; {login} not allowed to send as {sender}; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
        "Failed to process message due to a permanent exception with message "
        "[BeginDiagnosticData]Cannot submit message. [Hostname=" + SUBMISSION_DIAG + "]",
    )


CONCURRENT_CONNECTIONS = _r(
    432,
    "4.3.2",
    "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. "
    f"[Hostname={SUBMISSION_DIAG}]",
)
SUBMISSION_QUOTA_EXCEEDED = _r(554, "5.2.0", "STOREDRV.Submission.Exception:SubmissionQuotaExceededException")
MAILBOX_FULL = _r(
    554,
    "5.2.2",
    "mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
)
SENDER_THROTTLED_MAILBOX_FULL = _r(550, "5.2.251", "Sender throttled due to continuous mailbox full errors.")
MESSAGE_TOO_BIG = _r(552, "5.3.4", "Message size exceeds fixed maximum message size")
# Over the mailbox's MaxSendSize (35 MB by default) but under the advertised SIZE: taken over SMTP, refused
# by the store (pankleks/pm2-health#52; the 554 5.2.0 prefix inferred from the other STOREDRV errors).
MAX_SUBMISSION_EXCEEDED = _r(
    554,
    "5.2.0",
    "STOREDRV.Submission.Exception:MessageSubmissionExceededException.MapiExceptionMaxSubmissionExceeded; "
    "Failed to process message due to a permanent exception with message "
    "[BeginDiagnosticData]Cannot save changes made to an item to store.",
)
TOO_MANY_RECIPIENTS = _r(452, "4.5.3", "Too many recipients")

# -- the tenant MX: direct send and connectors ([MFD], EOP sheet) ---------------------------------------
RELAY_DENIED = _r(550, "5.7.64", "TenantAttribution; Relay Access Denied")
DIRECT_SEND_REJECTED = _r(
    550,
    "5.7.68",
    "TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
)
PARTNER_CONNECTOR_RESTRICTED = _r(
    550,
    "5.7.51",
    "TenantInboundAttribution; There is a partner connector configured that matched the message's "
    "recipient domain. The connector had either the RestrictDomainsToIPAddresses or "
    "RestrictDomainsToCertificate set",
)
TLS_REQUIRED = _r(454, "4.7.0", "Failed to establish appropriate TLS channel: Access Denied")
# Directory-Based Edge Blocking at the MX: an Authoritative accepted domain's unknown address is refused at
# RCPT (OfficeDocs-Exchange use-directory-based-edge-blocking.md; real Postfix logs). The diagnostic suffix
# [<EOP host> <time> <session id>] is added as the reply goes out (see with_diagnostics).
DBEB_REJECTED = _r(550, "5.4.1", "Recipient address rejected: Access denied. AS(201806281)")
# [NDR] 5.1.10: the recipient's domain is accepted but no mailbox has the address.
RECIPIENT_NOT_FOUND = _r(
    550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
)


def dmarc_reject(domain: str) -> Reply:
    return _r(
        550,
        "5.7.509",
        f"Access denied, sending domain [{domain.upper()}] does not pass DMARC verification "
        "and has a DMARC policy of reject.",
    )


# -- blocking and throttling at the edge ([NDR] and transcripts) ---------------------------------------------
def server_busy(ip: str) -> Reply:
    return _r(451, "4.7.500", f"Server busy. Please try again later from [{ip}]. (AS843)")


def banned_ip(ip: str) -> Reply:
    return _r(
        550,
        "5.7.606",
        f"Access denied, banned sending IP [{ip}]. To request removal from this list please visit "
        "https://sender.office.com/ and follow the directions.",
    )


TRAFFIC_NOT_ACCEPTED = _r(
    550, "5.7.708", "Service unavailable. Access denied, traffic not accepted from this IP."
)
UNREGISTERED_DOMAIN = _r(550, "5.7.750", "Client blocked from sending from unregistered domain")


# Exchange Online's transient failure [observed in real transcripts]; the lab answers it when a handler fails.
TEMPORARY_SERVER_ERROR = _r(451, "4.7.0", "Temporary server error. Please try again later. PRX4")


# -- protocol errors: aiosmtpd's wording replaced by Exchange-style replies ---------------------------
BAD_SEQUENCE_MAIL = _r(503, "5.5.1", "Bad sequence of commands")
SYNTAX_ERROR = _r(501, "5.5.4", "Invalid arguments")
LINE_TOO_LONG = _r(500, "5.3.3", "Line too long")
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
# RFC 3207 §4 wording, for a server that offers no STARTTLS (Fabrikam's).
TLS_NOT_AVAILABLE = _r(454, "4.7.0", "TLS not available due to temporary reason")

# Microsoft 365 relaying a message with bare line feeds over DATA (KB 2998901; NDR 550 5.6.11).
BARE_LINEFEEDS_ILLEGAL = _r(
    550,
    "5.6.11",
    "SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, which cannot be sent via DATA "
    "and receiving system does not support BDAT",
)


# -- Microsoft 365 relaying out to the next hop (lab wording where no sheet gives one) -------------------
def domain_unreachable(domain: str) -> Reply:
    """[NDR] 5.4.310 (DNS domain does not exist): the lab is closed, so a domain without a lab server."""
    return _r(550, "5.4.310", f"DNS domain {domain} does not exist or has no lab mail server")


def hand_off_failed(server: str, why: str) -> Reply:
    """[NDR] 4.4.0 family (a transient routing failure): the next hop could not be talked to."""
    return _r(451, "4.4.0", f"Message delivery to {server} failed: {why}")


# What the trace quotes when the next hop took the message (smtplib's sendmail gives no per-recipient 250).
RELAY_DELIVERED = _r(250, "2.0.0", "Delivered")


# -- the lab's own protocol replies (XCLIENT is Postfix's; its wording is Postfix's) -------------------------
TLS_ALREADY_ACTIVE = _r(503, "5.5.1", "TLS already active")
XCLIENT_DENIED = _r(550, "5.7.0", "Error: insufficient authorization")


def xclient_bad_address(address: str) -> Reply:
    return _r(501, "5.5.4", "Bad XCLIENT attribute value: ADDR=" + address)


def xclient_greeting(host: str, banner: str) -> str:
    """Postfix answers XCLIENT with a fresh greeting; the client says EHLO again."""
    return f"220 {host} {banner}"


def help_lines() -> list[str]:
    """HELP's two lines, the first a continuation."""
    return [f"214-{HELP_HEADER}", str(HELP)]


# -- Fabrikam's own mail server (not Microsoft: Postfix-style wording, the lab's choice) -------------
FABRIKAM_OK_RCPT = _r(250, "2.1.5", "Ok")
FABRIKAM_OK_SENDER = _r(250, "2.1.0", "Ok")
FABRIKAM_UNKNOWN_USER = _r(550, "5.1.1", "Recipient address rejected: User unknown in local recipient table")
FABRIKAM_RELAY_DENIED = _r(554, "5.7.1", "Relay access denied")
# Postfix without SASL answers AUTH so (smtpd_sasl_auth_enable = no): Fabrikam's server and the filter.
AUTH_NOT_ENABLED = _r(503, "5.5.1", "Error: authentication not enabled")


# Postfix's EHLO keywords and its default message_size_limit (50 MB), for the third-party servers.
POSTFIX_MESSAGE_SIZE_LIMIT = 52428800
POSTFIX_EHLO_EXTENSIONS = (
    "PIPELINING",
    f"SIZE {POSTFIX_MESSAGE_SIZE_LIMIT}",
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    "SMTPUTF8",
)


def postfix_banner_text(date: str) -> str:
    """The text after '220 <host>' in a Postfix greeting (smtpd_banner = $myhostname ESMTP $mail_name).

    Postfix names no date: `date` is taken, and ignored, so every endpoint's banner is chosen alike.
    """
    return "ESMTP Postfix"


def fabrikam_queued(queue_id: str) -> Reply:
    return _r(250, "2.0.0", f"Ok: queued as {queue_id}")


def fabrikam_dmarc_reject(domain: str) -> Reply:
    return _r(550, "5.7.1", f"Rejected by DMARC policy for {domain}")


# -- a third-party filter in front of Microsoft 365 (Postfix wording, the lab's choice) ---------------
# It answers MAIL and RCPT with Fabrikam's Postfix lines above, and passes Microsoft 365's reply to DATA
# back to the sender. Postfix's before-queue proxy answers this when the next hop fails mid-transaction.
FILTER_PROXY_FAILED = _r(451, "4.3.0", "Error: queue file write error")
