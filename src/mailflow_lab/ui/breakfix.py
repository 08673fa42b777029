"""The break-fix widget: a scenario's complaint and error, the learner's changes, Check, Hint and Reset."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..labdns.zones import typed_value
from ..policy.sharing import CalendarView
from ..scenarios.loader import load_scenario_file
from ..scenarios.session import LoadedScenario
from .base import STOPPED_HTML, WidgetView, lab_stopped

if TYPE_CHECKING:
    from ..lab.lab import Lab

_DNS_HELP = "one change a line: NAME TYPE VALUE, e.g. contoso.com TXT v=spf1 ip4:203.0.113.10 -all"
_MAIL_EXAMPLE = "Set-CASMailbox -Identity alex -SmtpClientAuthenticationDisabled $false"
_SHARING_EXAMPLE = "Set-OrganizationRelationship -Identity Fabrikam -FreeBusyAccessLevel LimitedDetails"


class BreakFix(WidgetView):
    """Shows the ticket, takes cmdlet lines, DNS changes and device settings, and checks the fix.

    A calendar (sharing) scenario shows what its viewer sees of the calendar instead of a send, and
    takes cmdlet lines only.
    """

    def __init__(self, lab: Lab, scenario: LoadedScenario | str) -> None:
        self.lab = lab
        if isinstance(scenario, LoadedScenario):
            self.session = scenario
        elif lab_stopped(lab):  # nothing to apply the broken setup to: the ticket says so
            loaded = load_scenario_file(scenario)
            self.session = LoadedScenario(lab, loaded, dict(loaded.device))
        else:
            self.session = LoadedScenario.load(lab, load_scenario_file(scenario))
        calendar = self.session.scenario.calendar is not None
        self.ticket = widgets.HTML()
        self._show_ticket()
        self.powershell = widgets.Textarea(
            placeholder=f"PowerShell, one line each, e.g. {_SHARING_EXAMPLE if calendar else _MAIL_EXAMPLE}",
            layout=widgets.Layout(width="100%", height="80px"),
        )
        self.dns = widgets.Textarea(placeholder=_DNS_HELP, layout=widgets.Layout(width="100%", height="50px"))
        device = self.session.device
        self.server = widgets.Text(  # a whole host name stays readable
            value=str(device.get("server", "")), description="Server", layout=widgets.Layout(width="36em")
        )
        self.port = widgets.BoundedIntText(
            value=int(device.get("port", 587)), min=1, max=65535, description="Port"
        )
        self.tls = widgets.Dropdown(
            options=["none", "starttls", "implicit"], value=device.get("tls", "starttls"), description="TLS"
        )
        self.check_button = widgets.Button(description="Check", button_style="primary", icon="check")
        self.hint_button = widgets.Button(description="Hint", icon="lightbulb-o")
        self.reset_button = widgets.Button(
            description="Reset", icon="undo", tooltip="the lab back to its start, this ticket broken again"
        )
        self.output = widgets.HTML()
        self.solved = False
        self.check_button.on_click(lambda _b: self.check())
        self.hint_button.on_click(lambda _b: self.show_hint())
        self.reset_button.on_click(lambda _b: self.reset())
        mail_only = [] if calendar else [self.dns, widgets.HBox([self.server, self.port, self.tls])]
        self.widget = widgets.VBox(
            [
                self.ticket,
                widgets.HTML("<b>Your changes</b>"),
                self.powershell,
                *mail_only,
                widgets.HBox([self.check_button, self.hint_button, self.reset_button]),
                self.output,
            ]
        )

    def _show_ticket(self) -> None:
        """The ticket as the learner meets it: the complaint and what the broken setup does now."""
        if lab_stopped(self.lab):
            title = html.escape(self.session.scenario.title)
            self.ticket.value = f"<h4>{title}</h4>{STOPPED_HTML}"
        elif self.session.scenario.calendar is not None:
            self.ticket.value = self._calendar_ticket_html(self.session.look())
        else:
            self.ticket.value = self._ticket_html(self.session.send())

    def reset(self) -> None:
        """Start the ticket again: the lab back to its start (`lab.reset()`), then broken as reported."""
        if lab_stopped(self.lab):
            self.output.value = STOPPED_HTML
            return
        self.lab.reset()
        self.session = LoadedScenario.load(self.lab, self.session.scenario)
        device = self.session.device
        self.server.value = str(device.get("server", ""))
        self.port.value = int(device.get("port", 587))
        self.tls.value = device.get("tls", "starttls")
        self.powershell.value = self.dns.value = ""
        self.solved = False
        self._show_ticket()
        self.output.value = "<p>Reset: the ticket is as it was first reported.</p>"

    def _ticket_html(self, result: Any) -> str:
        scenario = self.session.scenario
        error = str(result.reply) if result.reply else (result.error or "")
        outcome = ", ".join(f"{a}: {o.where}" for a, o in result.outcome.items())
        return (
            f"<h4>{html.escape(scenario.title)}</h4>"
            f"<p><i>“{html.escape(scenario.complaint)}”</i></p>"
            f"<p>What the device got: <code>{html.escape(error)}</code><br>"
            f"Where it went: {html.escape(outcome)}</p>"
        )

    def _calendar_ticket_html(self, view: CalendarView) -> str:
        scenario = self.session.scenario
        whose = f"What {view.viewer.label} sees of {view.owner}'s calendar:"
        return (
            f"<h4>{html.escape(scenario.title)}</h4>"
            f"<p><i>“{html.escape(scenario.complaint)}”</i></p>"
            f"<p>{html.escape(whose)}</p>"
            f"{_view_html(view)}"
        )

    def show_hint(self) -> None:
        self.output.value = f"<p>💡 {html.escape(self.session.hint)}</p>"

    def check(self) -> bool:
        """Apply the learner's changes through the real admin paths, resend, and compare with the fix."""
        if lab_stopped(self.lab):
            self.output.value = STOPPED_HTML
            return False
        notes: list[str] = []
        for line in [x.strip() for x in self.powershell.value.splitlines() if x.strip()]:
            result = self.lab.powershell(line)
            if not result.ok:
                self.output.value = f'<pre style="color:#b00020">{html.escape(str(result.error))}</pre>'
                return False
            notes += result.warnings
        for line in [x.strip() for x in self.dns.value.splitlines() if x.strip()]:
            problem = self._apply_dns(line)
            if problem:
                self.output.value = f'<p style="color:#b00020">{html.escape(problem)}</p>'
                return False
        if self.session.scenario.calendar is None:
            self.session.device.update(server=self.server.value, port=self.port.value, tls=self.tls.value)
        result, mismatches = self.session.check()
        self.powershell.value = self.dns.value = ""
        self.solved = not mismatches
        # A calendar scenario shows what the viewer sees now; a send, the server's last reply.
        if isinstance(result, CalendarView):
            now, reply = _view_html(result), ""
        else:
            now, reply = "", f" <code>{html.escape(str(result.reply))}</code>"
        if self.solved:
            self.output.value = (
                f'<p style="color:#2b6e2b"><b>Solved.</b>{reply}</p>{now}'
                f"<p>{html.escape(self.session.explanation)}</p>"
            )
        else:
            items = "".join(f"<li>{html.escape(m)}</li>" for m in mismatches)
            seen = f"<p>What they see now:</p>{now}" if now else ""
            self.output.value = f"<p><b>Not yet.</b></p><ul>{items}</ul>{seen}"
        return self.solved

    def _apply_dns(self, line: str) -> str | None:
        parts = line.split(None, 2)
        if len(parts) < 3:
            return f"'{line}': {_DNS_HELP}"
        name, rdtype, value = parts[0].rstrip("."), parts[1].upper(), parts[2]
        try:
            if rdtype == "TXT":
                kept = [t for t in self.lab.dns.txt(name) if not _same_kind(t, value)]
                self.lab.dns.set_txt(name, [*kept, value.strip('"')])
            else:
                zone = self.lab.dns.zone_for(name)
                origin = zone.origin if zone is not None else name + "."
                self.lab.dns.set_records(name, rdtype, [typed_value(rdtype, value, origin)])
        except (KeyError, ValueError) as exc:
            return f"'{line}': {exc}"
        return None


def _view_html(view: CalendarView) -> str:
    """The access, why, and the calendar as the viewer sees it (an empty calendar said so)."""
    lines = "\n".join(view.lines()) or "(an empty calendar)"
    return (
        f"<p><b>{html.escape(view.sees)}</b> ({html.escape(view.access)}): {html.escape(view.why)}</p>"
        f"<pre>{html.escape(lines)}</pre>"
    )


def _same_kind(existing: str, new: str) -> bool:
    """An SPF or DMARC value replaces the record of its kind; other TXT records stay."""
    for prefix in ("v=spf1", "v=DMARC1"):
        if new.strip('"').startswith(prefix) and existing.startswith(prefix):
            return True
    return False
