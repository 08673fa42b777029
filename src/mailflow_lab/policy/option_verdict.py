"""One option's readiness verdict for one device: its status, what blocks it, and how to set it up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .comparison import TITLES

Status = Literal["works", "ready", "blocked", "untested"]
STATUS_TEXT: dict[str, str] = {
    "works": "works today (seen in the lab)",
    "ready": "nothing blocks it (not yet seen end to end: send once to confirm)",
    "blocked": "blocked",
    "untested": "not tried by this device yet",
}


@dataclass(frozen=True)
class Blocker:
    """One thing that stops an option, and what fixes it: device settings, tenant cmdlets or DNS lines."""

    rule: str
    why: str
    device: tuple[str, ...] = ()
    tenant: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptionVerdict:
    """One of the three options for one device: can it be used today, what blocks it, how to set it up."""

    option: str
    title: str
    status: Status
    blockers: tuple[Blocker, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def usable_today(self) -> bool:
        return self.status in ("works", "ready")

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


class VerdictDraft:
    """An OptionVerdict being built."""

    def __init__(self, option: str, settings: dict[str, str]) -> None:
        self.option = option
        self.settings = settings
        self.blockers: list[Blocker] = []
        self.notes: list[str] = []

    def block(self, blocker: Blocker) -> None:
        if blocker not in self.blockers:
            self.blockers.append(blocker)

    def done(self, *, works: bool = False, untested: bool = False) -> OptionVerdict:
        status: Status = (
            "blocked" if self.blockers else "untested" if untested else "works" if works else "ready"
        )
        return OptionVerdict(
            self.option, TITLES[self.option], status, tuple(self.blockers), self.settings, tuple(self.notes)
        )
