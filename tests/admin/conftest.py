"""A fresh lab per test, for tests that change the tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflow_lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(state_dir=tmp_path / "state") as running:
        yield running
