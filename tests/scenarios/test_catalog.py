"""Every shipped scenario behaves as it says: broken as described, and working once its fix is applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow_lab.scenarios import load_scenario_file, run_scenario, scenario_paths
from mailflow_lab.scenarios.loader import scenarios_dir

SHIPPED = scenario_paths(scenarios_dir())


def test_the_catalog_covers_the_course() -> None:
    assert len(SHIPPED) >= 40
    tags = {tag for path in SHIPPED for tag in load_scenario_file(path).tags}
    for topic in ("smtp-auth", "direct-send", "relay"):
        assert topic in tags, f"no scenario tagged {topic}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_broken_then_fixed(path: Path) -> None:
    result = run_scenario(load_scenario_file(path), fix=True)
    assert result.ok, "\n".join(result.mismatches)
