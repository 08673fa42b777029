"""The README's real-client table (client x option x result), from the rows the client tests recorded.

    python tests/clients/matrix_table.py                     # prints the table of the recorded rows
    python tests/clients/matrix_table.py --update README.md  # puts it between the markers of README.md

The rows come from a run of tests/clients (its conftest.py writes them); --update refuses a partial run
(a client missing, a test skipped or deselected) unless --allow-partial is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

START = "<!-- client-matrix:start -->"
END = "<!-- client-matrix:end -->"
ROWS_JSON = Path(__file__).resolve().parents[2] / "test-output" / "client-matrix.json"
COLUMNS = ("client", "option", "result")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(rows: Iterable[Mapping[str, str]]) -> str:
    """The Markdown table: a line per row in the order given (the tests' order), ending in a newline."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def block(text: str) -> str:
    """What README.md holds between the markers (without them); ValueError without exactly one pair."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"expected one {START} ... {END} block")
    return text[text.index(START) + len(START) : text.index(END)].strip("\n") + "\n"


def replace_block(text: str, table: str) -> str:
    """The text with its block (between the markers) replaced by ``table``."""
    block(text)  # checks the markers
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table.rstrip(chr(10))}\n{END}{tail}"


def load(path: Path = ROWS_JSON) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, metavar="README", help="rewrite the block in this file")
    parser.add_argument(
        "--rows", type=Path, default=ROWS_JSON, help=f"the recorded rows (default {ROWS_JSON})"
    )
    parser.add_argument("--allow-partial", action="store_true", help="accept rows of an incomplete run")
    args = parser.parse_args(argv)
    if not args.rows.exists():
        print(
            f"{args.rows} does not exist: run the client tests first (pytest tests/clients)", file=sys.stderr
        )
        return 1
    recorded = load(args.rows)
    if not recorded["complete"] and not args.allow_partial:
        print(
            "the recorded run is not the whole matrix:", *recorded["incomplete"], sep="\n  ", file=sys.stderr
        )
        return 1
    table = render(recorded["rows"])
    if args.update is None:
        sys.stdout.write(table)
        return 0
    text = args.update.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, table)
    except ValueError as error:
        print(f"{args.update}: {error}", file=sys.stderr)
        return 1
    if updated != text:
        args.update.write_text(updated, encoding="utf-8")
    print(f"{args.update}: {len(recorded['rows'])} rows{' (unchanged)' if updated == text else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
