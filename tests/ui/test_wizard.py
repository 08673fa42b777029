"""The decision wizard, headless: set the answers, click, read the output; then try each option in a lab."""

from __future__ import annotations

import html

import ipywidgets as widgets
import pytest

from mailflow_lab import Lab
from mailflow_lab.policy.advice import QUESTIONS, DeviceFacts, recommend
from mailflow_lab.ui.wizard import DecisionWizard

SCANNER = {"can_sign_in": True, "tls12_starttls_587": True, "smtp_auth_allowed": True}
PRINTER: dict[str, bool] = {}
OFFICE_RELAY = {"needs_external": True, "static_ip": True, "tls12_starttls_587": True}
CLOUD_APP = {"needs_external": True, "has_certificate": True, "hosted_by_third_party": True}
STUCK = {"needs_external": True, "hosted_by_third_party": True}


def answer(wizard: DecisionWizard, **answers: bool) -> DecisionWizard:
    for name, toggle in wizard.answers.items():
        toggle.value = answers.get(name, False)
    return wizard


def text(fragment: str) -> str:
    return html.escape(fragment, quote=False)


def test_one_yes_no_question_per_fact_in_plain_words() -> None:
    wizard = DecisionWizard()
    assert list(wizard.answers) == list(DeviceFacts.names())
    for name, toggle in wizard.answers.items():
        assert isinstance(toggle, widgets.ToggleButtons)
        assert toggle.options == (("Yes", True), ("No", False)) and toggle.label == "No"
        labels = [w.value for w in _descendants(wizard.widget) if isinstance(w, widgets.HTML)]
        assert f"<b>{text(QUESTIONS[name])}</b>" in labels
    assert wizard.recommend_button.description == "Recommend"
    assert wizard.try_button.description == "Try it in the lab"
    assert isinstance(wizard.widget, widgets.VBox) and wizard.output in _descendants(wizard.widget)
    bundle = wizard._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == wizard.widget.model_id


def _descendants(box: widgets.Widget) -> list[widgets.Widget]:
    found = [box]
    for child in getattr(box, "children", ()):
        found += _descendants(child)
    return found


@pytest.mark.parametrize(
    ("answers", "title"),
    [
        (SCANNER, "SMTP AUTH client submission"),
        (PRINTER, "Direct send"),
        (OFFICE_RELAY, "SMTP relay through an inbound connector"),
        (STUCK, "None of the three"),
    ],
)
def test_recommend_shows_the_option_and_the_reason(answers: dict[str, bool], title: str) -> None:
    wizard = answer(DecisionWizard(), **answers)
    wizard.recommend_button.click()
    rec = wizard.last_recommendation
    assert rec is not None and rec == recommend(DeviceFacts(**answers), connector_name="Wizard relay")
    shown = wizard.output.value
    assert f"Recommended: {title}" in shown and text(rec.reason) in shown
    for why in [*rec.blocked.values(), *rec.also_possible.values(), *rec.alternatives]:
        assert text(why) in shown


def test_recommend_shows_settings_as_a_table_and_steps_in_monospace() -> None:
    wizard = answer(DecisionWizard(), **OFFICE_RELAY)
    wizard.recommend_button.click()
    shown = wizard.output.value
    assert (
        "<th style='text-align:left'>Server</th><td><code>contoso-com.mail.protection.outlook.com</code>"
        in shown
    )
    assert "<th style='text-align:left'>Port</th><td><code>25</code>" in shown
    assert (
        "<pre style='font-family:monospace'>"
        'New-InboundConnector -Name "Wizard relay" -ConnectorType OnPremises '
        "-SenderDomains * -SenderIPAddresses 203.0.113.10\n"
        'contoso.com. 3600 IN TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all"</pre>'
    ) in shown
    assert "<b>Direct send</b> does not fit: Direct send only delivers" in shown


def test_try_without_a_lab_says_so() -> None:
    wizard = answer(DecisionWizard(), **SCANNER)
    wizard.try_button.click()
    assert "No lab to try it in." in wizard.output.value and wizard.last_result is None
    assert "Recommended: SMTP AUTH client submission" in wizard.output.value


def test_try_smtp_auth_reaches_alex(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **SCANNER)
    wizard.try_button.click()
    result = wizard.last_result
    assert result is not None and result.accepted and result.reply is not None
    assert result.reply.code == 250 and result.reply.enhanced == "2.0.0"
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    shown = wizard.output.value
    assert "Tried in the lab" in shown and f"Reply: <code>{text(str(result.reply))}</code>" in shown
    assert "<li>alex@contoso.com: <b>Inbox</b>" in shown
    assert "AUTH LOGIN" in shown and "Scan#2026" not in shown  # the password never shows
    # It ran in a lab of its own: the notebook's lab received nothing.
    assert lab.mailbox("alex@contoso.com").folder("Inbox") == [] and lab.message_trace() == []


def test_try_smtp_auth_with_oauth_to_fabrikam(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **SCANNER, supports_oauth=True, needs_external=True)
    wizard.try_button.click()
    assert wizard.last_result is not None
    assert wizard.last_result.outcome["pat@fabrikam.com"].where == "Inbox"
    assert "AUTH XOAUTH2" in wizard.output.value


def test_try_relay_reaches_pat_through_a_new_connector(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **OFFICE_RELAY)
    wizard.try_button.click()
    result = wizard.last_result
    assert result is not None and result.reply is not None and result.reply.enhanced == "2.6.0"
    assert result.outcome["pat@fabrikam.com"].where == "Inbox"
    shown = wizard.output.value
    assert "Tenant setup run first:" in shown and "<li>pat@fabrikam.com: <b>Inbox</b>" in shown
    assert 'New-InboundConnector -Name "Wizard relay" -ConnectorType OnPremises' in shown
    assert "-SenderIPAddresses 203.0.113.10" in shown
    # The connector was made in the wizard's own lab: the notebook's lab has none, so a second try
    # makes it again in a fresh lab, and direct send from the notebook still goes nowhere outside.
    assert lab.world.tenant.inbound_connectors == []
    wizard.try_button.click()
    assert "already there" not in wizard.output.value
    assert wizard.last_result is not None and wizard.last_result.outcome["pat@fabrikam.com"].where == "Inbox"
    assert lab.world.tenant.inbound_connectors == [] and lab.message_trace() == []


def test_try_relay_by_certificate_from_a_cloud(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **CLOUD_APP)
    wizard.try_button.click()
    assert wizard.last_result is not None
    assert wizard.last_result.outcome["pat@fabrikam.com"].where == "Inbox"
    assert "-TlsSenderCertificateName relay.contoso.com" in wizard.output.value
    assert "appearing as 192.0.2.80" in wizard.output.value
    assert lab.world.tenant.inbound_connectors == []


def test_try_direct_send_lands_in_junk_and_says_why(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **PRINTER)
    wizard.try_button.click()
    result = wizard.last_result
    assert result is not None and result.accepted and result.reply is not None
    assert result.reply.enhanced == "2.6.0" and result.reply.text.endswith("Queued mail for delivery")
    assert result.outcome["alex@contoso.com"].where == "Junk Email"
    shown = wizard.output.value
    assert "<li>alex@contoso.com: <b>Junk Email</b>" in shown
    assert "Why Junk Email: the SPF record of contoso.com does not list 203.0.113.10" in shown
    assert "spf=fail (sender IP is 203.0.113.10)" in shown
    assert lab.world.tenant.inbound_connectors == []


def test_try_when_nothing_fits(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **STUCK)
    wizard.try_button.click()
    assert "Nothing to try" in wizard.output.value and wizard.last_result is None


@pytest.mark.parametrize("answers", [SCANNER, PRINTER, OFFICE_RELAY, CLOUD_APP])
def test_every_recommended_cmdlet_runs_in_the_lab(lab: Lab, answers: dict[str, bool]) -> None:
    rec = recommend(DeviceFacts(**answers))
    assert rec.powershell_lines()
    for line in rec.powershell_lines():
        outcome = lab.powershell(line)
        assert outcome.ok, (line, outcome.error)


def test_a_refused_send_is_shown(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab, mailbox="nobody@contoso.com"), **SCANNER)
    wizard.try_button.click()
    result = wizard.last_result
    assert result is not None and not result.accepted
    assert "535 5.7.3 Authentication unsuccessful" in wizard.output.value


def test_an_error_inside_a_click_is_shown_not_lost() -> None:
    wizard = DecisionWizard(no_such_setting="x")
    wizard.recommend_button.click()
    assert "TypeError:" in wizard.output.value and "no_such_setting" in wizard.output.value


def test_displaying_the_wizard_displays_its_widget(capsys: pytest.CaptureFixture[str]) -> None:
    DecisionWizard()._ipython_display_()  # outside a kernel IPython prints the widget's repr
    assert capsys.readouterr().out.startswith("VBox(")


def test_direct_send_from_a_static_ip_reaches_the_inbox_once_spf_lists_it(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), static_ip=True)
    wizard.try_button.click()
    assert wizard.last_result is not None
    assert wizard.last_result.outcome["alex@contoso.com"].where == "Junk Email"
    assert (
        "Publishing the SPF line from the tenant steps moves such mail to the Inbox." in wizard.output.value
    )
    rec = wizard.last_recommendation
    assert rec is not None
    # Published in a lab (the notebook's own, here), the SPF line moves the same device's mail to the Inbox.
    (spf,) = rec.dns_lines()
    lab.dns.set_records("contoso.com", "TXT", [spf.split(" IN TXT ", 1)[1], '"MS=ms48123456"'])
    result = wizard._device_for(lab, rec).send(lab, to="alex@contoso.com", subject="After SPF")
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    # The wizard's own try starts from the world's DNS every time: Junk again, the notebook's change unseen.
    wizard.try_button.click()
    assert wizard.last_result.outcome["alex@contoso.com"].where == "Junk Email"


def test_direct_send_without_a_static_ip_says_what_spf_would_need(lab: Lab) -> None:
    wizard = answer(DecisionWizard(lab=lab), **PRINTER)
    wizard.try_button.click()
    assert (
        "Only a static address of your own can be listed: "
        "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all."
    ) in wizard.output.value
    assert "The lab changed no DNS record" not in wizard.output.value
