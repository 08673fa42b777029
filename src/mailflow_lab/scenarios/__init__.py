"""Scenarios: labs as data (data/scenarios/*.toml), loaded, run broken and fixed, and compared."""

from .compare import ScenarioError, ScenarioResult, apply_changes, build_device
from .loader import find_scenario, load_scenario_file, scenario_paths
from .model import Scenario
from .run import run_scenario
from .session import LoadedScenario, load_into

__all__ = [
    "LoadedScenario",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "apply_changes",
    "build_device",
    "find_scenario",
    "load_into",
    "load_scenario_file",
    "run_scenario",
    "scenario_paths",
]
