"""Running a scenario in a fresh lab: broken, then (with its fix applied) fixed, each compared."""

from __future__ import annotations

from ..lab.lab import Lab
from .compare import ScenarioResult
from .loader import load_scenario_file
from .model import Scenario
from .session import LoadedScenario


def run_scenario(scenario: Scenario | str, *, fix: bool = True) -> ScenarioResult:
    """Run a scenario in a fresh lab: broken (and, with `fix`, then fixed in the same lab).

    A calendar scenario looks at the calendar instead of sending: after the setup, and after the fix.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario_file(scenario)
    with Lab.start(loaded.world) as lab:
        session = LoadedScenario.load(lab, loaded)
        _, broken, broken_problems = session.attempt(loaded.expect)
        result = ScenarioResult(loaded, broken, broken_problems)
        if fix:
            session.apply_fix()
            _, result.fixed, result.fixed_mismatches = session.attempt(loaded.fix_expect)
    return result
