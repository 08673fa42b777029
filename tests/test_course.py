"""Course helpers and the notebooks' committed form: solutions switch, self-checks, no outputs saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailflow_lab.ui import course

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_exercise_uses_the_solution_only_in_a_solutions_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(course.SOLUTIONS_ENV, raising=False)
    assert course.exercise(..., "answer") is ...
    monkeypatch.setenv(course.SOLUTIONS_ENV, "1")
    assert course.exercise(..., "answer") == "answer"
    monkeypatch.setenv(course.SOLUTIONS_ENV, "0")
    assert course.exercise("mine", "answer") == "mine"


def test_check_says_what_is_still_wrong() -> None:
    assert course.check(True, "nope", "well done") == "well done"
    with pytest.raises(course.NotYet, match="the SPF record still lacks the office address"):
        course.check(False, "the SPF record still lacks the office address")


def test_the_course_has_its_notebooks() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names[:1] == ["00-start-here"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {index} has outputs: strip them"
            assert cell.get("execution_count") is None, f"{path.name} cell {index} has an execution count"
