"""The readiness view: a card per device with its options, blockers and fixes, from a real lab's sessions."""

from __future__ import annotations

import time

import ipywidgets as widgets
from ui_kit import text_of

from mailflow_lab import Device, Lab
from mailflow_lab.lab.readiness import lab_readiness
from mailflow_lab.ui.readiness import readiness_html, readiness_view


def wait_for_sessions(lab: Lab, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(lab.runtime.session_log.records()) < count and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)


def test_an_empty_lab_says_no_device_yet(lab: Lab) -> None:
    view = readiness_view(lab)
    assert isinstance(view, widgets.HTML)
    assert "No device has talked to the lab" in view.value


def test_each_device_shows_its_verdicts_fixes_and_settings(lab: Lab) -> None:
    view = readiness_view(lab)
    lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject="Scan")
    alex = Device("Alex's app", server="smtp.office365.com", port=587, tls="starttls",
                  username="alex@contoso.com", password="Alex#2026", sender="alex@contoso.com")  # fmt: skip
    alex.send(lab, to="alex@contoso.com")
    wait_for_sessions(lab, 2)
    view.refresh()
    shown = text_of(view.value)
    assert view.value == readiness_html(lab_readiness(lab))
    assert view.value.count('class="mfl-device"') == 2
    assert "lobby-scanner.local at 203.0.113.10 (1 session)" in shown
    assert "[works] SMTP AUTH client submission (recommended)" in shown
    assert "Device settings for SMTP AUTH client submission" in shown and "scanner@contoso.com" in shown
    # Alex's app: blocked by the tenant switch, and the cmdlet to type, escaped as text.
    assert "[blocked] SMTP AUTH client submission" in shown
    assert (
        "In the tenant: Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false"
        in shown
    )
    assert 'New-InboundConnector -Name "Device relay"' in shown and "&quot;Device relay&quot;" in view.value
    assert "Alex#2026" not in view.value


def test_only_the_named_devices_in_that_order(lab: Lab) -> None:
    lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject="Scan")
    alex = Device("Alex's app", server="smtp.office365.com", port=587, tls="starttls", helo="alex-app.local",
                  username="alex@contoso.com", password="Alex#2026", sender="alex@contoso.com")  # fmt: skip
    alex.send(lab, to="alex@contoso.com")
    wait_for_sessions(lab, 2)
    view = readiness_view(lab, only=["alex-app.local"])
    shown = text_of(view.value)
    assert view.value.count('class="mfl-device"') == 1
    assert "alex-app.local" in shown and "lobby-scanner.local" not in shown
    both = text_of(readiness_view(lab, only=["alex-app.local", "lobby-scanner.local"]).value)
    assert both.index("alex-app.local") < both.index("lobby-scanner.local")
