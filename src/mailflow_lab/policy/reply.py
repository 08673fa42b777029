"""One SMTP reply: its parts, how it is read off the wire, and Exchange Online's diagnostic suffix."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: code, enhanced status code (RFC 3463) and text."""

    code: int
    enhanced: str | None
    text: str

    def __str__(self) -> str:
        return " ".join(part for part in (str(self.code), self.enhanced, self.text) if part)

    @classmethod
    def from_text(cls, text: str) -> Reply:
        """A reply as it goes over the wire, one line or several ("250-..." then "250 ..."); CRLFs optional.

        The lines' texts are joined with a space. ValueError when the text is no SMTP reply.
        """
        lines = [line for line in text.replace("\r", "").split("\n") if line]
        match = _LINE.match(lines[0]) if lines else None
        if match is None or any(not line.startswith(match[1]) for line in lines):
            raise ValueError(f"not an SMTP reply: {text[:80]!r}")
        return cls._of(int(match[1]), " ".join(line[4:] for line in lines))

    @classmethod
    def from_smtplib(cls, code: int, message: bytes | str) -> Reply:
        """A reply as smtplib hands it over: the code, and the text of its lines joined by line feeds."""
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return cls._of(code, " ".join(text.splitlines()))

    @classmethod
    def _of(cls, code: int, text: str) -> Reply:
        enhanced = _ENHANCED.match(text)
        if enhanced is None:
            return cls(code, None, text.strip())
        return cls(code, enhanced[1], (enhanced[2] or "").strip())

    def without_diagnostics(self) -> Reply:
        """The reply with its diagnostic suffix `[<host> <time> <session id>]` taken off, as the catalogue
        writes it (the suffix is added as a reply goes out: with_diagnostics)."""
        return Reply(self.code, self.enhanced, without_diagnostics(self.text))

    @property
    def accepted(self) -> bool:
        return self.code < 400

    @property
    def permanent(self) -> bool:
        return self.code >= 500


# RFC 5321 §4.2: three digits, then a space or (on all lines but the last) a hyphen, then the text.
_LINE = re.compile(r"^([2-5][0-9][0-9])(?:[ -]|$)")
# RFC 3463 §2: class 2, 4 or 5, a subject and a detail of up to three digits each, first in the text.
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?: (.*))?$", re.DOTALL)


def takes_diagnostics(line: str) -> bool:
    """Whether a reply line gets the diagnostic suffix: errors (4xx, 5xx) only."""
    return line[:1] in ("4", "5")


def with_diagnostics(line: str, host: str, when: str, session_id: str) -> str:
    """An error reply (4xx, 5xx) as Exchange Online sends it: ending `[<host> <when> <session id>]`.

    The catalogue's texts carry no suffix: it is added as a reply goes out. Lab choice: a reply ending in
    `[Hostname=...]` (SendAs, concurrent connections: the older form, still seen) is sent as is.
    """
    if not takes_diagnostics(line):
        return line
    if line.endswith("]") and "[Hostname=" in line:
        return line
    return f"{line} [{host} {when} {session_id}]"


_SUFFIX = re.compile(r" \[[A-Za-z0-9.-]+ \d{4}-\d\d-\d\dT[\d:.]+Z [0-9A-F]{16}\]$")


def without_diagnostics(text: str) -> str:
    """A reply's text with its diagnostic suffix taken off (to compare it with the catalogue)."""
    return _SUFFIX.sub("", text)
