"""The one `lab` fixture: a fresh running lab per test, with its own state folder.

A lab started with other arguments has a fixture of its own, named for what differs (`quick_lab` in
hostile/test_limits.py, `swaks_lab` in smtp/test_swaks.py), and the labs shared by a module are
`shared_lab` and `traced_lab` (admin/). A `lab_dns` is a LabDNS alone, with no lab around it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflow_lab import Lab

# Tests import `real_clients` (which real clients are here) from this folder (--import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))
import real_clients  # noqa: E402


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab on loopback for one test; it must end with no unexpected error noted in its sessions."""
    with Lab.start(state_dir=tmp_path / "state") as running:
        yield running
        assert running.runtime.errors == [], running.runtime.errors


_SKIPPED_LINE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Note which real clients' absence skipped tests; pytest_unconfigure prints it as the run's last line."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if real_clients.REASON_TAIL in _reason(r)]
    names = [
        name
        for name, entry in real_clients.entries().items()
        if any(entry["about"] in _reason(report) for report in skipped)
    ]
    if skipped:
        config.stash[_SKIPPED_LINE] = (
            f"{len(skipped)} test{'s' * (len(skipped) != 1)} skipped because these real clients are not "
            f"installed: {', '.join(names)}. "
            f"Install them with: {real_clients.INSTALL} (it runs apt-get and npm; apt-get needs root)"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and _SKIPPED_LINE in config.stash:
        reporter.write_line(config.stash[_SKIPPED_LINE], yellow=True, bold=True)


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
