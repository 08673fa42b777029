"""The course's exercises as data (data/course/): what each asks for, and its solution for solutions runs."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..world.paths import data_dir

COURSE_DIR = "course"


@dataclass(frozen=True)
class Exercise:
    """One exercise or ticket: its id (`06.ticket1`), notebook, title as the learner reads it, and what the
    learner's `...` is to be replaced with."""

    id: str
    notebook: str
    title: str
    expects: str
    answer_sha256: str = ""  # a review question's answer, hashed: checked without the solutions file
    explanation: str = ""  # shown once a review question is answered right


@cache
def catalogue() -> dict[str, Exercise]:
    """Every exercise, in course order (data/course/exercises.toml)."""
    path = data_dir() / COURSE_DIR / "exercises.toml"
    with path.open("rb") as handle:
        rows = tomllib.load(handle)["exercise"]
    return {row["id"]: Exercise(**row) for row in rows}


def exercise(exercise_id: str) -> Exercise:
    try:
        return catalogue()[exercise_id]
    except KeyError:
        known = ", ".join(catalogue())
        raise ValueError(
            f"no exercise {exercise_id!r} in data/course/exercises.toml (known: {known})"
        ) from None


def is_right(exercise_id: str, given: Any) -> bool:
    """A review question's answer, compared with its hash (letters in any case, spaces ignored)."""
    normalised = str(given).strip().lower().encode()
    return hashlib.sha256(normalised).hexdigest() == exercise(exercise_id).answer_sha256


def solution(exercise_id: str) -> Any:
    """The solution of an exercise (data/course/solutions.toml), read only when a solutions run asks."""
    exercise(exercise_id)
    path = data_dir() / COURSE_DIR / "solutions.toml"
    with path.open("rb") as handle:
        solutions = tomllib.load(handle)["solutions"]
    if exercise_id not in solutions:
        raise ValueError(f"{path}: solutions.{exercise_id}: no solution for this exercise")
    return solutions[exercise_id]
