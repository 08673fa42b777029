"""The README's client matrix: matrix_table.py renders and replaces it, and README.md holds this run's table.

The last test runs after every other one (conftest.py puts tests asking for ``finished_matrix`` last) and
compares README.md's block with the table of the rows this run recorded, when they are the whole matrix.
"""

from __future__ import annotations

import json
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Protocol

import pytest

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"
REGENERATE = "make client-matrix"


def _load_matrix_table() -> ModuleType:
    spec = spec_from_file_location("client_matrix_table", HERE / "matrix_table.py")
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


table = _load_matrix_table()


class Recorded(Protocol):
    """What the ``finished_matrix`` fixture gives (conftest.py's MatrixRun)."""

    def incomplete(self) -> list[str]: ...

    def sorted_rows(self) -> list[dict[str, str]]: ...


ROWS = [
    {"client": "curl", "option": "587, AUTH LOGIN", "result": "exit 0, 250 2.0.0; alex@contoso.com Inbox"},
    {
        "client": "PHPMailer",
        "option": "587 | no auth",
        "result": "ErrorInfo quotes 530 5.7.57; not delivered",
    },
]


def test_render_is_a_markdown_table_in_the_given_order() -> None:
    assert table.render(ROWS) == (
        "| client | option | result |\n"
        "|---|---|---|\n"
        "| curl | 587, AUTH LOGIN | exit 0, 250 2.0.0; alex@contoso.com Inbox |\n"
        "| PHPMailer | 587 \\| no auth | ErrorInfo quotes 530 5.7.57; not delivered |\n"
    )


def test_replace_block_keeps_the_rest_of_the_file() -> None:
    text = f"# Title\n\nBefore.\n\n{table.START}\nold table\n{table.END}\n\nAfter.\n"

    updated = table.replace_block(text, table.render(ROWS))

    assert updated == f"# Title\n\nBefore.\n\n{table.START}\n{table.render(ROWS)}{table.END}\n\nAfter.\n"
    assert table.block(updated) == table.render(ROWS)
    assert table.replace_block(updated, table.render(ROWS)) == updated


@pytest.mark.parametrize(
    "text",
    ["no markers", f"{table.START} only", f"{table.END}\n{table.START}", f"{table.START}{table.END}" * 2],
)
def test_block_needs_one_pair_of_markers(text: str) -> None:
    with pytest.raises(ValueError, match="client-matrix:start"):
        table.block(text)


def test_update_rewrites_the_block_and_refuses_a_partial_run(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{table.START}\n{table.END}\n")
    rows = tmp_path / "rows.json"
    rows.write_text(
        json.dumps({"complete": False, "incomplete": ["test_x.py was not collected"], "rows": ROWS})
    )

    assert table.main(["--rows", str(rows), "--update", str(readme)]) == 1
    assert readme.read_text() == f"intro\n{table.START}\n{table.END}\n"

    assert table.main(["--rows", str(rows), "--update", str(readme), "--allow-partial"]) == 0
    assert readme.read_text() == f"intro\n{table.START}\n{table.render(ROWS)}{table.END}\n"


def test_readme_holds_this_runs_matrix(finished_matrix: Recorded) -> None:
    missing = finished_matrix.incomplete()
    if missing:
        pytest.skip(
            "the README's client matrix is compared only after a run of every client test in tests/clients; "
            f"this run: {'; '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
        )
    expected = table.render(finished_matrix.sorted_rows())
    text = README.read_text(encoding="utf-8")
    assert table.START in text, (
        f"README.md has no {table.START} ... {table.END} block for the client matrix; add the markers, "
        f"then run {REGENERATE}"
    )
    assert table.block(text) == expected, f"README.md's client matrix is out of date: run {REGENERATE}"
