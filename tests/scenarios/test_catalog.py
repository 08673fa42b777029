"""Every shipped scenario behaves as it says: broken as described, and working once its fix is applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow_lab.scenarios import load_scenario_file, run_scenario, scenario_paths
from mailflow_lab.scenarios.compare import compare
from mailflow_lab.scenarios.loader import scenarios_dir

SHIPPED = scenario_paths(scenarios_dir())


def test_the_catalog_covers_the_course() -> None:
    assert len(SHIPPED) == 63  # as README.md says
    tags = {tag for path in SHIPPED for tag in load_scenario_file(path).tags}
    for topic in ("smtp-auth", "direct-send", "relay", "sharing"):
        assert topic in tags, f"no scenario tagged {topic}"


def test_the_sharing_scenarios_are_calendar_scenarios() -> None:
    scenarios = [load_scenario_file(path) for path in SHIPPED]
    sharing = [s for s in scenarios if "sharing" in s.tags]
    assert len(sharing) == 8  # the README lists eight sharing scenarios
    assert all(s.kind == "calendar" for s in sharing)
    assert {s.kind for s in scenarios if s not in sharing} == {"mail"}
    viewers = {s.calendar.viewer.kind for s in sharing if s.calendar}
    assert viewers == {"person", "organisation", "anonymous"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_broken_then_fixed(path: Path) -> None:
    scenario = load_scenario_file(path)
    result = run_scenario(scenario, fix=True)
    assert result.ok, "\n".join(result.mismatches)
    # The broken and fixed states really differ: each observation fails the other expectation, so a fix
    # that changes nothing (or a setup that breaks nothing) cannot pass.
    assert result.fixed is not None
    assert compare(scenario.fix_expect, result.broken), "the broken state already looks fixed"
    assert compare(scenario.expect, result.fixed), "the fixed state still looks broken"
