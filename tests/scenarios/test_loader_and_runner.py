"""Scenario files: the annotated README example runs as it says; each kind of mistake is named clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.scenarios import load_scenario_file, run_scenario
from mailflow_lab.scenarios.loader import scenarios_dir

README = scenarios_dir() / "README.md"


def example_text() -> str:
    """The annotated example of data/scenarios/README.md, exactly as documented."""
    match = re.search(r"```toml\n(.*?)```", README.read_text(), re.S)
    assert match, "the README has an annotated example"
    return match.group(1)


def write(tmp_path: Path, text: str, name: str = "example") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_the_documented_example_runs_broken_and_fixed(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, example_text()))
    assert scenario.name == "example" and scenario.tags == ("smtp-auth", "switches")
    result = run_scenario(scenario)
    assert result.ok, result.mismatches
    assert result.broken.reply is not None and result.broken.reply.startswith("535 5.7.139")
    assert result.broken.step == "AUTH"
    assert result.fixed is not None and result.fixed.outcome == {"pat@fabrikam.com": "Inbox"}


def test_a_wrong_expectation_is_reported(tmp_path: Path) -> None:
    text = example_text().replace('reply = "535 5.7.139"', 'reply = "250 2.0.0"')
    result = run_scenario(load_scenario_file(write(tmp_path, text)), fix=False)
    assert not result.ok
    assert result.mismatches == [
        "broken: expected a reply starting '250 2.0.0', got '535 5.7.139 Authentication unsuccessful, "
        "SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for "
        "more information.'"
    ]


MISTAKES = [
    pytest.param(
        'title = "The invoice', 'title = "The invoice\n', "line 2", "TOML syntax error", id="toml syntax"
    ),
    pytest.param("hint = ", "hints = ", "hint", "missing", id="missing key"),
    pytest.param(
        'tls = "starttls"', 'tls = "ssl"', "device.tls", "expected one of none, starttls", id="choice"
    ),
    pytest.param(
        'sender = "alex@contoso.com"', 'sender = "alex"', "device.sender", "expected an email", id="email"
    ),
    pytest.param('step = "AUTH"', 'step = "HELO"', "expect.step", "expected one of connect, EHLO", id="step"),
    pytest.param(
        "[fix.expect]", '[fix.expect]\ncolour = "blue"\n#', "fix.expect.colour", "unknown key", id="unknown"
    ),
    pytest.param(
        'to = ["pat@fabrikam.com"]', "to = []", "message.to", "at least one recipient", id="no recipients"
    ),
    pytest.param("port = 587", "port = 0", "device.port", "expected a port", id="port"),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), MISTAKES)
def test_mistakes_name_file_and_key(tmp_path: Path, old: str, new: str, where: str, problem: str) -> None:
    text = example_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(LabDataError) as caught:
        load_scenario_file(path)
    assert caught.value.file == str(path)
    assert caught.value.where.startswith(where), caught.value
    assert problem in caught.value.problem, caught.value


def test_a_fix_must_change_something(tmp_path: Path) -> None:
    fix_line = (
        'powershell = ["Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false"]'
    )
    text = example_text().replace(fix_line + "\n", "")
    with pytest.raises(LabDataError, match="fix: a fix needs powershell, dns or device changes"):
        load_scenario_file(write(tmp_path, text))


def test_an_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="no scenario named 'no-such-thing'"):
        load_scenario_file("no-such-thing")
