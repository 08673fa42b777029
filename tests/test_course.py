"""Course helpers and the notebooks' committed form: solutions switch, self-checks, no outputs saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailflow_lab.ui import course, exercises, progress

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_exercise_uses_the_solution_only_in_a_solutions_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(course.SOLUTIONS_ENV, raising=False)
    assert course.exercise(..., "answer") is ...
    monkeypatch.setenv(course.SOLUTIONS_ENV, "1")
    assert course.exercise(..., "answer") == "answer"
    monkeypatch.setenv(course.SOLUTIONS_ENV, "0")
    assert course.exercise("mine", "answer") == "mine"


def test_check_says_what_is_still_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    assert course.check(True, "nope", "well done") == "well done"
    assert "well done" in capsys.readouterr().out  # shown, so that a check inside an `if` is seen too
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


# -- exercises that hide their answers and never crash (issue 19) ------------------------------------------


@pytest.fixture
def learner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A learner's kernel: no solutions, a progress file of its own, no exercise state carried over."""
    monkeypatch.delenv(course.SOLUTIONS_ENV, raising=False)
    path = tmp_path / "progress.json"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(path))
    monkeypatch.setattr(course, "_states", {})
    return path


def test_an_unfilled_exercise_says_what_to_write_and_raises_nothing(
    learner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert course.answer("06.ticket1", ...) is course.NOT_DONE
    assert not course.NOT_DONE
    assert (
        course.use("06.ticket1", ..., lambda line: pytest.fail("a blank answer must not be applied")) is None
    )
    assert not course.ready("06.ticket1")
    assert not course.solved("06.ticket1")
    out = capsys.readouterr().out
    assert "Ticket 1 is not done yet: replace `...` with one PowerShell line, in quotes." in out
    assert "Do Ticket 1 above first" in out and "Solve Ticket 1 above to see this." in out
    assert not learner.exists()


def test_an_answer_that_cannot_be_used_is_said_plainly(
    learner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def apply(line: object) -> None:
        raise TypeError(f"a PowerShell line is text, not {type(line).__name__}")

    assert course.use("06.ticket1", 42, apply) is None
    assert not course.ready("06.ticket1")
    out = capsys.readouterr().out
    assert "Ticket 1: this answer could not be used (a PowerShell line is text, not int)." in out
    assert "could not be used: correct it and run that cell again" in out


def test_a_wrong_answer_shows_the_hint_and_a_right_one_is_recorded(
    learner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert course.use("06.ticket1", "Get-Mailbox", lambda line: line) == "Get-Mailbox"
    assert course.ready("06.ticket1")
    assert course.check(False, "the scanner still gets 535 5.7.139", exercise="06.ticket1") is None
    assert "Not yet: the scanner still gets 535 5.7.139" in capsys.readouterr().out
    assert not course.solved("06.ticket1")
    course.check(True, "unused", "Ticket 1 solved.", exercise="06.ticket1")
    assert "Ticket 1 solved." in capsys.readouterr().out
    assert course.solved("06.ticket1")
    assert set(progress.solved_exercises(learner)) == {"06.ticket1"}
    board = course.progress_board()
    assert "1 of" in repr(board) and "[x] 06-troubleshooting: Ticket 1" in repr(board)


def test_a_solutions_run_uses_the_solution_and_a_failed_check_fails(
    monkeypatch: pytest.MonkeyPatch, learner: Path
) -> None:
    monkeypatch.setenv(course.SOLUTIONS_ENV, "1")
    assert course.answer("01.spf", ...) == exercises.solution("01.spf")
    with pytest.raises(course.NotYet, match="still wrong"):
        course.check(False, "still wrong", exercise="01.spf")
    assert course.use("06.ticket5", ..., lambda settings: settings["port"]) == 587
    with pytest.raises(ZeroDivisionError):  # CI sees a real error, not a polite note
        course.use("06.ticket1", ..., lambda line: 1 / 0)
    assert not learner.exists()  # a solutions run is nobody's progress


def test_an_unknown_exercise_id_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no exercise '06.ticket9' in data/course/exercises.toml"):
        course.answer("06.ticket9", ...)


def test_a_progress_file_that_is_broken_is_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    assert progress.solved_exercises(path) == {}
    assert progress.record_solved("01.spf", path) and set(progress.solved_exercises(path)) == {"01.spf"}


def _code(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_every_exercise_is_in_its_notebook_and_no_notebook_holds_a_solution() -> None:
    used = {
        match
        for path in NOTEBOOKS
        for source in _code(path)
        for match in re.findall(r"exercise=\"([^\"]+)\"|course\.(?:use|quiz)\(\"([^\"]+)\"", source)
    }
    ids = {a or b for a, b in used}
    assert ids == set(exercises.catalogue()), ids ^ set(exercises.catalogue())
    for exercise_id, about in exercises.catalogue().items():
        notebook = next(p for p in NOTEBOOKS if p.stem == about.notebook)
        text = notebook.read_text()
        assert f'"{exercise_id}"' in text.replace('\\"', '"'), (exercise_id, notebook.name)
        if exercise_id == "06.breakfix":
            continue  # its fix is the scenario's own (BreakFix applies it in a solutions run)
        if about.answer_sha256:  # a review question: only the letter's hash is kept outside solutions.toml
            assert exercises.is_right(exercise_id, exercises.solution(exercise_id)), exercise_id
            continue
        solution = exercises.solution(exercise_id)
        sources = _code(notebook)
        if isinstance(solution, str):
            assert not [s for s in sources if solution in s], (
                f"{notebook.name} holds the solution of {exercise_id}"
            )
        else:
            pairs = [(f'"{k}": {json.dumps(v)}', f"{k}={json.dumps(v)}") for k, v in solution.items()]
            leaking = [s for s in sources if all(a in s or b in s for a, b in pairs)]
            assert not leaking, f"{notebook.name} holds the solution of {exercise_id}"
