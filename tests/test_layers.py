"""The structure DESIGN.md promises: layers in import order, one reply catalogue, a small package root."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mailflow_lab"
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# A reply with an enhanced status code ("550 5.7.64 ..."), or one built from a code: only the catalogue.
REPLY_TEXT = re.compile(r"\b[2-5]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b")
# Not the lab's replies: aiosmtpd's own wording, which translate.py recognises to rewrite it in Exchange's.
AIOSMTPD_WORDING = {
    "502 5.5.1 Too many unrecognized commands, goodbye.",
    "553 5.1.3 Error: malformed address",
}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_root_holds_only_the_entry_points() -> None:
    root = sorted(p.name for p in PACKAGE.iterdir() if p.is_file())
    assert root == ["__init__.py", "__main__.py", "cli.py", "py.typed"]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    """Every string literal that is not a docstring (a docstring may quote a reply it explains)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def reply_literals(path: Path) -> list[str]:
    """SMTP replies written outside the catalogue: reply text, or a Reply built from a literal code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"line {n.lineno}: {n.value!r}"
        for n in _string_constants(tree)
        if REPLY_TEXT.search(n.value) and n.value not in AIOSMTPD_WORDING
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Reply":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.append(f"line {node.lineno}: Reply({node.args[0].value!r}, ...)")
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if (PACKAGE / "policy" / "replies") not in p.parents],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_reply_literal_outside_the_catalogue(path: Path) -> None:
    assert reply_literals(path) == [], "reply strings belong in the catalogue, policy/replies/"


def test_the_literal_check_finds_a_stray_reply(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text(
        '"""Doc: 550 5.7.64 is explained."""\nX = "550 5.7.64 Relay"\nY = R.Reply(451, "4.4.0", "x")\n'
    )
    assert reply_literals(stray) == ["line 2: '550 5.7.64 Relay'", "line 3: Reply(451, ...)"]


@pytest.fixture(scope="module")
def lint_imports() -> Path:
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is not installed: pip install -e '.[test]'")
    return LINT_IMPORTS


def _run(lint: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(lint), "--no-cache"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_contract_is_kept(lint_imports: Path) -> None:
    run = _run(lint_imports, PYPROJECT.parent)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "2 kept, 0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("world/hosts.py", "from ..store import trace"),  # a plain upward import
        ("policy/decision.py", "if TYPE_CHECKING:\n    from ..lab.lab import Lab"),  # for typing only
        ("auth/spf.py", "def _lazy() -> None:\n    from ..ui import course"),  # inside a function
        ("smtp/mx.py", "from ..admin import shell"),  # between siblings of one layer
        ("policy/replies/session.py", "import matplotlib"),  # widgets and plots outside ui
    ],
)
def test_an_upward_import_breaks_the_build(
    lint_imports: Path, tmp_path: Path, module: str, line: str
) -> None:
    """The contract bites: a copy of the package with one forbidden import fails lint-imports."""
    copy = tmp_path / "src" / "mailflow_lab"
    shutil.copytree(PACKAGE, copy)
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    target = copy / module
    prefix = "from typing import TYPE_CHECKING\n" if "TYPE_CHECKING" in line else ""
    target.write_text(target.read_text(encoding="utf-8") + f"\n{prefix}{line}\n", encoding="utf-8")
    # The copy, not the installed package, is what lint-imports finds on the path.
    run = _run(lint_imports, tmp_path, {"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0, run.stdout[-2000:]
    assert "BROKEN" in run.stdout.upper()
