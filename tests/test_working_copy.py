"""`make lab` works on the learner's own copy (my-course/, ignored); `make reset-course` moves it aside."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The Makefile and the notebooks, as a fresh clone has them."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    return tmp_path


def make(checkout: Path, *args: str) -> str:
    assert MAKE is not None
    done = subprocess.run([MAKE, "-s", *args], cwd=checkout, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_make
def test_the_copy_is_made_once_from_the_notebooks(checkout: Path) -> None:
    make(checkout, "my-course")
    copied = sorted(p.name for p in (checkout / "my-course").glob("*.ipynb"))
    assert copied == sorted(p.name for p in (checkout / "notebooks").glob("*.ipynb"))
    (checkout / "my-course" / "00-start-here.ipynb").write_text("my work", encoding="utf-8")
    make(checkout, "my-course")  # already there: left alone
    assert (checkout / "my-course" / "00-start-here.ipynb").read_text(encoding="utf-8") == "my work"


@needs_make
def test_reset_course_moves_the_old_copy_aside_and_never_deletes_it(checkout: Path) -> None:
    make(checkout, "my-course")
    (checkout / "my-course" / "notes.txt").write_text("mine", encoding="utf-8")
    said = make(checkout, "reset-course")
    said += make(checkout, "reset-course")  # twice in one second: two backups, not one inside the other
    backups = sorted(checkout.glob("my-course.bak-*"))
    assert len(backups) == 2 and all(b.name in said for b in backups)
    assert (backups[0] / "notes.txt").read_text(encoding="utf-8") == "mine"  # the learner's work kept
    assert not (checkout / "my-course" / "notes.txt").exists()
    assert (checkout / "my-course" / "00-start-here.ipynb").read_bytes() == (
        checkout / "notebooks" / "00-start-here.ipynb"
    ).read_bytes()


@needs_make
def test_make_lab_opens_the_copy_and_allows_root_only_as_root(checkout: Path) -> None:
    (checkout / ".venv").mkdir()
    (checkout / "pyproject.toml").touch()
    (checkout / ".venv" / ".installed").touch()  # installed already: `make -n` prints only the jupyter line
    (checkout / ".venv" / "bin").mkdir()
    (checkout / ".venv" / "bin" / "python").touch()
    line = make(checkout, "-n", "lab").strip().splitlines()[-1]
    assert line.endswith("my-course/00-start-here.ipynb") and "jupyter lab" in line
    assert ("--allow-root" in line) == (os.geteuid() == 0)


def test_the_copy_is_ignored_and_never_run_by_nbval() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/my-course/" in ignored and "/my-course.bak-*/" in ignored
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    runs = re.findall(r"--nbval-lax[^\n]*", makefile)
    assert runs and all(run.rstrip().endswith(" notebooks/") for run in runs)
