"""A scenario as data: the broken setup, a send (or a calendar look), what should happen, and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..policy.sharing import RELATIONSHIP, SHARING, Viewer
from ..world.model import CALENDAR_ACCESS_LEVELS

STEPS = ("connect", "EHLO", "STARTTLS", "TLS", "AUTH", "MAIL", "RCPT", "DATA")
OUTCOMES = ("Inbox", "Junk Email", "quarantine", "pending", "rejected", "failed")
TRACE_STATUSES = (
    "Delivered",
    "Failed",
    "Pending",
    "Expanded",
    "Quarantined",
    "FilteredAsSpam",
    "GettingStatus",
    "none",
)
ACCESS_LEVELS = CALENDAR_ACCESS_LEVELS
MECHANISMS = (SHARING, RELATIONSHIP, "none")  # "none": the viewer sees nothing, so no mechanism gave it


@dataclass(frozen=True)
class DnsChange:
    """Replace the records of one type at a name (TXT values as plain text); no values removes them."""

    name: str
    rdtype: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Changes:
    """What an admin (or the fault) changes: cmdlet lines, DNS records, device settings."""

    powershell: tuple[str, ...] = ()
    dns: tuple[DnsChange, ...] = ()
    device: dict[str, Any] = field(default_factory=dict)
    recipients_sent_today: dict[str, int] = field(default_factory=dict)
    freeze_clock: bool = False


@dataclass(frozen=True)
class Expectation:
    """How a send should end; every key given is checked."""

    step: str | None = None
    reply: str | None = None
    error: str | None = None
    outcome: dict[str, str] = field(default_factory=dict)
    trace: str | None = None
    header: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarExpectation:
    """What a viewer should see of a calendar: the access, and (if given) the mechanism and a text of why.

    `step`, `reply` and `outcome` answer the questions a summary of a mail expectation asks, so the
    expected-versus-observed table reads the same for both kinds.
    """

    access: str
    mechanism: str | None = None  # "sharing policy", "organization relationship" or "none"
    why: str | None = None

    @property
    def step(self) -> str | None:
        return None

    @property
    def reply(self) -> str | None:
        return None

    @property
    def outcome(self) -> dict[str, str]:
        return {"access": self.access}


@dataclass(frozen=True)
class CalendarCheck:
    """Whose calendar is looked at, and by whom (a person, anyone at a domain, or anyone with the link)."""

    viewer: Viewer
    owner: str


@dataclass(frozen=True)
class Message:
    to: tuple[str, ...]
    subject: str = "Lab scenario"
    header_from: str | None = None
    size_kb: int = 0
    count: int = 1


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    title: str
    objective: str
    complaint: str
    hint: str
    explanation: str
    world: str | Path
    tags: tuple[str, ...]
    setup: Changes
    device: dict[str, Any]  # empty for a calendar scenario
    message: Message | None  # None for a calendar scenario
    expect: Expectation | CalendarExpectation
    fix: Changes
    fix_expect: Expectation | CalendarExpectation
    calendar: CalendarCheck | None = None  # a sharing scenario: what a viewer sees, instead of a send

    @property
    def kind(self) -> str:
        """calendar (what a viewer sees of a calendar) or mail (a device sends a message)."""
        return "calendar" if self.calendar else "mail"
