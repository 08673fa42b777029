"""aiosmtpd as Exchange: its own replies in Exchange's words, Exchange's parameters, its logs kept clean."""

from __future__ import annotations

import logging
import re
from typing import Any

from ..policy import replies as R

# aiosmtpd's own wording for the situations it handles itself, replaced by Exchange-style replies.
REWRITES: dict[str, R.Reply] = {
    "221 Bye": R.QUIT,
    "220 Ready to start TLS": R.STARTTLS_READY,
    "354 End data with <CR><LF>.<CR><LF>": R.START_MAIL_INPUT,
    "250 OK": R.NOOP,
    "500 Command line too long": R.LINE_TOO_LONG,
    "552 Error: Too much mail data": R.MESSAGE_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": R.MESSAGE_TOO_BIG,
    "503 Error: need MAIL command": R.NEED_MAIL,
    "503 Error: need RCPT command": R.NEED_RCPT,
    "503 Error: nested MAIL command": R.SENDER_ALREADY_SPECIFIED,
    "503 Error: send HELO first": R.SEND_HELLO_FIRST,
    "503 Error: send EHLO first": R.SEND_HELLO_FIRST,
    "503 Already authenticated": R.AUTH_ALREADY,
    "500 Error: bad syntax": R.unrecognized_command(""),
    "500 Line too long (see RFC5321 4.5.3.1.6)": R.LINE_TOO_LONG,
    "502 EXPN not implemented": R.COMMAND_NOT_IMPLEMENTED,
    "454 TLS not available": R.TLS_NOT_AVAILABLE,
    "501 Error: BODY can only be one of 7BIT, 8BITMIME": R.UNSUPPORTED_BODY_TYPE,
    "501 Error: SMTPUTF8 takes no arguments": R.SYNTAX_ERROR,
    "555 MAIL FROM parameters not recognized or not implemented": R.UNRECOGNIZED_PARAMETER,
    "555 RCPT TO parameters not recognized or not implemented": R.UNRECOGNIZED_PARAMETER,
    # aiosmtpd's own limit of five unrecognised commands: counted like any protocol error (see push).
    "502 5.5.1 Too many unrecognized commands, goodbye.": R.unrecognized_command(""),
}
MALFORMED_ADDRESS = "553 5.1.3 Error: malformed address"
# Exchange's longest reply line (its SmtpResponse.MaxResponseLineLength); longer echoes are cut.
MAX_REPLY_LINE = 2000
DSN_MAIL_PARAMS = ("RET=", "ENVID=")
DSN_RCPT_PARAMS = ("NOTIFY=", "ORCPT=")


# aiosmtpd's reply to a command it has no method for (it names the command upper-cased).
_UNKNOWN_COMMAND = re.compile(r'^500 Error: command "(.*)" not recognized$', re.DOTALL)


def declares_binarymime(arg: str | None) -> bool:
    """MAIL FROM's BODY=BINARYMIME (RFC 3030 §3): the content may only come by BDAT."""
    return any(part.upper() == "BODY=BINARYMIME" for part in (arg or "").split(" ")[1:])


def reply_line(status: Any, command: str | None = None) -> str:
    """A reply to send: aiosmtpd's wording replaced by Exchange's; one clean line, whatever a client made
    the lab echo. `command` is the command answered ("MAIL" and "RCPT" tell aiosmtpd's address errors apart).
    """
    if isinstance(status, R.Reply):
        text = str(status)
    elif isinstance(status, bytes):
        text = status.decode("utf-8", "replace")
    else:
        text = str(status)
    if text in REWRITES:
        text = str(REWRITES[text])
    elif text == MALFORMED_ADDRESS:
        text = str(R.INVALID_SENDER_ADDRESS if command == "MAIL" else R.INVALID_ADDRESS)
    elif (unknown := _UNKNOWN_COMMAND.match(text)) is not None:
        text = str(R.unrecognized_command(unknown[1]))
    elif text.startswith("501 Syntax:"):
        text = str(R.SYNTAX_ERROR)
    text = text.replace("\r", " ").replace("\n", " ")
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from undecodable input
    return text[:MAX_REPLY_LINE]


def wire(reply: R.Reply) -> bytes:
    """A reply as bytes on the wire, for writing outside push() (the idle timeout)."""
    return str(reply).encode("utf-8") + b"\r\n"


def dsn_params(arg: str | None, dsn: tuple[str, ...]) -> tuple[str, ...]:
    """The DSN parameters of a MAIL or RCPT argument, as sent (RFC 3461; the delivery policy parses them)."""
    if not arg:
        return ()
    return tuple(part for part in arg.split(" ")[1:] if part.upper().startswith(dsn))


def strip_params(arg: str | None, dsn: tuple[str, ...], binarymime: bool = False) -> str | None:
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


class _WithoutClientLines(logging.Filter):
    """Keep what clients type out of aiosmtpd's log ("mail.log"): it logs every command line it reads
    (AUTH arguments masked, but not a password a confused client sends as a command), every unknown
    command at WARNING, and every DATA line. Connections, senders, recipients and replies still log.
    """

    CLIENT_LINES = frozenset(
        {"_handle_client readline: %r", "%r >> %r", "%r unrecognised: %s", "DATA readline: %s"}
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%r << %r" and isinstance(record.args, tuple) and len(record.args) == 2:
            # A reply may echo an unknown command (Exchange does): the log keeps it without the echo.
            peer, reply = record.args
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            record.args = (peer, R.without_echo(text))
        return record.msg not in self.CLIENT_LINES


CLIENT_LINES_FILTER = _WithoutClientLines()
logging.getLogger("mail.log").addFilter(CLIENT_LINES_FILTER)
