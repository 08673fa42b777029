"""Scenarios: labs as data (data/scenarios/*.toml), loaded, run broken and fixed, and compared."""

from .loader import find_scenario, load_scenario_file, scenario_paths
from .model import Scenario
from .runner import ScenarioError, ScenarioResult, apply_changes, build_device, run_scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "apply_changes",
    "build_device",
    "find_scenario",
    "load_scenario_file",
    "run_scenario",
    "scenario_paths",
]
