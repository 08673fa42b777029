"""Scenario files: the annotated README examples run as they say; each kind of mistake is named clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.scenarios import ScenarioError, load_into, load_scenario_file, run_scenario
from mailflow_lab.scenarios.compare import CalendarObservation
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
    [mismatch] = result.mismatches
    # The observed reply as it came over the wire, with the endpoint's diagnostic suffix.
    assert re.fullmatch(
        r"broken: expected a reply starting '250 2\.0\.0', got '535 5\.7\.139 Authentication unsuccessful, "
        r"SmtpClientAuthentication is disabled for the Tenant\. Visit https://aka\.ms/smtp_auth_disabled for "
        r"more information\. \[\S+ \S+Z [0-9A-F]{16}\]'",
        mismatch,
    ), mismatch


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


# -- calendar scenarios: [calendar] instead of [device] and [message] -----------------------------------


def calendar_example_text() -> str:
    """The annotated [calendar] example of data/scenarios/README.md, exactly as documented."""
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", README.read_text(), re.S) if "[calendar]" in b]
    assert len(blocks) == 1, "the README has one annotated calendar example"
    return blocks[0]


def test_the_documented_calendar_example_runs_broken_and_fixed(tmp_path: Path) -> None:
    scenario = load_scenario_file(write(tmp_path, calendar_example_text()))
    assert scenario.kind == "calendar" and scenario.message is None and scenario.device == {}
    assert scenario.calendar is not None and scenario.calendar.viewer.kind == "organisation"
    assert scenario.calendar.viewer.domain == "fabrikam.com" and scenario.calendar.owner == "alex@contoso.com"
    result = run_scenario(scenario)
    assert result.ok, result.mismatches
    broken, fixed = result.broken, result.fixed
    assert isinstance(broken, CalendarObservation) and isinstance(fixed, CalendarObservation)
    assert (broken.access, broken.mechanism) == ("AvailabilityOnly", "organization relationship")
    assert broken.lines == ["Mon 02 Mar 09:00-10:00  Busy", "Mon 02 Mar 14:00-15:30  Tentative"]
    assert (fixed.access, fixed.rule) == ("LimitedDetails", "relationship.free-busy")
    assert fixed.lines[0] == "Mon 02 Mar 09:00-10:00  Busy  Contract renewal with Fabrikam  Teams"
    report = result.to_dict()
    assert report["broken"]["access"] == "AvailabilityOnly" and report["fixed"]["access"] == "LimitedDetails"
    assert "FreeBusyAccessLevel LimitedDetails" in report["fixed"]["why"]
    # What the expected-versus-observed table of `scenarios run` reads, as for a send:
    assert scenario.expect.reply is None and scenario.expect.outcome == {"access": "AvailabilityOnly"}
    assert (broken.reply, broken.error, broken.outcome) == (None, None, {"access": "AvailabilityOnly"})


def test_a_wrong_calendar_expectation_is_reported(tmp_path: Path) -> None:
    text = calendar_example_text().replace(
        'mechanism = "organization relationship"       #', 'mechanism = "sharing policy"       #'
    )
    text = text.replace('why = "(FreeBusyAccessLevel AvailabilityOnly)"', 'why = "is disabled"')
    text = text.replace('access = "AvailabilityOnly"  #', 'access = "Reviewer"  #')
    result = run_scenario(load_scenario_file(write(tmp_path, text)), fix=False)
    assert result.fixed is None
    assert result.mismatches == [
        "broken: expected anyone at fabrikam.com to see full detail (subject, location and body) (Reviewer), "
        "sees free/busy times (AvailabilityOnly)",
        "broken: expected access through the sharing policy, got organization relationship",
        "broken: expected the reason to mention 'is disabled', got \"anyone at fabrikam.com sees free/busy "
        "times through the organization relationship: the organisation relationship 'Fabrikam' gives "
        'fabrikam.com free/busy times (FreeBusyAccessLevel AvailabilityOnly)"',
    ]


def test_expecting_no_mechanism(tmp_path: Path) -> None:
    text = calendar_example_text().replace("-FreeBusyAccessEnabled $true", "-FreeBusyAccessEnabled $false", 1)
    text = text.replace('access = "AvailabilityOnly"  #', 'access = "None"  #').replace(
        'mechanism = "organization relationship"       #', 'mechanism = "none"       #', 1
    )
    text = text.replace(
        'why = "(FreeBusyAccessLevel AvailabilityOnly)"', 'why = "FreeBusyAccessEnabled $false"'
    )
    result = run_scenario(load_scenario_file(write(tmp_path, text)), fix=False)
    assert result.ok, result.mismatches
    assert isinstance(result.broken, CalendarObservation) and result.broken.mechanism is None


def test_a_viewer_is_a_person_anyone_at_a_domain_or_anonymous(tmp_path: Path) -> None:
    forms = {
        '"pat@fabrikam.com"': ("person", "pat@fabrikam.com", "fabrikam.com"),
        '"Pat@Fabrikam.COM"': ("person", "pat@fabrikam.com", "fabrikam.com"),
        '"Fabrikam.com."': ("organisation", "", "fabrikam.com"),
        '"anonymous"': ("anonymous", "", ""),
    }
    for form, expected in forms.items():
        text = calendar_example_text().replace('viewer = "fabrikam.com"', f"viewer = {form}")
        check = load_scenario_file(write(tmp_path, text)).calendar
        assert check is not None
        assert (check.viewer.kind, check.viewer.address, check.viewer.domain) == expected, form


def test_an_owner_outside_the_tenant_is_a_scenario_error(tmp_path: Path) -> None:
    text = calendar_example_text().replace('owner = "alex@contoso.com"', 'owner = "ghost@contoso.com"')
    with pytest.raises(ScenarioError, match="example: calendar.owner: no mailbox ghost@contoso.com"):
        run_scenario(load_scenario_file(write(tmp_path, text)))


def test_a_calendar_scenario_sends_nothing(tmp_path: Path) -> None:
    from mailflow_lab import Lab

    scenario = load_scenario_file(write(tmp_path, calendar_example_text()))
    with Lab.start(state_dir=tmp_path / "state") as lab:
        loaded = load_into(lab, scenario.path)
        assert loaded.complaint.startswith("Fabrikam's planners")
        with pytest.raises(ScenarioError, match="sends no message"):
            loaded.send()
        assert loaded.look().access == "AvailabilityOnly"
        loaded.apply_fix()
        assert loaded.check()[1] == []
        assert lab.message_trace() == []


CALENDAR_MISTAKES = [
    pytest.param(
        "[calendar]",
        '[device]\nname = "x"\nserver = "smtp.office365.com"\nsender = "alex@contoso.com"\n\n[calendar]',
        "device",
        "either a [calendar] or a send",
        id="calendar and device",
    ),
    pytest.param(
        "[calendar]",
        '[message]\nto = ["pat@fabrikam.com"]\n\n[calendar]',
        "message",
        "either a [calendar] or a send",
        id="calendar and message",
    ),
    pytest.param(
        'access = "AvailabilityOnly"  #',
        'step = "DATA"\naccess = "AvailabilityOnly"  #',
        "expect.step",
        "only for a scenario that sends",
        id="mail key in calendar expect",
    ),
    pytest.param(
        'access = "LimitedDetails"',
        'outcome = { "pat@fabrikam.com" = "Inbox" }\naccess = "LimitedDetails"',
        "fix.expect.outcome",
        "a [calendar] one takes access, mechanism, why",
        id="mail key in calendar fix.expect",
    ),
    pytest.param(
        "[fix]",
        "[fix]\ndevice = { port = 465 }",
        "fix.device",
        "a [calendar] one sends nothing",
        id="device change in calendar fix",
    ),
    pytest.param(
        "[setup]", "[setup]\nfreeze_clock = true", "setup.freeze_clock", "sends nothing", id="freeze clock"
    ),
    pytest.param(
        "[setup]",
        '[setup]\nrecipients_sent_today = { "alex@contoso.com" = 5 }',
        "setup.recipients_sent_today",
        "sends nothing",
        id="recipients sent today",
    ),
    pytest.param(
        'viewer = "fabrikam.com"',
        'viewer = "pat"',
        "calendar.viewer",
        "expected a person's address (pat@fabrikam.com), a domain for anyone there (fabrikam.com) or "
        "Anonymous",
        id="viewer",
    ),
    pytest.param(
        'viewer = "fabrikam.com"',
        'viewer = "sam@contoso.com"',
        "calendar.viewer",
        "expected someone outside contoso.com",
        id="viewer inside",
    ),
    pytest.param(
        'owner = "alex@contoso.com"', 'owner = "alex"', "calendar.owner", "expected an email", id="owner"
    ),
    pytest.param(
        'owner = "alex@contoso.com"',
        'owner = "alex@contoso.com"\ncolour = "blue"',
        "calendar.colour",
        "unknown key",
        id="unknown calendar key",
    ),
    pytest.param(
        'access = "AvailabilityOnly"  #',
        'access = "Editor"  #',
        "expect.access",
        "expected one of None, AvailabilityOnly, LimitedDetails, Reviewer, got 'Editor'",
        id="access",
    ),
    pytest.param('access = "AvailabilityOnly"  #', "#", "expect.access", "missing", id="access missing"),
    pytest.param(
        'mechanism = "organization relationship"       #',
        'mechanism = "federation"       #',
        "expect.mechanism",
        "expected one of sharing policy, organization relationship, none",
        id="mechanism",
    ),
    pytest.param(
        'mechanism = "organization relationship"       #',
        'mechanism = "none"       #',
        "expect.mechanism",
        '"none" goes with access "None"; AvailabilityOnly comes through one',
        id="none with access",
    ),
    pytest.param(
        'access = "AvailabilityOnly"  #',
        'access = "None"  #',
        "expect.mechanism",
        'a viewer who sees nothing sees it through no mechanism: write "none"',
        id="mechanism with no access",
    ),
    pytest.param(
        'powershell = ["Set-OrganizationRelationship',
        'dns = []\nx = ["Set-OrganizationRelationship',
        "fix.x",
        "unknown key",
        id="unknown fix key",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), CALENDAR_MISTAKES)
def test_calendar_mistakes_name_file_and_key(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    text = calendar_example_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(LabDataError) as caught:
        load_scenario_file(path)
    assert caught.value.file == str(path)
    assert caught.value.where == where, caught.value
    assert problem in caught.value.problem, caught.value


@pytest.mark.parametrize("key", ["access", "mechanism", "why"])
def test_calendar_keys_in_a_mail_scenario(tmp_path: Path, key: str) -> None:
    value = {"access": "None", "mechanism": "none", "why": "because"}[key]
    text = example_text().replace(
        'step = "DATA"\nreply = "250 2.0.0"', f'{key} = "{value}"\nstep = "DATA"\nreply = "250 2.0.0"'
    )
    path = write(tmp_path, text)
    with pytest.raises(LabDataError) as caught:
        load_scenario_file(path)
    assert (caught.value.file, caught.value.where) == (str(path), f"fix.expect.{key}")
    assert caught.value.problem == "only for a [calendar] scenario; this one sends ([device] and [message])"


def test_a_calendar_fix_needs_cmdlets(tmp_path: Path) -> None:
    fix_line = (
        'powershell = ["Set-OrganizationRelationship -Identity Fabrikam -FreeBusyAccessLevel LimitedDetails"]'
    )
    text = calendar_example_text()
    assert fix_line in text
    path = write(
        tmp_path, text.replace(fix_line, 'dns = [{ name = "contoso.com", type = "TXT", values = [] }]')
    )
    with pytest.raises(LabDataError, match="fix: a calendar fix needs powershell changes"):
        load_scenario_file(path)
