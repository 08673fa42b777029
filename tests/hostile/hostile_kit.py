"""Helpers for the hostile tests: a raw SMTP client over real sockets, a census of every stored message."""

from __future__ import annotations

import base64
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R

MX = "contoso-com.mail.protection.outlook.com"
SUBMISSION = "smtp.office365.com"
FABRIKAM = "mail.fabrikam.com"
SCANNER = ("scanner@contoso.com", "Scan#2026")
REPLY_TIMEOUT_S = 10.0


class Wire:
    """A raw SMTP client over a real socket: exact bytes out, whole replies (all their lines) in."""

    def __init__(self, address: tuple[str, int], timeout: float = REPLY_TIMEOUT_S) -> None:
        self.sock: socket.socket = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self._buffer = b""
        self.banner = self.reply()

    # -- reading -----------------------------------------------------------------------------------
    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unread: {self._buffer!r}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self) -> list[str]:
        """The next reply, every line of it (a multi-line 250-... reply ends with '250 ...')."""
        lines = []
        while True:
            line = self._line().decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def last(self) -> str:
        return self.reply()[-1]

    def closed(self, wait_s: float = REPLY_TIMEOUT_S) -> bool:
        """True once the server has closed the connection (all pending replies read and dropped)."""
        deadline = time.monotonic() + wait_s
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self.sock.recv(65536)
                except TimeoutError:
                    continue
                except (ConnectionResetError, ssl.SSLError, OSError):
                    return True
                if not chunk:
                    return True
                self._buffer += chunk
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def rest(self) -> list[str]:
        """Every complete line still buffered (after closed())."""
        return [line.decode("utf-8", "replace").rstrip("\r") for line in self._buffer.split(b"\n") if line]

    # -- writing -----------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def cmd(self, line: str | bytes) -> str:
        """Send one command line (CRLF added) and return the last line of its reply."""
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        self.send(raw + b"\r\n")
        return self.last()

    def ehlo(self, name: str = "hostile.test") -> list[str]:
        self.send(f"EHLO {name}\r\n".encode())
        return self.reply()

    def xclient(self, address: str) -> str:
        return self.cmd(f"XCLIENT ADDR={address}")

    def starttls(self, lab: Lab, server_name: str, cert_domain: str | None = None) -> None:
        assert self.cmd("STARTTLS").startswith("220 ")
        cert = lab.client_certificate(cert_domain) if cert_domain else None
        context = lab.ca.client_context(cert)
        self.sock = context.wrap_socket(self.sock, server_hostname=server_name)
        self._buffer = b""

    def auth_login(self, user: str, password: str) -> str:
        reply = self.cmd("AUTH LOGIN " + base64.b64encode(user.encode()).decode())
        if reply.startswith("334"):
            reply = self.cmd(base64.b64encode(password.encode()))
        return reply

    def data(self, message: bytes) -> str:
        """DATA, then the message exactly as given (it must end the data itself, e.g. with CRLF.CRLF)."""
        reply = self.cmd("DATA")
        if not reply.startswith("354"):
            return reply
        self.send(message)
        return self.last()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def signed_in(lab: Lab, helo: str = "hostile.test", host: str = SUBMISSION, port: int = 587) -> Wire:
    """A submission session: EHLO, STARTTLS, EHLO again, signed in as the scanner mailbox (235 2.7.0)."""
    wire = Wire(lab.endpoint(host, port))
    try:
        wire.ehlo(helo)
        wire.starttls(lab, host)
        wire.ehlo(helo)
        assert wire.auth_login(*SCANNER).startswith("235 2.7.0")
    except BaseException:
        wire.close()
        raise
    return wire


def message(subject: str, body: str = "hello", sender: str = "printer@contoso.com") -> bytes:
    """A small well-formed message ending with CRLF.CRLF, ready for Wire.data()."""
    return (
        f"From: {sender}\r\nTo: someone\r\nSubject: {subject}\r\nMessage-ID: <{subject}@hostile.test>\r\n"
        f"\r\n{body}\r\n.\r\n"
    ).encode()


@dataclass
class Stored:
    """One message file found on disk."""

    mailbox: str  # an address, or "quarantine"
    folder: str
    path: Path
    raw: bytes
    parsed: EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.parsed.get("Subject", ""))


def stored_messages(lab: Lab) -> list[Stored]:
    """Every message in every Maildir under the state folder: mailboxes the world knows or not, quarantine."""
    found = []
    root = Path(lab.state_dir)
    folders = [(p.parent.name, p) for p in (root / "mailboxes").glob("*/*") if p.is_dir()]
    if (root / "quarantine").is_dir():
        folders.append(("quarantine", root / "quarantine"))
    for mailbox, folder in folders:
        for sub in ("new", "cur"):
            for path in sorted((folder / sub).glob("*")):
                raw = path.read_bytes()
                parsed = BytesParser(policy=default_policy).parsebytes(raw)
                found.append(Stored(mailbox, folder.name, path, raw, parsed))  # type: ignore[arg-type]
    return found


def bare(line: str) -> str:
    """A reply line without Microsoft 365's diagnostic suffix `[<host> <time> <session id>]`, to compare
    with the catalogue (the suffix itself is checked in tests/smtp/test_greeting.py)."""
    return R.without_diagnostics(line)
