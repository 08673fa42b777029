"""Random and mutated world, zone and scenario files and cmdlet lines (hypothesis).

A mistake is reported as the loader's own error (LabDataError naming the file, or PowerShellSyntaxError
for a cmdlet line; `mailflow_lab.admin.shell.run` reports every problem in its result) and never as a
traceback from somewhere inside. A short run is part of every `make test`; `pytest -m fuzz` runs longer.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow_lab.admin.objects import PowerShellResult
from mailflow_lab.admin.shell import run
from mailflow_lab.admin.syntax import PowerShellSyntaxError, parse
from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.labdns.zones import zone_from_text
from mailflow_lab.scenarios import load_scenario_file
from mailflow_lab.store.runtime import LabRuntime
from mailflow_lab.store.statedir import open_state
from mailflow_lab.world.datafile import LabDataError
from mailflow_lab.world.loader import data_dir, load_world

SHORT_RUN = 60
LONG_RUN = 3000

WORLD = (data_dir() / "worlds" / "contoso.toml").read_text(encoding="utf-8")
ZONES = {p.name: p.read_text(encoding="utf-8") for p in sorted((data_dir() / "zones").glob("*.zone"))}
SCENARIOS = [p.read_text(encoding="utf-8") for p in sorted((data_dir() / "scenarios").glob("*.toml"))]
CMDLETS = [
    "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false",
    "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled:$null",
    "New-InboundConnector -Name 'Office printers' -ConnectorType OnPremises -SenderDomains * "
    "-SenderIPAddresses 203.0.113.10",
    'Set-InboundConnector -Identity "Office printers" -SenderIPAddresses @{Add="198.51.100.0/24";Remove=1}',
    "Get-CASMailbox | Format-Table Name,SmtpClientAuthenticationDisabled",
    "Get-TransportConfig | fl; Set-TransportConfig -SmtpClientAuthenticationDisabled $true -Confirm:$false",
    "Add-RecipientPermission -Identity helpdesk@contoso.com -Trustee scanner@contoso.com "
    "-AccessRights SendAs",
    "Get-MessageTraceV2 -SenderAddress a@contoso.com -StartDate 2026-01-01 -EndDate '2026-01-02' "
    "| Select-Object Status",
    "Get-AcceptedDomain | Select-Object -Property DomainName,DomainType  # comment",
    "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $true",
    "Set-OrganizationConfig -RejectDirectSend $true\nGet-OrganizationConfig",
    "Get-InboundConnector | Remove-InboundConnector -Confirm:$false",
    "New-AcceptedDomain -Name x -DomainName x.contoso.com -DomainType Authoritative -WhatIf",
]
# Bytes and characters that mean something to TOML, zone files or PowerShell.
SPECIAL = list("\"'[]{}=.,#;:@$|`\\\n\r\t -+*()<>/%") + [
    "\x00",
    "\u00e9",
    "\u202e",
    "\udcff",
    "\ufeff",
    "$null",
]


@st.composite
def mutated(draw: st.DrawFn, texts: list[str]) -> str:
    """One of `texts` with a few characters inserted, deleted, replaced, or a slice copied elsewhere."""
    text = list(draw(st.sampled_from(texts)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "copy", "cut"]))
        if op == "insert":
            text[at:at] = list(draw(st.one_of(st.sampled_from(SPECIAL), st.text(max_size=4))))
        elif op == "delete" and text:
            del text[at % len(text)]
        elif op == "replace" and text:
            text[at % len(text)] = draw(st.sampled_from(SPECIAL))
        elif op == "copy":
            start = draw(st.integers(0, len(text)))
            text[at:at] = text[start : start + draw(st.integers(0, 60))]
        elif op == "cut":
            del text[at : at + draw(st.integers(0, 200))]
    return "".join(text)


def fuzz(strategy: st.SearchStrategy[str], check: Callable[[str], None], examples: int, fixed: bool) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=fixed,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(text=strategy)
    def one(text: str) -> None:
        check(text)

    one()


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of data/ (zones and keys) next to which the fuzzed world file is written."""
    root = Path(tmp_path_factory.mktemp("worlds"))
    shutil.copytree(data_dir() / "zones", root / "zones")
    shutil.copytree(data_dir() / "keys", root / "keys")
    (root / "worlds").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabRuntime]:
    yield open_state(Path(tmp_path_factory.mktemp("ps")) / "state", "contoso", write=True)


def check_world(world_dir: Path) -> Callable[[str], None]:
    def check(text: str) -> None:
        path = world_dir / "worlds" / "fuzzed.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))  # undecodable files too
        try:
            load_world_dns(load_world(path))
        except LabDataError as error:
            assert str(error).startswith(str(path)), error

    return check


def check_zone(text: str) -> None:
    try:
        zone_from_text(text, origin="contoso.com.", source="fuzzed.zone")
    except LabDataError as error:
        assert str(error).startswith("fuzzed.zone: "), error


def check_scenario(directory: Path) -> Callable[[str], None]:
    def check(text: str) -> None:
        path = directory / "fuzzed.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            load_scenario_file(path)
        except LabDataError as error:
            assert str(error).startswith(str(path)), error

    return check


def check_parse(text: str) -> None:
    try:
        parse(text)
    except PowerShellSyntaxError:
        pass


def check_run(runtime: LabRuntime) -> Callable[[str], None]:
    def check(text: str) -> None:
        result = run(runtime, text)
        assert isinstance(result, PowerShellResult)
        assert isinstance(result.text(), str)
        assert runtime.errors == []

    return check


WORLDS = mutated([WORLD])
ZONE_TEXTS = mutated(list(ZONES.values()))
SCENARIO_TEXTS = mutated(SCENARIOS)
CHARACTERS = st.sampled_from([c for c in SPECIAL if len(c) == 1] + list("abcGetSet-"))
CMDLET_TEXTS = st.one_of(mutated(CMDLETS), st.text(alphabet=CHARACTERS, max_size=80))


def cases(examples: int, fixed: bool) -> list[object]:
    return [
        pytest.param("world", examples, fixed, id="world"),
        pytest.param("zone", examples, fixed, id="zone"),
        pytest.param("scenario", examples, fixed, id="scenario"),
        pytest.param("parse", examples * 3, fixed, id="cmdlet-parse"),
        pytest.param("run", examples, fixed, id="cmdlet-run"),
    ]


def _fuzz(target: str, examples: int, fixed: bool, world_dir: Path, runtime: LabRuntime, tmp: Path) -> None:
    targets: dict[str, tuple[st.SearchStrategy[str], Callable[[str], None]]] = {
        "world": (WORLDS, check_world(world_dir)),
        "zone": (ZONE_TEXTS, check_zone),
        "scenario": (SCENARIO_TEXTS, check_scenario(tmp)),
        "parse": (CMDLET_TEXTS, check_parse),
        "run": (CMDLET_TEXTS, check_run(runtime)),
    }
    strategy, check = targets[target]
    fuzz(strategy, check, examples, fixed)


@pytest.mark.parametrize(("target", "examples", "fixed"), cases(SHORT_RUN, True))
def test_fuzz_files_short(
    target: str, examples: int, fixed: bool, world_dir: Path, runtime: LabRuntime, tmp_path: Path
) -> None:
    _fuzz(target, examples, fixed, world_dir, runtime, tmp_path)


@pytest.mark.fuzz
@pytest.mark.parametrize(("target", "examples", "fixed"), cases(LONG_RUN, False))
def test_fuzz_files_long(
    target: str, examples: int, fixed: bool, world_dir: Path, runtime: LabRuntime, tmp_path: Path
) -> None:
    _fuzz(target, examples, fixed, world_dir, runtime, tmp_path)


@pytest.mark.parametrize("name", ["world", "zone", "scenario"])
def test_files_that_are_not_utf8_are_named_not_crashed_on(name: str, world_dir: Path, tmp_path: Path) -> None:
    """A file saved in Latin-1 (or binary junk): LabDataError naming the file, not UnicodeDecodeError."""
    raw = 'name = "caf\u00e9"\n'.encode("latin-1") + b"\xff\xfe\x00"
    path = tmp_path / ("fuzzed.zone" if name == "zone" else "fuzzed.toml")
    path.write_bytes(raw)
    with pytest.raises(LabDataError, match="is not UTF-8 text"):
        if name == "world":
            load_world(path)
        elif name == "scenario":
            load_scenario_file(path)
        else:
            from mailflow_lab.labdns.zones import zone_from_file

            zone_from_file(path, "contoso.com.")
