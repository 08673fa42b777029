"""What each SMTP session showed of its client, recorded as it closes: one JSON line in sessions.jsonl."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# Plain data, no lab imports: the SMTP glue fills a record, the readiness policy reads it, another process
# (`mailflow-lab report`) loads it. Passwords and tokens never enter a record: AUTH is recorded as its
# mechanism, the user name it named and the reply it got, never what followed the user name.
SESSIONS_FILE = "sessions.jsonl"
_REPLY = re.compile(r"^(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3})\b)?[ -]?(.*)$", re.S)


@dataclass
class ReplySeen:
    """One reply the lab sent: code, enhanced status code (RFC 3463) and text."""

    code: int
    enhanced: str | None = None
    text: str = ""

    @classmethod
    def from_line(cls, line: str) -> ReplySeen | None:
        match = _REPLY.match(line.strip())
        if match is None:
            return None
        return cls(int(match.group(1)), match.group(2), match.group(3).strip())

    def __str__(self) -> str:
        return " ".join(str(p) for p in (self.code, self.enhanced, self.text) if p)


@dataclass
class AuthAttempt:
    """An AUTH command: its mechanism, the user name it named (if it got that far) and the final reply."""

    mechanism: str
    user: str | None = None
    reply: ReplySeen | None = None


@dataclass
class Recipient:
    address: str
    reply: ReplySeen | None = None


@dataclass
class Transaction:
    """MAIL FROM, its recipients and the end of DATA, each with the reply it got."""

    mail_from: str
    mail_reply: ReplySeen | None = None
    recipients: list[Recipient] = field(default_factory=list)
    data_reply: ReplySeen | None = None


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
    closing_reply: ReplySeen | None = None  # a 421 that ended the session (refused at connect, TLS 1.0...)
    commands: int = 0

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
        seen = ReplySeen.from_line(line)
        if seen is None:
            return
        if seen.code == 421:
            self.closing_reply = seen
        if verb == "AUTH" and self.auth:
            self.auth[-1].reply = seen
        elif verb == "MAIL" and self.transactions:
            self.transactions[-1].mail_reply = seen
        elif verb == "RCPT" and self.transactions and self.transactions[-1].recipients:
            self.transactions[-1].recipients[-1].reply = seen
        elif verb == "DATA" and self.transactions and seen.code != 354:
            self.transactions[-1].data_reply = seen

    # -- to and from JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["auth"] = [
            AuthAttempt(a.get("mechanism", ""), a.get("user"), _reply(a.get("reply")))
            for a in data.get("auth", [])
        ]
        values["transactions"] = [
            Transaction(
                t.get("mail_from", ""),
                _reply(t.get("mail_reply")),
                [Recipient(r.get("address", ""), _reply(r.get("reply"))) for r in t.get("recipients", [])],
                _reply(t.get("data_reply")),
            )
            for t in data.get("transactions", [])
        ]
        values["closing_reply"] = _reply(data.get("closing_reply"))
        values["cert_names"] = list(data.get("cert_names", []))
        return cls(**values)


def _reply(data: dict[str, Any] | None) -> ReplySeen | None:
    if not data:
        return None
    return ReplySeen(int(data.get("code", 0)), data.get("enhanced"), str(data.get("text", "")))


def address_of(arg: str | None) -> str:
    """The address in a MAIL FROM:/RCPT TO: argument, e.g. "FROM:<a@b.c> SIZE=10" -> "a@b.c"."""
    text = (arg or "").partition(":")[2].strip()
    if text.startswith("<"):
        return text[1 : text.find(">")] if ">" in text else text[1:]
    return text.split(" ", 1)[0] if text else ""


class SessionLog:
    """sessions.jsonl in a state folder: appended one whole line per write, read by any process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: SessionRecord) -> None:
        line = (json.dumps(record.to_dict(), separators=(",", ":")) + "\n").encode("utf-8")
        # One write(2) on an O_APPEND descriptor: a reader never sees half a line from a finished write.
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def records(self) -> list[SessionRecord]:
        return load_sessions(self.path)


def load_sessions(path: Path | str) -> list[SessionRecord]:
    """Every record in a sessions.jsonl (or a state folder holding one); a torn last line is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / SESSIONS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(SessionRecord.from_dict(json.loads(line)))
        except (ValueError, TypeError, AttributeError):
            continue
    return records
