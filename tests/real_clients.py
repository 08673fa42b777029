"""Which real clients and peers of .ci/clients.toml are here, and the skip marker of the tests needing one.

A test that needs swaks is marked ``@needs("swaks")``; without it, it skips with a reason naming the client
and ``make clients``, and tests/conftest.py prints one line at the end of the run naming every client that a
skipped test needed. What "here" means is .ci/install-clients' own check, loaded from that file.
"""

from __future__ import annotations

from functools import cache
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "make clients"
# Every skip reason given here ends with this, which is how the end-of-run line finds them.
REASON_TAIL = f"(install it with: {INSTALL})"


@cache
def _installer() -> ModuleType:
    loader = SourceFileLoader("install_clients", str(ROOT / ".ci" / "install-clients"))
    spec = spec_from_loader(loader.name, loader)
    assert spec is not None
    module = module_from_spec(spec)
    loader.exec_module(module)
    return module


@cache
def entries() -> dict[str, dict]:
    return _installer().entries()


def executable(command: str) -> str | None:
    """The path of a client's command, on PATH or in /usr/sbin (where Postfix lives); None when absent."""
    return _installer().executable(command)


@cache
def missing(name: str) -> tuple[str, ...]:
    """What of the client ``name`` is absent (commands, files, Perl modules); empty when it is all here."""
    return tuple(_installer().missing(entries()[name]))


def have(name: str) -> bool:
    return not missing(name)


def reason(name: str) -> str:
    return f"{entries()[name]['about']} is not installed, {', '.join(missing(name))} missing {REASON_TAIL}"


def needs(*names: str) -> pytest.MarkDecorator:
    """Skip the test unless every named client is here (names are the tables of .ci/clients.toml)."""
    absent = [name for name in names if not have(name)]
    return pytest.mark.skipif(bool(absent), reason="; ".join(reason(name) for name in absent) or "all here")


def node_modules() -> Path:
    """Where `make clients` put the npm clients (nodemailer, MailDev, configurable-http-proxy)."""
    return ROOT / entries()["node"]["npm"] / "node_modules"
