"""A scenario as data: the broken setup, the device and message, what should happen, and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    device: dict[str, Any]
    message: Message
    expect: Expectation
    fix: Changes
    fix_expect: Expectation
