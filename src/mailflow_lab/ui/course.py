"""Helpers for the course notebooks: exercises that hide their answers and never crash, and self-checks."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from typing import Any, TypeVar

from . import exercises, progress

T = TypeVar("T")

SOLUTIONS_ENV = "MAILFLOW_LAB_SOLUTIONS"

# What this kernel knows of each exercise: "not done" (still `...`), "answered", "unusable" (the answer
# could not be used: wrong type, bad syntax) or "solved" (its self-check passed).
_states: dict[str, str] = {}


def solutions_enabled() -> bool:
    """True when the notebooks run with their solutions (CI sets MAILFLOW_LAB_SOLUTIONS=1)."""
    return os.environ.get(SOLUTIONS_ENV, "") not in ("", "0", "false", "no")


class _NotDone:
    """What an unfilled exercise gives instead of an answer: false, and says so."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "(not done yet)"


NOT_DONE: Any = _NotDone()


class Note:
    """One plain line or box in the notebook: what a learner reads instead of a traceback."""

    def __init__(self, text: str, kind: str = "info") -> None:
        self.text, self.kind = text, kind

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = {"info": "#0b5cad", "not-yet": "#a15c00", "done": "#107c10"}[self.kind]
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
            f"{html.escape(self.text)}</div>"
        )


def _say(text: str, kind: str = "info") -> None:
    try:
        from IPython.display import display
    except ImportError:  # outside IPython: plain text
        print(text)
        return
    display(Note(text, kind))


def exercise(answer: Any, solution: T) -> Any:
    """The learner's answer; in a solutions run, the solution. (The course now uses answer(): this form,
    with the solution in the notebook, is kept for notebooks written against earlier versions.)"""
    return solution if solutions_enabled() else answer


def answer(exercise_id: str, value: Any) -> Any:
    """The learner's answer to an exercise (data/course/exercises.toml); in a solutions run, its solution.

    Left as `...`, it says in one line what to put there and gives NOT_DONE (which is false), so that the
    cells after it can tell, instead of failing somewhere inside the kit.
    """
    about = exercises.exercise(exercise_id)
    if solutions_enabled():
        _states[exercise_id] = "answered"
        return exercises.solution(exercise_id)
    if value is Ellipsis or value is NOT_DONE:
        if value is Ellipsis:
            _say(f"{about.title} is not done yet: replace `...` with {about.expects}.")
        _states[exercise_id] = "not done"
        return NOT_DONE
    _states[exercise_id] = "answered"
    return value


def use(exercise_id: str, value: Any, action: Callable[[Any], T]) -> T | None:
    """Apply an answer (`action(answer)`, e.g. lab.powershell); None when it is not done yet or cannot be
    used, which is said plainly (a solutions run lets every error through: CI must fail for real)."""
    given = answer(exercise_id, value)
    if given is NOT_DONE:
        return None
    if solutions_enabled():
        return action(given)
    try:
        return action(given)
    except Exception as error:  # a learner's answer may be anything: say what was wrong with it
        _states[exercise_id] = "unusable"
        about = exercises.exercise(exercise_id)
        _say(
            f"{about.title}: this answer could not be used ({error}). The cell expects {about.expects}.",
            "not-yet",
        )
        return None


def ready(exercise_id: str) -> bool:
    """True once the exercise has a usable answer; else says what to do first (for its check cell)."""
    state = _states.get(exercise_id)
    if state in ("answered", "solved"):
        return True
    about = exercises.exercise(exercise_id)
    if state == "not done":
        _say(f"Do {about.title} above first: replace `...` with {about.expects}.")
    elif state == "unusable":
        _say(f"{about.title}'s answer above could not be used: correct it and run that cell again.")
    else:
        _say(f"Run {about.title}'s cell above first.")
    return False


def solved(exercise_id: str) -> bool:
    """True once the exercise's self-check passed; else says so (for cells that build on the fix)."""
    if _states.get(exercise_id) == "solved":
        return True
    _say(f"Solve {exercises.exercise(exercise_id).title} above to see this.")
    return False


class NotYet(AssertionError):
    """A self-check that is not satisfied yet: the message says what is still wrong."""


class _Shown(str):
    """A text already shown in the notebook: returned, as release 0.1's check returned it, not shown twice."""

    def _ipython_display_(self) -> None:
        return None


def check(
    condition: bool, still_wrong: str, well_done: str = "Correct.", *, exercise: str | None = None
) -> str | None:
    """A self-check. Passed: `well_done` is shown (and the exercise recorded as solved). Not passed: the hint
    in a box, no traceback; in a solutions run NotYet is raised, so that a check CI runs fails for real.
    Shown as it runs, so a check inside an `if` block is seen all the same; `well_done` is returned too."""
    if condition:
        if exercise is not None:
            _states[exercise] = "solved"
            if not solutions_enabled():
                progress.record_solved(exercise)
        _say(well_done, "done")
        return _Shown(well_done)
    if solutions_enabled() or exercise is None:
        raise NotYet(still_wrong)
    _say(f"Not yet: {still_wrong}", "not-yet")
    return None


def quiz(exercise_id: str, value: Any) -> Any:
    """A review question: the learner's letter checked (no answer in the notebook), its explanation shown
    once it is right."""
    given = answer(exercise_id, value)
    if given is NOT_DONE:
        return None
    about = exercises.exercise(exercise_id)
    check(exercises.is_right(exercise_id, given), f"{given!r} is not it: read the question again.",
          f"Right. {about.explanation}", exercise=exercise_id)  # fmt: skip
    return None


def progress_board() -> progress.ProgressBoard:
    """Every exercise of the course, solved or not yet (from the learner's progress file)."""
    return progress.ProgressBoard()
