"""A fresh lab per test (it must end with no unexpected error noted), and the helpers of hostile_kit."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflow_lab import Lab

# The tests import their helpers as `hostile_kit` (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(state_dir=tmp_path / "state") as running:
        yield running
        assert running.runtime.errors == [], running.runtime.errors
