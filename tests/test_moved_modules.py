"""Release 0.1's module paths still import (with a DeprecationWarning) after the move into layer folders."""

from __future__ import annotations

import importlib
import sys

import pytest

import mailflow_lab
from mailflow_lab import Lab
from mailflow_lab.scenarios import LoadedScenario


@pytest.mark.parametrize(("old", "new"), sorted(mailflow_lab.MOVED_MODULES.items()))
def test_old_path_is_the_new_module(old: str, new: str) -> None:
    _forget(old)
    with pytest.warns(DeprecationWarning, match=f"mailflow_lab.{old} moved to mailflow_lab.{new}"):
        moved = importlib.import_module(f"mailflow_lab.{old}")
    assert moved is importlib.import_module(f"mailflow_lab.{new}")
    assert moved.__spec__.name == f"mailflow_lab.{new}"  # its own spec, not the old name's


def test_from_import_of_an_old_name() -> None:
    _forget("course")
    with pytest.warns(DeprecationWarning):
        from mailflow_lab import course  # as notebooks of release 0.1 wrote it
    assert course.check(True, "never shown") == "Correct."


def test_an_unknown_module_is_still_unknown() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("mailflow_lab.no_such_module")


def test_lab_load_scenario_still_works() -> None:
    with Lab.start() as lab:
        with pytest.warns(DeprecationWarning, match="load_into"):
            loaded = lab.load_scenario("auth-before-starttls")
        assert isinstance(loaded, LoadedScenario)
        assert loaded.lab is lab


def _forget(old: str) -> None:
    """As in a fresh kernel: the old name not imported yet."""
    sys.modules.pop(f"mailflow_lab.{old}", None)
    if old in vars(mailflow_lab):
        delattr(mailflow_lab, old)
