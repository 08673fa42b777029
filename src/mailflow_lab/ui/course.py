"""Helpers for the course notebooks: exercises that CI runs with their solutions, and self-checks."""

from __future__ import annotations

import os
from typing import Any, TypeVar

T = TypeVar("T")

SOLUTIONS_ENV = "MAILFLOW_LAB_SOLUTIONS"


def solutions_enabled() -> bool:
    """True when the notebooks run with their solutions (CI sets MAILFLOW_LAB_SOLUTIONS=1)."""
    return os.environ.get(SOLUTIONS_ENV, "") not in ("", "0", "false", "no")


def exercise(answer: Any, solution: T) -> Any:
    """The learner's answer; in a solutions run, the solution (so every check cell is exercised in CI)."""
    return solution if solutions_enabled() else answer


class NotYet(AssertionError):
    """A self-check that is not satisfied yet: the message says what is still wrong."""


def check(condition: bool, still_wrong: str, well_done: str = "Correct.") -> str:
    """A self-check: returns `well_done` (shown in the notebook) or raises NotYet with the hint."""
    if not condition:
        raise NotYet(still_wrong)
    return well_done
