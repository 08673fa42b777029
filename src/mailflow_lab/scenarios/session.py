"""A scenario loaded into a running lab, for a learner: try the broken setup, change things, check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..device import SendResult
from .model import Expectation, Scenario
from .runner import Observation, apply_changes, build_device, compare, observe, send

if TYPE_CHECKING:
    from ..lab import Lab


@dataclass
class LoadedScenario:
    """The scenario's broken setup applied to `lab`; the device settings may be changed by the learner."""

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
        return send(self.lab, self.scenario, build_device(self.lab, self.device))

    def attempt(self, expect: Expectation) -> tuple[SendResult, Observation, list[str]]:
        """Send once as configured now; what happened, and how it differs from `expect`."""
        traced = {(r.message_trace_id, r.recipient_address) for r in self.lab.message_trace()}
        result = self.send()
        names = set(self.scenario.expect.header) | set(self.scenario.fix_expect.header)
        seen = observe(self.lab, result, traced, names)
        return result, seen, compare(expect, seen)

    def check(self) -> tuple[SendResult, list[str]]:
        """Send again and compare with the fixed outcome: no mismatches means the ticket is solved."""
        result, _seen, mismatches = self.attempt(self.scenario.fix_expect)
        return result, mismatches

    def apply_fix(self) -> None:
        """Apply the scenario's own fix (the solution), as a teacher or CI would."""
        apply_changes(self.lab, self.scenario.fix, f"{self.scenario.name}: fix: ")
        self.device.update(self.scenario.fix.device)
