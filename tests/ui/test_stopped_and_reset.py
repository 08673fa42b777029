"""Widgets on a stopped lab say so in one line (no "0 messages"); Reset on BreakFix and the explorer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_kit import text_of

from mailflow_lab import Lab
from mailflow_lab.ui.base import LAB_STOPPED
from mailflow_lab.ui.breakfix import BreakFix
from mailflow_lab.ui.explorer import ScenarioExplorer
from mailflow_lab.ui.readiness import ReadinessView
from mailflow_lab.ui.views import DNSEditor, MailboxViewer, TraceTable

TICKET = "smtp-auth-mailbox-off"


def _mailbox(lab: Lab) -> str:
    return str(MailboxViewer(lab, "alex@contoso.com").messages.value)


def _trace(lab: Lab) -> str:
    return str(TraceTable(lab).value)


def _readiness(lab: Lab) -> str:
    return str(ReadinessView(lab).value)


def _dns_editor(lab: Lab) -> str:
    editor = DNSEditor(lab)
    editor.values.value = "v=spf1 -all"
    assert editor.save() is False
    return str(editor.status.value)


def _explorer_send(lab: Lab) -> str:
    explorer = ScenarioExplorer(lab, draw=False)
    explorer.send_button.click()
    assert explorer.last_result is None
    return str(explorer.outcome.value)


def _explorer_toggle(lab: Lab) -> str:
    explorer = ScenarioExplorer(lab, draw=False)
    before = lab.world.tenant.settings.reject_direct_send
    explorer.controls["reject_direct_send"].value = not before
    assert lab.world.tenant.settings.reject_direct_send == before  # nothing ran
    assert explorer.controls["reject_direct_send"].value == before  # and the toggle says so
    return str(explorer.outcome.value)


def _breakfix_ticket(lab: Lab) -> str:
    return str(BreakFix(lab, TICKET).ticket.value)


def _breakfix_check(lab: Lab) -> str:
    widget = BreakFix(lab, TICKET)
    assert widget.check() is False
    return str(widget.output.value)


WIDGETS: dict[str, Callable[[Lab], str]] = {
    "mailbox viewer": _mailbox,
    "trace table": _trace,
    "readiness": _readiness,
    "dns editor": _dns_editor,
    "explorer send": _explorer_send,
    "explorer toggle": _explorer_toggle,
    "breakfix ticket": _breakfix_ticket,
    "breakfix check": _breakfix_check,
}


@pytest.mark.parametrize("widget", list(WIDGETS))
def test_a_widget_on_a_stopped_lab_says_run_the_first_cell_again(lab: Lab, widget: str) -> None:
    lab.stop()
    shown = text_of(WIDGETS[widget](lab))
    assert LAB_STOPPED in shown
    assert "0 messages" not in shown and "Saved" not in shown and "Traceback" not in shown


def test_the_mailbox_viewer_says_so_once_the_lab_stops_under_it(lab: Lab) -> None:
    viewer = MailboxViewer(lab, "alex@contoso.com")
    assert "Inbox of alex@contoso.com: 0 messages" in text_of(viewer.messages.value)
    lab.stop()
    viewer.refresh_button.click()
    assert text_of(viewer.messages.value) == LAB_STOPPED


def _solve(widget: BreakFix) -> None:
    widget.powershell.value = "Set-CASMailbox -Identity alex -SmtpClientAuthenticationDisabled $null"
    assert widget.check() is True


def test_breakfix_reset_brings_the_ticket_back_to_its_broken_start(lab: Lab) -> None:
    widget = BreakFix(lab, TICKET)
    first = widget.ticket.value
    assert "535 5.7.139" in first
    _solve(widget)
    widget.server.value, widget.port.value = "smtp.example.org", 25
    widget.reset_button.click()
    assert not widget.solved and "Reset" in widget.output.value
    assert "535 5.7.139" in widget.ticket.value
    assert (widget.server.value, widget.port.value, widget.tls.value) == (
        "smtp.office365.com",
        587,
        "starttls",
    )
    mailbox = lab.world.tenant.find_mailbox("alex@contoso.com")
    assert mailbox is not None and mailbox.smtp_client_authentication_disabled is True  # broken again
    # The lab behind it is back at its start: the solved send's message is gone.
    assert lab.mailbox("alex@contoso.com").folder("Inbox") == []
    _solve(widget)  # and it can be solved again


def test_explorer_reset_restores_the_lab_and_its_toggles(lab: Lab) -> None:
    explorer = ScenarioExplorer(lab, draw=False)
    start: dict[str, Any] = {
        name: explorer.controls[name].value for name in ("reject_direct_send", "connector")
    }
    explorer.controls["reject_direct_send"].value = True
    explorer.controls["connector"].value = True
    explorer.controls["spf_office_ip"].value = True
    explorer.send_button.click()
    assert lab.message_trace() and lab.world.tenant.inbound_connectors
    explorer.reset_button.click()
    assert lab.world.tenant.inbound_connectors == [] and lab.message_trace() == []
    assert not lab.world.tenant.settings.reject_direct_send
    assert {name: explorer.controls[name].value for name in start} == start
    assert explorer.controls["spf_office_ip"].value is False
    assert "Reset" in text_of(explorer.log.value) and explorer.outcome.value == ""
    explorer.send_button.click()
    assert explorer.last_result is not None and len(lab.message_trace()) == 1
