"""A scenario loaded into a running lab, for a learner: try the broken setup, change things, check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client.device import SendResult
from ..lab.lab import Lab
from ..policy.sharing import CalendarView, calendar_view
from .compare import (
    CalendarObservation,
    Observation,
    ScenarioError,
    apply_changes,
    build_device,
    compare,
    observe,
    observe_calendar,
    send,
)
from .loader import load_scenario_file
from .model import CalendarExpectation, Expectation, Scenario


@dataclass
class LoadedScenario:
    """The scenario's broken setup applied to `lab`; the device settings may be changed by the learner.

    A calendar scenario has no device: it looks at what its viewer sees of the calendar (`look`).
    """

    lab: Lab
    scenario: Scenario
    device: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, lab: Lab, scenario: Scenario) -> LoadedScenario:
        apply_changes(lab, scenario.setup, f"{scenario.name}: setup: ")
        return cls(lab, scenario, dict(scenario.device))

    @property
    def complaint(self) -> str:
        return self.scenario.complaint

    @property
    def hint(self) -> str:
        return self.scenario.hint

    @property
    def explanation(self) -> str:
        return self.scenario.explanation

    def send(self) -> SendResult:
        """Send the scenario's message with the device as it is configured now."""
        if self.scenario.calendar:
            raise ScenarioError(
                f"{self.scenario.name}: a [calendar] scenario sends no message (look() instead)"
            )
        return send(self.lab, self.scenario, build_device(self.lab, self.device))

    def look(self) -> CalendarView:
        """A calendar scenario: what its viewer sees of the owner's calendar in the lab's tenant now."""
        check = self.scenario.calendar
        if check is None:
            raise ScenarioError(f"{self.scenario.name}: not a [calendar] scenario (it sends a message)")
        try:
            return calendar_view(self.lab.world.tenant, check.viewer, check.owner)
        except KeyError:
            raise ScenarioError(f"{self.scenario.name}: calendar.owner: no mailbox {check.owner}") from None

    def attempt(
        self, expect: Expectation | CalendarExpectation
    ) -> tuple[SendResult | CalendarView, Observation | CalendarObservation, list[str]]:
        """Send once (or look at the calendar) as things are now; what happened, and how it differs."""
        if self.scenario.calendar:
            view = self.look()
            seen_view = observe_calendar(view)
            return view, seen_view, compare(expect, seen_view)
        mail = self.scenario.expect, self.scenario.fix_expect
        traced = {(r.message_trace_id, r.recipient_address) for r in self.lab.message_trace()}
        result = self.send()
        names = {name for e in mail if isinstance(e, Expectation) for name in e.header}
        seen = observe(self.lab, result, traced, names)
        return result, seen, compare(expect, seen)

    def check(self) -> tuple[SendResult | CalendarView, list[str]]:
        """Send again (or look again) and compare with the fixed outcome: no mismatches means solved."""
        result, _seen, mismatches = self.attempt(self.scenario.fix_expect)
        return result, mismatches

    def apply_fix(self) -> None:
        """Apply the scenario's own fix (the solution), as a teacher or CI would."""
        apply_changes(self.lab, self.scenario.fix, f"{self.scenario.name}: fix: ")
        self.device.update(self.scenario.fix.device)


def load_into(lab: Lab, name: str | Path | Scenario) -> LoadedScenario:
    """Apply a scenario's broken setup (data/scenarios/NAME.toml, a path, or a Scenario) to a running lab."""
    scenario = name if isinstance(name, Scenario) else load_scenario_file(name)
    return LoadedScenario.load(lab, scenario)
