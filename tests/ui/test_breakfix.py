"""The break-fix widget, headless: the ticket shows the error, a wrong change is not yet, the fix works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.scenarios.loader import scenarios_dir
from mailflow_lab.ui.breakfix import BreakFix


@pytest.fixture
def example(tmp_path: Path) -> Path:
    text = re.search(r"```toml\n(.*?)```", (scenarios_dir() / "README.md").read_text(), re.S)
    assert text
    path = tmp_path / "example.toml"
    path.write_text(text.group(1))
    return path


def test_ticket_then_wrong_change_then_fix(lab: Lab, example: Path) -> None:
    widget = BreakFix(lab, str(example))
    assert "Since we moved the invoice app" in widget.ticket.value
    assert "535 5.7.139" in widget.ticket.value
    widget.powershell.value = "Set-CASMailbox -Identity scanner -SmtpClientAuthenticationDisabled $false"
    assert widget.check() is False
    assert "Not yet" in widget.output.value and "stopped at AUTH" in widget.output.value
    widget.hint_button.click()
    assert "Get-CASMailbox" in widget.output.value
    widget.powershell.value = (
        "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false"
    )
    widget.check_button.click()
    assert widget.solved and "Solved" in widget.output.value
    assert "follows the tenant" in widget.output.value


def test_a_refused_cmdlet_is_shown_and_nothing_sent(lab: Lab, example: Path) -> None:
    widget = BreakFix(lab, str(example))
    traced = len(lab.message_trace())
    widget.powershell.value = "Set-CASMailbox -Identity alex -Bogus $true"
    assert widget.check() is False
    assert "A parameter cannot be found that matches parameter name &#x27;Bogus&#x27;" in widget.output.value
    assert len(lab.message_trace()) == traced


def test_dns_lines_and_device_settings(lab: Lab, example: Path) -> None:
    widget = BreakFix(lab, str(example))
    widget.dns.value = "contoso.com TXT v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"
    widget.check()
    assert sorted(lab.dns.txt("contoso.com")) == [
        "MS=ms48123456",
        "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all",
    ]
    widget.dns.value = "contoso.com"
    assert widget.check() is False and "NAME TYPE VALUE" in widget.output.value
    widget.dns.value = "nowhere.example TXT hello"
    assert widget.check() is False and "in no lab zone" in widget.output.value
    widget.dns.value = ""
    widget.port.value = 465
    widget.tls.value = "implicit"
    assert widget.check() is False
    assert widget.session.device["port"] == 465


@pytest.fixture
def calendar_example(tmp_path: Path) -> Path:
    blocks = re.findall(r"```toml\n(.*?)```", (scenarios_dir() / "README.md").read_text(), re.S)
    (text,) = [b for b in blocks if "[calendar]" in b]
    path = tmp_path / "calendar-example.toml"
    path.write_text(text)
    return path


def test_a_calendar_ticket_shows_what_the_viewer_sees_then_the_fix(lab: Lab, calendar_example: Path) -> None:
    widget = BreakFix(lab, str(calendar_example))
    assert "Fabrikam&#x27;s planners see only" in widget.ticket.value
    assert "What anyone at fabrikam.com sees of alex@contoso.com&#x27;s calendar" in widget.ticket.value
    assert "<b>free/busy times</b> (AvailabilityOnly)" in widget.ticket.value
    assert "FreeBusyAccessLevel AvailabilityOnly" in widget.ticket.value
    assert "Mon 02 Mar 09:00-10:00  Busy\n" in widget.ticket.value
    assert "Contract renewal" not in widget.ticket.value
    # Only cmdlet lines: no DNS box and no device settings for a calendar.
    assert widget.dns not in widget.widget.children and widget.powershell in widget.widget.children
    assert "Set-OrganizationRelationship" in widget.powershell.placeholder
    # A change that is not the fix: Fabrikam still sees busy blocks, and the widget says what they see now.
    widget.powershell.value = "Set-OrganizationRelationship -Identity Fabrikam -FreeBusyAccessLevel None"
    assert widget.check() is False
    assert "Not yet" in widget.output.value and "What they see now" in widget.output.value
    assert "<b>nothing</b> (None)" in widget.output.value
    assert "FreeBusyAccessLevel None" in widget.output.value and "(an empty calendar)" in widget.output.value
    widget.hint_button.click()
    assert "Format-List FreeBusyAccessEnabled" in widget.output.value
    widget.powershell.value = (
        "Set-OrganizationRelationship -Identity Fabrikam -FreeBusyAccessLevel LimitedDetails"
    )
    widget.check_button.click()
    assert widget.solved and "Solved" in widget.output.value
    assert "Contract renewal with Fabrikam  Teams" in widget.output.value
    assert "LimitedDetails adds subject and location" in widget.output.value  # the explanation
    assert lab.message_trace() == []  # a calendar ticket sends nothing


def test_a_shipped_sharing_ticket_by_name(lab: Lab) -> None:
    widget = BreakFix(lab, "sharing-anonymous-publishing-off")
    assert "<b>nothing</b> (None)" in widget.ticket.value
    assert "an anonymous person (the published link)" in widget.ticket.value
    widget.powershell.value = (
        "Set-SharingPolicy -Identity 'Default Sharing Policy' "
        "-Domains @{Add='Anonymous: CalendarSharingFreeBusyDetail'}"
    )
    assert widget.check() is True
    assert "free/busy times, subject and location" in widget.output.value
