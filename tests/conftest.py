"""The one `lab` fixture: a fresh running lab per test, with its own state folder.

A lab started with other arguments has a fixture of its own, named for what differs (`quick_lab` in
hostile/test_limits.py, `swaks_lab` in smtp/test_swaks.py), and the labs shared by a module are
`shared_lab` and `traced_lab` (admin/). A `lab_dns` is a LabDNS alone, with no lab around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflow_lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab on loopback for one test; it must end with no unexpected error noted in its sessions."""
    with Lab.start(state_dir=tmp_path / "state") as running:
        yield running
        assert running.runtime.errors == [], running.runtime.errors
