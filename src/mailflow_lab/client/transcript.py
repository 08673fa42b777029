"""An SMTP dialogue as a learner sees it: client and server lines, secrets masked, XCLIENT explained."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

from ..policy.observed import mechanism_name


@dataclass(frozen=True)
class Line:
    """One line of the dialogue: who said it ("C", "S" or "*" for a note) and what."""

    side: str
    text: str


@dataclass
class Transcript:
    """Lines in order; `mask_next` hides what the client sends while authenticating."""

    lines: list[Line] = field(default_factory=list)
    _auth_state: str | None = None  # None, "user", "secret"

    def note(self, text: str) -> None:
        self.lines.append(Line("*", text))

    def server(self, code: int, text: str) -> None:
        parts = text.splitlines() or [""]
        for index, part in enumerate(parts):
            sep = "-" if index < len(parts) - 1 else " "
            self.lines.append(Line("S", f"{code}{sep}{part}".rstrip()))
        if code != 334:
            self._auth_state = None

    def client(self, text: str) -> None:
        """Record a command line, masking passwords and tokens (DESIGN: mask the secret)."""
        upper = text.upper()
        if upper.startswith("AUTH "):
            mechanism, _, initial = text[5:].partition(" ")
            mechanism = mechanism_name(mechanism)  # any other word is shown masked: it may be a password
            if mechanism == "XOAUTH2" and initial:
                user = _xoauth2_user(initial)
                self.lines.append(Line("C", f"AUTH XOAUTH2 ******** (user={user}, bearer token hidden)"))
                self._auth_state = "secret"
            elif mechanism == "LOGIN" and initial:
                self.lines.append(Line("C", f"AUTH LOGIN {initial} ({_decode(initial)})"))
                self._auth_state = "secret"
            elif mechanism == "LOGIN":
                self.lines.append(Line("C", "AUTH LOGIN"))
                self._auth_state = "user"
            else:
                self.lines.append(Line("C", f"AUTH {mechanism} ********" if initial else f"AUTH {mechanism}"))
                self._auth_state = "secret"
            return
        if self._auth_state == "user":
            self.lines.append(Line("C", f"{text} ({_decode(text)})"))
            self._auth_state = "secret"
            return
        if self._auth_state == "secret":
            self.lines.append(Line("C", "******** (secret hidden)"))
            return
        self.lines.append(Line("C", text))

    def text(self) -> str:
        return "\n".join(
            f"{line.side}: {line.text}" if line.side != "*" else f"   ({line.text})" for line in self.lines
        )

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        colours = {"C": "#1f4e9c", "S": "#2b6e2b", "*": "#777777"}
        rows = []
        for line in self.lines:
            colour = "#b00020" if line.side == "S" and line.text[:1] in "45" else colours[line.side]
            label = {"C": "device", "S": "server", "*": ""}[line.side]
            rows.append(
                f'<div style="color:{colour};font-family:monospace;white-space:pre-wrap">'
                f"<b>{label:>6}</b> {html.escape(line.text)}</div>"
            )
        return "<div>" + "".join(rows) + "</div>"


def _decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return "not base64"


def _xoauth2_user(text: str) -> str:
    decoded = _decode(text)
    first = decoded.split("\x01", 1)[0]
    return first.removeprefix("user=") if first.startswith("user=") else "?"
