"""The real-client matrix (client x option x result, for README.md) and where a test's message landed.

A test records one row after its assertions, from what it observed: ``matrix("curl", "587, AUTH LOGIN",
f"exit {code}; {landing}")``. Rows are kept for the session and written to test-output/client-matrix.json at
its end; the run is *complete* when every collected test that asks for ``matrix`` recorded a row, none was
deselected, and every test_*.py of this folder was collected. tests/clients/matrix_table.py renders the rows
as the README table; a test asking for ``finished_matrix`` runs after all others (it compares README.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mailflow_lab import Lab

HERE = Path(__file__).resolve().parent
MATRIX_JSON = HERE.parents[1] / "test-output" / "client-matrix.json"

# The tests import their shared constants as `clients_kit` (--import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))


@dataclass
class MatrixRun:
    """The rows recorded in this session, and what it needs to know whether the set is complete."""

    rows: list[dict[str, str]] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # node ids of collected tests asking for `matrix`
    recorded: set[str] = field(default_factory=set)
    deselected: set[str] = field(default_factory=set)
    files_seen: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)  # e.g. a row recorded, then the lab's teardown check failed
    _order: dict[str, tuple] = field(default_factory=dict)

    def record(self, item: pytest.Item, client: str, option: str, result: str) -> None:
        if any(r["client"] == client and r["option"] == option for r in self.rows):
            raise AssertionError(f"two matrix rows for {client} / {option}")
        self.rows.append({"client": client, "option": option, "result": result, "test": item.nodeid})
        self._order[item.nodeid] = _definition_order(item)
        self.recorded.add(item.nodeid)

    def sorted_rows(self) -> list[dict[str, str]]:
        """The rows in the tests' definition order (file name, line, parameter), whatever order they ran in:
        pytest may reorder tests around fixtures, the README table must not change with it."""
        return sorted(self.rows, key=lambda row: self._order[row["test"]])

    def incomplete(self) -> list[str]:
        """Why the rows are not the full matrix (empty when they are)."""
        why = [f"{Path(name).name} was not collected" for name in sorted(self.test_files() - self.files_seen)]
        why += [f"{nodeid} was deselected" for nodeid in sorted(self.deselected)]
        why += [
            f"{nodeid} recorded no row (skipped or failed)"
            for nodeid in sorted(self.expected - self.recorded)
        ]
        why += [f"{nodeid} failed" for nodeid in sorted(self.failed & self.recorded)]
        return why

    @staticmethod
    def test_files() -> set[str]:
        return {str(path) for path in HERE.glob("test_*.py")}


def _definition_order(item: pytest.Item) -> tuple:
    path, line, _ = item.location
    callspec = getattr(item, "callspec", None)
    return (Path(path).name, line or 0, tuple(callspec.indices.values()) if callspec else ())


_RUN = pytest.StashKey[MatrixRun]()


def _run(config: pytest.Config) -> MatrixRun:
    if _RUN not in config.stash:
        config.stash[_RUN] = MatrixRun()
    return config.stash[_RUN]


def _here(item: pytest.Item) -> bool:
    return item.path.parent == HERE


@pytest.hookimpl(wrapper=True)  # after -k/-m/--deselect took their items out and pytest ordered by fixtures
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    yield
    run = _run(config)
    mine = [item for item in items if _here(item)]
    run.files_seen |= {str(item.path) for item in mine}
    run.expected |= {item.nodeid for item in mine if "matrix" in getattr(item, "fixturenames", ())}
    last = [item for item in items if "finished_matrix" in getattr(item, "fixturenames", ())]
    items[:] = [item for item in items if item not in last] + last


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        if _here(item):
            run = _run(item.config)
            run.files_seen.add(str(item.path))
            if "matrix" in getattr(item, "fixturenames", ()):
                run.deselected.add(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _here(item):
        _run(item.config).failed.add(item.nodeid)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is None or not run.rows:
        return
    MATRIX_JSON.parent.mkdir(exist_ok=True)
    document = {"complete": not run.incomplete(), "incomplete": run.incomplete(), "rows": run.sorted_rows()}
    MATRIX_JSON.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def matrix_run(pytestconfig: pytest.Config) -> MatrixRun:
    return _run(pytestconfig)


@pytest.fixture
def finished_matrix(matrix_run: MatrixRun) -> MatrixRun:
    """This session's matrix, for a test that looks at all of it: such a test runs after every other one."""
    return matrix_run


@pytest.fixture
def matrix(request: pytest.FixtureRequest, matrix_run: MatrixRun) -> Callable[[str, str, str], None]:
    """``matrix(client, option, result)``: one README row, with ``result`` built from observed values."""
    return lambda client, option, result: matrix_run.record(request.node, client, option, result)


@dataclass(frozen=True)
class Landing:
    """Every (mailbox, folder) holding the message, as "alex@contoso.com Inbox", sorted; quarantine too."""

    places: tuple[str, ...]

    def __str__(self) -> str:
        return ", ".join(self.places) or "not delivered"


def landing(lab: Lab, subject: str) -> Landing:
    addresses = [m.address for m in lab.world.tenant.mailboxes]
    addresses += [a for org in lab.world.outside for a in org.mailboxes]
    places = []
    for address in addresses:
        view = lab.mailbox(address)
        for folder in view.folders():
            hits = sum(1 for m in view.folder(folder) if str(m.get("Subject", "")) == subject)
            places += [f"{address} {folder}"] * hits
    held = sum(1 for m in lab.quarantine() if str(m.get("Subject", "")) == subject)
    return Landing(tuple(sorted(places) + ["quarantine"] * held))


@pytest.fixture
def landed() -> Callable[[Lab, str], Landing]:
    """``landed(lab, subject)``: where every copy of the message with this (unique) subject is."""
    return landing
