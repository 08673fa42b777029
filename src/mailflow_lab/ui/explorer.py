"""The scenario explorer: tenant, DNS and device toggles, Send, the transcript explained, the path drawn."""

from __future__ import annotations

import html
import ipaddress
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..client.device import Device, SendResult
from ..policy.explain import explain, explain_outcome
from ..world.hosts import SUBMISSION_SERVER, mx_host_for
from .base import STOPPED_HTML, WidgetView, lab_stopped
from .palette import FAIL_COLOUR
from .send_diagram import path_outputs
from .spf_record import spf_lists, spf_with
from .transcript_view import transcript_html

if TYPE_CHECKING:
    from ..lab.lab import Lab

OPTIONS = (("SMTP AUTH", "smtp-auth"), ("Direct send", "direct-send"), ("SMTP relay", "relay"))
CONNECTOR_NAME = "Office relay"
TLS_MAX = {"1.0": "TLSv1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}
MAILBOX_SWITCH = {None: "$null", True: "$true", False: "$false"}  # Set-CASMailbox -SmtpClientAuth...Disabled
MAILBOX_CHOICES = [("$false (on)", "$false"), ("$true (off)", "$true"), ("$null (as tenant)", "$null")]
WHERE_COLOURS = {
    "Inbox": "#2b6e2b",
    "Sent Items": "#2b6e2b",
    "Junk Email": "#c26a00",
    "quarantine": "#7b3fa0",
}
_WIDE = {"description_width": "12em"}


def _ps(value: bool) -> str:
    return "$true" if value else "$false"


def _toggle(options: Any, value: Any, description: str) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(options=options, value=value, description=description, style=_WIDE)


def section(title: str) -> widgets.HTML:
    return widgets.HTML(f"<h4 style='margin:6px 0 2px'>{html.escape(title)}</h4>")


class ScenarioExplorer(WidgetView):
    """Change the tenant, DNS and device, press Send, see the dialogue explained and the path drawn.

    Every tenant toggle runs the real admin path (`lab.powershell`), the SPF toggle `lab.dns.set_records`;
    `.log` shows the commands. Device toggles only change what the next Send uses.
    """

    def __init__(self, lab: Lab, *, subject: str = "Scenario explorer", draw: bool = True) -> None:
        self.lab = lab
        self.subject = subject
        self.draw = draw  # False: describe the path in text only (rendering is most of a Send's time)
        self.last_result: SendResult | None = None
        self._sent = 0
        self._syncing = False
        world = lab.world
        self.office_ip = str(world.network.office.public_ip)
        self.domain = next((d.name for d in world.tenant.accepted_domains if d.default), "contoso.com")
        mx = lab.dns.mx(self.domain)
        self.mx_host = mx[0][1] if mx else mx_host_for(self.domain)
        scanner = next((d for d in world.devices if d.server == SUBMISSION_SERVER and d.username), None)
        self.username = scanner.username if scanner and scanner.username else f"scanner@{self.domain}"
        self.password = scanner.password if scanner else None
        anonymous = next((d for d in world.devices if not d.username and d.sender), None)
        self.anonymous_sender = anonymous.sender if anonymous else f"printer@{self.domain}"
        recipients = [m.address for m in world.tenant.mailboxes if m.mailbox_type == "User"][:1]
        recipients += [a for org in world.outside for a in org.mailboxes][:1]
        senders = [self.username, self.anonymous_sender, *(m.address for m in world.tenant.mailboxes)]

        state = self._state()
        on_off, yes_no = [("On", True), ("Off", False)], [("Yes", True), ("No", False)]
        alias = self.username.split("@")[0]
        self.controls: dict[str, Any] = {
            "tenant_smtp_auth": _toggle(on_off, state["tenant_smtp_auth"], "SMTP AUTH (tenant)"),
            "mailbox_smtp_auth": _toggle(
                MAILBOX_CHOICES, state["mailbox_smtp_auth"], f"{alias} AUTH disabled"
            ),
            "security_defaults": _toggle(on_off, state["security_defaults"], "Security defaults"),
            "reject_direct_send": _toggle(on_off, state["reject_direct_send"], "RejectDirectSend"),
            "connector": _toggle(yes_no, state["connector"], "Connector for office IP"),
            "spf_office_ip": _toggle(yes_no, state["spf_office_ip"], "SPF lists office IP"),
            "option": _toggle(list(OPTIONS), "smtp-auth", "Option"),
            "port": _toggle([587, 25, 465], 587, "Port"),
            "tls": _toggle(["none", "starttls", "implicit"], "starttls", "TLS"),
            "tls_max": _toggle(list(TLS_MAX), "1.3", "TLS max version"),
            "sender": widgets.Combobox(
                options=list(dict.fromkeys(senders)),
                value=self.username,
                description="Sender",
                style=_WIDE,
                layout=widgets.Layout(width="36em"),  # a whole address stays readable in JupyterLab
            ),
            "recipient": _toggle(recipients, recipients[0], "Recipient"),
        }
        for name in (
            "tenant_smtp_auth",
            "mailbox_smtp_auth",
            "security_defaults",
            "reject_direct_send",
            "connector",
        ):
            self.controls[name].observe(self._on_admin_change, names="value")
        self.controls["spf_office_ip"].observe(self._on_spf_change, names="value")
        self.controls["option"].observe(self._on_option_change, names="value")

        self.send_button = widgets.Button(description="Send", button_style="primary", icon="paper-plane")
        self.send_button.on_click(self._on_click)
        self.reset_button = widgets.Button(
            description="Reset", icon="undo", tooltip="the lab back to its start"
        )
        self.reset_button.on_click(lambda _button: self.reset())
        self.log = widgets.HTML()
        self.outcome = widgets.HTML()
        self.transcript = widgets.HTML()
        self.diagram = widgets.Output()
        c = self.controls
        self.widget = widgets.VBox(
            [
                section("Tenant (Exchange Online PowerShell)"),
                *(c[n] for n in ("tenant_smtp_auth", "mailbox_smtp_auth", "security_defaults")),
                *(c[n] for n in ("reject_direct_send", "connector")),
                section(f"DNS ({self.domain})"),
                c["spf_office_ip"],
                section("Device"),
                *(c[n] for n in ("option", "port", "tls", "tls_max", "sender", "recipient")),
                widgets.HBox([self.send_button, self.reset_button]),
                self.log,
                self.outcome,
                self.diagram,
                self.transcript,
            ]
        )

    # -- the lab as it is now ------------------------------------------------------------------------
    def _office_connectors(self) -> list[Any]:
        return [
            c
            for c in self.lab.world.tenant.inbound_connectors
            if c.connector_type == "OnPremises"
            and any(ipaddress.ip_address(self.office_ip) in n for n in c.sender_ip_addresses)
        ]

    def _spf_records(self) -> tuple[str | None, list[str]]:
        """The domain's SPF record (or None) and its other TXT records in zone-file form."""
        records = self.lab.dns.resolve(self.domain, "TXT", follow_cname=False).records
        spf, others = None, []
        for record in records:
            text = b"".join(record.strings).decode("utf-8", "replace")
            if spf is None and text.lower().startswith("v=spf1"):
                spf = text
            else:
                others.append(record.to_text())
        return spf, others

    def _state(self) -> dict[str, Any]:
        tenant = self.lab.world.tenant
        mailbox = tenant.find_mailbox(self.username)
        spf, _ = self._spf_records()
        return {
            "tenant_smtp_auth": not tenant.settings.smtp_client_authentication_disabled,
            "mailbox_smtp_auth": MAILBOX_SWITCH[
                mailbox.smtp_client_authentication_disabled if mailbox else None
            ],
            "security_defaults": tenant.settings.security_defaults,
            "reject_direct_send": tenant.settings.reject_direct_send,
            "connector": any(c.enabled for c in self._office_connectors()),
            "spf_office_ip": spf is not None and spf_lists(spf, self.office_ip),
        }

    def sync(self) -> None:
        """Set the toggles from the lab (after a notebook cell changed the tenant or DNS behind them)."""
        self._syncing = True
        try:
            for name, value in self._state().items():
                self.controls[name].value = value
        finally:
            self._syncing = False

    def reset(self) -> None:
        """The lab back to its start (`lab.reset()`: tenant, DNS, empty mailboxes and trace), toggles too."""
        if self._refused_when_stopped():
            return
        self.lab.reset()
        self.sync()
        self._sent = 0
        self.last_result = None
        self.outcome.value = self.transcript.value = ""
        self.diagram.outputs = ()
        self._log(["Reset: the tenant, DNS and mailboxes are as the lab started."])

    def _refused_when_stopped(self) -> bool:
        """True, with the one line saying so, when the lab is stopped (nothing here can work then)."""
        if lab_stopped(self.lab):
            self.outcome.value = STOPPED_HTML
        return lab_stopped(self.lab)

    # -- applying a toggle through the admin path ----------------------------------------------------
    def commands_for(self, name: str, value: Any) -> list[str]:
        """The PowerShell lines that make the tenant match one toggle."""
        if name == "tenant_smtp_auth":
            return [f"Set-TransportConfig -SmtpClientAuthenticationDisabled {_ps(not value)}"]
        if name == "mailbox_smtp_auth":
            return [f"Set-CASMailbox -Identity {self.username} -SmtpClientAuthenticationDisabled {value}"]
        if name == "security_defaults":
            return [f"Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled {_ps(value)}"]
        if name == "reject_direct_send":
            return [f"Set-OrganizationConfig -RejectDirectSend {_ps(value)}"]
        if name == "connector":
            existing = self._office_connectors()
            if not value:
                return [
                    f'Set-InboundConnector -Identity "{c.name}" -Enabled $false'
                    for c in existing
                    if c.enabled
                ]
            if existing:
                return [f'Set-InboundConnector -Identity "{existing[0].name}" -Enabled $true']
            return [
                f'New-InboundConnector -Name "{CONNECTOR_NAME}" -ConnectorType OnPremises -SenderDomains * '
                f"-SenderIPAddresses {self.office_ip}"
            ]
        raise KeyError(f"no tenant toggle {name!r}")

    def _on_admin_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if self._refused_when_stopped():
            self.sync()  # the toggle goes back to what the lab had
            return
        name = next(n for n, w in self.controls.items() if w is change["owner"])
        entries = []
        for line in self.commands_for(name, change["new"]):
            result = self.lab.powershell(line)
            entries.append(f"PS&gt; {html.escape(line)}")
            if not result.ok:
                entries.append(f'<span style="color:{FAIL_COLOUR}">{html.escape(str(result.error))}</span>')
                self._log(entries)
                self.sync()
                return
        self._log(entries)

    def _on_spf_change(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if self._refused_when_stopped():
            self.sync()
            return
        spf, others = self._spf_records()
        record = spf_with(spf, self.office_ip, bool(change["new"]))
        self.lab.dns.set_records(self.domain, "TXT", [*others, f'"{record}"'])
        self._log([f"DNS: {html.escape(self.domain)} TXT &quot;{html.escape(record)}&quot;"])

    def _log(self, entries: list[str]) -> None:
        self.log.value = (
            '<div style="font-family:monospace;font-size:12px">' + "<br>".join(entries) + "</div>"
        )

    def _on_option_change(self, change: dict[str, Any]) -> None:
        """Each option's usual settings: SMTP AUTH on 587 as the scanner, the others on 25 with no sign-in."""
        auth = change["new"] == "smtp-auth"
        self.controls["port"].value = 587 if auth else 25
        self.controls["tls"].value = "starttls"
        self.controls["sender"].value = self.username if auth else self.anonymous_sender

    # -- sending -------------------------------------------------------------------------------------
    def device(self) -> Device:
        """The device the toggles describe."""
        c = self.controls
        auth = c["option"].value == "smtp-auth"
        highest = TLS_MAX[c["tls_max"].value]
        return Device(
            name="Explorer scanner" if auth else "Explorer printer",
            server=SUBMISSION_SERVER if auth else self.mx_host,
            port=c["port"].value,
            tls=c["tls"].value,
            username=self.username if auth else None,
            password=self.password if auth else None,
            sender=c["sender"].value.strip(),
            source_ip=ipaddress.ip_address(self.office_ip),
            tls_min_version="TLSv1.2" if highest in ("TLSv1.2", "TLSv1.3") else highest,
            tls_max_version=highest,
        )

    def send(self) -> SendResult:
        """Send one message as configured and show what happened."""
        self._sent += 1
        option = dict((v, k) for k, v in OPTIONS)[self.controls["option"].value]
        subject = f"{self.subject} {self._sent} ({option})"
        result = self.device().send(self.lab, to=self.controls["recipient"].value, subject=subject)
        self.last_result = result
        placeholders = {
            "mailbox": self.username,
            "office IP": self.office_ip,
            "tenant MX": self.mx_host,
            "sender": self.controls["sender"].value,
        }
        self.transcript.value = transcript_html(result, placeholders)
        self.outcome.value = self._outcome_html(result, placeholders)
        self._draw(result)
        return result

    def _on_click(self, _button: widgets.Button) -> None:
        if self._refused_when_stopped():
            return
        try:
            self.send()
        except Exception as exc:  # a widget callback shows the problem instead of a traceback in the log
            self.outcome.value = (
                f'<b style="color:{FAIL_COLOUR}">The send could not run: {html.escape(str(exc))}</b>'
            )

    def _external(self, address: str) -> bool:
        return not self.lab.world.tenant.is_accepted(address.rpartition("@")[2])

    def stopped_at(self, result: SendResult) -> str | None:
        """The hop where the message stopped (None when it reached the Inbox)."""
        if not result.accepted:
            rule = explain(result.reply, error=result.error).rule
            return "connector" if rule.startswith("connector.") else "endpoint"
        for outcome in result.outcome.values():
            external = self._external(outcome.recipient)
            if outcome.where in ("Junk Email", "quarantine", "failed", "rejected"):
                return "outside" if external else "mailbox"
            if outcome.where == "pending":
                return "endpoint"
        return None

    def _outcome_html(self, result: SendResult, placeholders: dict[str, str]) -> str:
        if result.accepted:
            head = '<b style="color:#2b6e2b">Accepted</b>'
        else:
            found = explain(result.reply, error=result.error)
            head = f'<b style="color:{FAIL_COLOUR}">Refused at {html.escape(found.step)}</b>'
        rows = []
        for outcome in result.outcome.values():
            colour = WHERE_COLOURS.get(outcome.where, FAIL_COLOUR)
            note = ""
            if result.accepted and outcome.where != "Inbox":
                found = explain_outcome(outcome.where, external=self._external(outcome.recipient))
                found = found.filled(placeholders)
                note = (
                    f"<br>{html.escape(found.headline)}<br><b>Fix:</b> <code>{html.escape(found.fix)}</code>"
                )
            where, detail = html.escape(outcome.where), html.escape(outcome.detail)
            rows.append(
                f'<li data-where="{where}">{html.escape(outcome.recipient)}: '
                f'<b style="color:{colour}">{where}</b> {detail}{note}</li>'
            )
        return f'<div class="mfl-outcome">{head}<ul>{"".join(rows)}</ul></div>'

    # -- the diagram ---------------------------------------------------------------------------------
    def summary(self, result: SendResult) -> str:
        """One line for the diagram: the refusal and why, or where the message landed."""
        if not result.accepted:
            found = explain(result.reply, error=result.error)
            code = (
                f"{result.reply.code} {result.reply.enhanced or ''}".strip() if result.reply else "no reply"
            )
            return f"{code}: {found.headline}"
        parts = []
        for outcome in result.outcome.values():
            found = explain_outcome(outcome.where, external=self._external(outcome.recipient))
            parts.append(outcome.where if outcome.where == "Inbox" else f"{outcome.where}: {found.headline}")
        return "; ".join(parts)

    def _draw(self, result: SendResult) -> None:
        """The option's path with the stop marked, as a PNG in `.diagram` (text only when `draw` is off)."""
        where, stopped = self.summary(result), self.stopped_at(result)
        option = self.controls["option"].value
        self.diagram.outputs = path_outputs(option, stopped, where, self.lab.world, draw=self.draw)


__all__ = ["OPTIONS", "ScenarioExplorer", "spf_lists", "spf_with"]
