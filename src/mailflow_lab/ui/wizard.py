"""The decision wizard: yes/no questions about a device and the tenant, the option to use, a trial lab run."""

from __future__ import annotations

import html
import ipaddress
from typing import Any

import ipywidgets as widgets

from ..client.device import Device, SendResult
from ..lab.lab import Lab
from ..policy.advice import M365_SPF, QUESTIONS, TITLES, DeviceFacts, Recommendation, recommend
from ..world.loader import DEFAULT_WORLD
from ..world.model import TlsMode
from .base import WidgetView

# Where a hosted app appears from in the lab: a documentation address standing for a provider's shared range.
PROVIDER_IP = "192.0.2.80"
INTERNAL_RECIPIENT = "alex@contoso.com"
EXTERNAL_RECIPIENT = "pat@fabrikam.com"
CONNECTOR_BY_IP = "Wizard relay"
CONNECTOR_BY_CERTIFICATE = "Wizard relay (certificate)"


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def recommendation_html(rec: Recommendation) -> str:
    """A recommendation as HTML: option, reason, device settings, tenant steps, and why not the others."""
    parts = [f"<h3>Recommended: {_e(rec.title)}</h3>", f"<p>{_e(rec.reason)}</p>"]
    if rec.device_settings:
        rows = "".join(
            f"<tr><th style='text-align:left'>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>"
            for k, v in rec.device_settings.items()
        )
        parts.append(f"<h4>Type into the device</h4><table>{rows}</table>")
    if rec.tenant_steps:
        lines = "\n".join(_e(s) for s in rec.tenant_steps)
        parts.append(
            "<h4>In the tenant (Exchange Online PowerShell, then DNS)</h4>"
            f"<pre style='font-family:monospace'>{lines}</pre>"
        )
    if rec.notes:
        parts.append("<h4>Good to know</h4><ul>" + "".join(f"<li>{_e(n)}</li>" for n in rec.notes) + "</ul>")
    others = [f"<li><b>{_e(TITLES[k])}</b> also works: {_e(v)}</li>" for k, v in rec.also_possible.items()]
    others += [f"<li><b>{_e(TITLES[k])}</b> does not fit: {_e(v)}</li>" for k, v in rec.blocked.items()]
    if others:
        parts.append("<h4>Why not the others</h4><ul>" + "".join(others) + "</ul>")
    if rec.alternatives:
        items = "".join(f"<li>{_e(a)}</li>" for a in rec.alternatives)
        parts.append(f"<h4>Other ways to send</h4><ul>{items}</ul>")
    return "".join(parts)


class DecisionWizard(WidgetView):
    """Answer yes or no to each question, press Recommend, then try the setup in a lab of its own.

    "Try it in the lab" starts a fresh lab of the notebook lab's world, sets the option up there, sends,
    and stops it: the notebook's `lab` is never changed (its connectors, DNS and mailboxes stay as they are).
    """

    def __init__(self, lab: Lab | None = None, **advice: Any) -> None:
        """`lab`: the notebook's lab, whose world the trial runs in; `advice` goes to `recommend` (domain,
        mailbox, ip, sender, certificate_name)."""
        self.lab = lab
        self.advice = advice
        self.answers: dict[str, widgets.ToggleButtons] = {
            name: widgets.ToggleButtons(options=[("Yes", True), ("No", False)], value=False)
            for name in DeviceFacts.names()
        }
        questions = [
            widgets.VBox([widgets.HTML(f"<b>{_e(QUESTIONS[name])}</b>"), toggle])
            for name, toggle in self.answers.items()
        ]
        self.recommend_button = widgets.Button(description="Recommend", button_style="primary")
        self.try_button = widgets.Button(
            description="Try it in the lab",
            tooltip="Runs the recommended setup in the lab" if lab else "Needs DecisionWizard(lab=lab)",
        )
        self.output = widgets.HTML()
        self.last_recommendation: Recommendation | None = None
        self.last_result: SendResult | None = None
        self.recommend_button.on_click(lambda _: self._guarded(self.recommend))
        self.try_button.on_click(lambda _: self._guarded(self.try_in_lab))
        buttons = widgets.HBox([self.recommend_button, self.try_button])
        self.widget = widgets.VBox([*questions, buttons, self.output])

    # -- what the buttons do ----------------------------------------------------------------------------
    def facts(self) -> DeviceFacts:
        return DeviceFacts(**{name: bool(toggle.value) for name, toggle in self.answers.items()})

    def recommend(self) -> Recommendation:
        """Recommend from the current answers and show it."""
        facts = self.facts()
        rec = recommend(facts, connector_name=CONNECTOR_BY_IP, **self.advice)
        if rec.relay_by == "certificate":
            rec = recommend(facts, connector_name=CONNECTOR_BY_CERTIFICATE, **self.advice)
        self.last_recommendation = rec
        self.output.value = recommendation_html(rec)
        return rec

    def try_in_lab(self) -> SendResult | None:
        """Set up the recommended option in a fresh lab, send one message, show what happened, stop it."""
        rec = self.recommend()
        if self.lab is None:
            self._append("<p><b>No lab to try it in.</b> Pass one: <code>DecisionWizard(lab=lab)</code>.</p>")
            return None
        if rec.option == "none":
            self._append("<p><b>Nothing to try:</b> none of the three options fits these answers.</p>")
            return None
        with Lab.start(self.lab.world.source or DEFAULT_WORLD) as trial:  # its own temporary state folder
            setup = self._set_up_tenant(trial, rec)
            device = self._device_for(trial, rec)
            recipient = EXTERNAL_RECIPIENT if rec.facts.needs_external else INTERNAL_RECIPIENT
            result = device.send(trial, to=recipient, subject=f"Decision wizard: {rec.title}")
            self.last_result = result
            self._append(self._result_html(trial, rec, device, recipient, result, setup))
        return result

    # -- the lab run ----------------------------------------------------------------------------------
    def _set_up_tenant(self, lab: Lab, rec: Recommendation) -> list[str]:
        """Run the recommendation's connector line unless that connector exists; DNS stays as it is."""
        done = []
        for line in rec.powershell_lines():
            if not line.startswith("New-InboundConnector"):
                continue
            name = CONNECTOR_BY_CERTIFICATE if rec.relay_by == "certificate" else CONNECTOR_BY_IP
            if any(c.name.lower() == name.lower() for c in lab.world.tenant.inbound_connectors):
                done.append(f"(the connector {name!r} is already there)")
                continue
            outcome = lab.powershell(line)
            done.append(line if outcome.ok else f"{line}\n{outcome.error}")
        return done

    def _device_for(self, lab: Lab, rec: Recommendation) -> Device:
        facts, settings = rec.facts, rec.device_settings
        source = PROVIDER_IP if facts.hosted_by_third_party else str(lab.world.network.office.public_ip)
        common: dict[str, Any] = {
            "server": settings["Server"],
            "port": int(settings["Port"]),
            "sender": settings["Sender (From)"],
            "source_ip": ipaddress.ip_address(source),
        }
        if rec.option == "smtp-auth":
            user = settings["User name"]
            secret: dict[str, str | None]
            if "XOAUTH2" in settings["Authentication"]:
                secret = {"oauth_token": lab.issue_token(user)}
            else:
                mailbox = lab.world.tenant.find_mailbox(user)
                secret = {"password": mailbox.password if mailbox else None}
            return Device(name="Wizard: SMTP AUTH device", tls="starttls", username=user, **secret, **common)
        if rec.option == "relay" and rec.relay_by == "certificate":
            cert = settings["Client certificate"]
            return Device(name="Wizard: relay device", tls="starttls", client_cert=cert, **common)
        # TLS is optional on the MX: a device without TLS 1.2 sends in the clear rather than not at all.
        tls: TlsMode = "starttls" if facts.tls12_starttls_587 else "none"
        name = "Wizard: relay device" if rec.option == "relay" else "Wizard: direct send device"
        return Device(name=name, tls=tls, **common)

    def _result_html(
        self,
        lab: Lab,
        rec: Recommendation,
        device: Device,
        recipient: str,
        result: SendResult,
        setup: list[str],
    ) -> str:
        parts = [
            "<h4>Tried in the lab</h4>",
            "<p><i>In a fresh lab of its own, stopped afterwards: the notebook's lab is unchanged.</i></p>",
        ]
        if setup:
            parts.append("<p>Tenant setup run first:</p><pre style='font-family:monospace'>")
            parts.append(_e("\n".join(setup)) + "</pre>")
        parts.append(
            f"<p><b>{_e(device.name)}</b> sends as <code>{_e(device.sender)}</code> to "
            f"<code>{_e(device.server)}:{device.port}</code>, appearing as {_e(device.source_ip)}, "
            f"to {_e(recipient)}.</p>"
        )
        final = result.reply if result.reply is not None else (result.error or "no reply")
        parts.append(f"<p>Reply: <code>{_e(final)}</code></p>")
        items = "".join(
            f"<li>{_e(o.recipient)}: <b>{_e(o.where)}</b> {_e(o.detail)}</li>"
            for o in result.outcome.values()
        )
        parts.append(f"<p>Outcome:</p><ul>{items}</ul>")
        outcome = result.outcome.get(recipient)
        if outcome is not None and outcome.where == "Junk Email":
            parts.append(f"<p>{_e(_why_junk(lab, recipient, result, str(device.source_ip), rec))}</p>")
        if rec.dns_lines():
            parts.append("<p>The lab changed no DNS record: the SPF line above is for you to publish.</p>")
        transcript = result.transcript._repr_html_()
        parts.append(f"<details><summary>SMTP transcript</summary>{transcript}</details>")
        return "".join(parts)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _append(self, fragment: str) -> None:
        self.output.value = self.output.value + fragment

    def _guarded(self, action: Any) -> None:
        # A button callback's exception would vanish into the kernel log: show it to the learner instead.
        try:
            action()
        except Exception as exc:
            self._append(f"<p style='color:#b00020'><b>{_e(type(exc).__name__)}:</b> {_e(exc)}</p>")


def _why_junk(lab: Lab, recipient: str, result: SendResult, source: str, rec: Recommendation) -> str:
    """Why anti-spam filed the message in Junk Email, from the Authentication-Results header it stamped."""
    found = ""
    for message in lab.mailbox(recipient).folder("Junk Email"):
        if str(message.get("Message-ID", "")).strip() == (result.message_id or ""):
            found = " ".join(str(message.get("Authentication-Results", "")).split())
    domain = rec.device_settings.get("Sender (From)", "").rpartition("@")[2]
    if "spf=fail" in found or "spf=softfail" in found:
        return (
            f"Why Junk Email: the SPF record of {domain} does not list {source}, the address this device "
            f"sends from, so anti-spam treats the message as spoofing (Authentication-Results: {found}). "
            + (
                "Publishing the SPF line from the tenant steps moves such mail to the Inbox."
                if rec.dns_lines()
                else f"Only a static address of your own can be listed: v=spf1 ip4:{source} {M365_SPF} ~all."
            )
        )
    return f"Why Junk Email: anti-spam filed it there (Authentication-Results: {found or 'not found'})."
