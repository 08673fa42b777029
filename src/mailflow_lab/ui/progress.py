"""The learner's progress: each passed self-check, kept in a small JSON file in the user's data folder."""

from __future__ import annotations

import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from .exercises import catalogue

PROGRESS_ENV = "MAILFLOW_LAB_PROGRESS"


def progress_path() -> Path:
    """$MAILFLOW_LAB_PROGRESS, else $XDG_DATA_HOME/mailflow-lab/progress.json (~/.local/share by default)."""
    if os.environ.get(PROGRESS_ENV):
        return Path(os.environ[PROGRESS_ENV])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "mailflow-lab" / "progress.json"


def solved_exercises(path: Path | None = None) -> dict[str, str]:
    """Exercise id -> when it was first solved (ISO time); empty when nothing is recorded or unreadable."""
    try:
        data = json.loads((path or progress_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    solved = data.get("solved") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in solved.items()} if isinstance(solved, dict) else {}


def record_solved(exercise_id: str, path: Path | None = None) -> bool:
    """Note an exercise as solved (the first time counts); False when the file cannot be written."""
    path = path or progress_path()
    solved = solved_exercises(path)
    if exercise_id in solved:
        return True
    solved[exercise_id] = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"solved": solved}, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)  # never a half-written file
    except OSError:
        return False
    return True


class ProgressBoard:
    """Every exercise and ticket of the course, solved or not yet (shown in notebook 00)."""

    def __init__(self, path: Path | None = None) -> None:
        self.solved = solved_exercises(path)
        self.rows = [(e.notebook, e.title, e.id in self.solved) for e in catalogue().values()]

    def __repr__(self) -> str:
        done = sum(1 for *_, ok in self.rows if ok)
        lines = [f"{done} of {len(self.rows)} exercises solved"]
        lines += [f"  [{'x' if ok else ' '}] {notebook}: {title}" for notebook, title, ok in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        done = sum(1 for *_, ok in self.rows if ok)
        cells = "".join(
            f"<tr><td>{html.escape(notebook)}</td><td>{html.escape(title)}</td>"
            f"<td>{'&#10003; solved' if ok else 'not yet'}</td></tr>"
            for notebook, title, ok in self.rows
        )
        return (
            f"<p><b>{done} of {len(self.rows)} exercises solved</b></p>"
            f"<table><tr><th>Notebook</th><th>Exercise</th><th></th></tr>{cells}</table>"
        )
