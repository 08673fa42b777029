"""The scenario explorer, driven headlessly: set the toggles, click Send, read the transcript and outcome."""

from __future__ import annotations

import base64
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import pytest  # noqa: E402
from ui_kit import text_of  # noqa: E402

from mailflow_lab import Lab  # noqa: E402
from mailflow_lab.client.device import SendResult  # noqa: E402
from mailflow_lab.ui.explorer import ScenarioExplorer  # noqa: E402
from mailflow_lab.ui.spf_record import spf_lists, spf_with  # noqa: E402

OFFICE_IP = "203.0.113.10"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def explorer(lab: Lab) -> ScenarioExplorer:
    """Path described in text only: rendering the PNG is most of a Send's time (the diagram tests draw)."""
    return ScenarioExplorer(lab, draw=False)


def click_send(explorer: ScenarioExplorer, **settings: Any) -> SendResult:
    """Set toggles (tenant ones apply at once), press Send, return what the explorer recorded."""
    for name, value in settings.items():
        explorer.controls[name].value = value
    explorer.send_button.click()
    assert explorer.last_result is not None, text_of(explorer.outcome.value)
    return explorer.last_result


def failing_lines(explorer: ScenarioExplorer) -> list[str]:
    return [
        text_of(m)
        for m in re.findall(r'class="mfl-line mfl-fail"[^>]*>(.*?)</div>', explorer.transcript.value)
    ]


def diagram_label(explorer: ScenarioExplorer) -> str:
    (output,) = explorer.diagram.outputs
    return str(output["data"]["text/plain"])


# -- the widget itself ---------------------------------------------------------------------------------


def test_the_explorer_exposes_its_parts(explorer: ScenarioExplorer) -> None:
    assert isinstance(explorer.widget, widgets.VBox)
    assert isinstance(explorer.send_button, widgets.Button) and explorer.send_button.description == "Send"
    assert isinstance(explorer.transcript, widgets.HTML) and isinstance(explorer.outcome, widgets.HTML)
    assert isinstance(explorer.diagram, widgets.Output)
    assert explorer.last_result is None
    expected = {
        "tenant_smtp_auth",
        "mailbox_smtp_auth",
        "security_defaults",
        "reject_direct_send",
        "connector",
        "spf_office_ip",
        "option",
        "port",
        "tls",
        "tls_max",
        "sender",
        "recipient",
    }
    assert set(explorer.controls) == expected
    assert list(explorer.controls["port"].options) == [587, 25, 465]
    assert list(explorer.controls["recipient"].options) == ["alex@contoso.com", "pat@fabrikam.com"]
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id


def test_the_toggles_start_from_the_lab(explorer: ScenarioExplorer) -> None:
    """The default world: a tenant created after 2020 (SMTP AUTH off), the scanner enabled on its own."""
    values = {name: control.value for name, control in explorer.controls.items()}
    assert values["tenant_smtp_auth"] is False
    assert values["mailbox_smtp_auth"] == "$false"
    assert values["security_defaults"] is False and values["reject_direct_send"] is False
    assert values["connector"] is False and values["spf_office_ip"] is False
    assert (values["option"], values["port"], values["tls"]) == ("smtp-auth", 587, "starttls")
    assert values["sender"] == "scanner@contoso.com"


# -- SMTP AUTH ------------------------------------------------------------------------------------------


def test_tenant_off_and_scanner_null_is_535_5_7_139_explained(lab: Lab, explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, tenant_smtp_auth=False, mailbox_smtp_auth="$null")
    assert lab.world.tenant.find_mailbox("scanner@contoso.com").smtp_client_authentication_disabled is None
    assert "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $null" in text_of(
        explorer.log.value
    )
    assert not result.accepted and result.reply is not None and result.reply.code == 535
    transcript = text_of(explorer.transcript.value)
    assert (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant"
        in transcript
    )
    assert "SMTP AUTH is off for the whole tenant" in transcript
    assert (
        "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false" in transcript
    )
    (failing,) = failing_lines(explorer)
    assert failing.startswith("server 535 5.7.139")
    outcome = text_of(explorer.outcome.value)
    assert "Refused at AUTH" in outcome and "alex@contoso.com: rejected" in outcome
    assert "stopped at endpoint" in diagram_label(explorer)


def test_switching_the_scanner_to_false_delivers_to_the_inbox(lab: Lab, explorer: ScenarioExplorer) -> None:
    click_send(explorer, mailbox_smtp_auth="$null")
    result = click_send(explorer, mailbox_smtp_auth="$false")
    assert result.accepted and result.reply is not None and result.reply.code == 250
    assert "250 2.0.0 OK" in text_of(explorer.transcript.value)
    assert failing_lines(explorer) == []
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    assert "Accepted" in text_of(explorer.outcome.value) and 'data-where="Inbox"' in explorer.outcome.value
    subjects = [m["Subject"] for m in lab.mailbox("alex@contoso.com").folder("Inbox")]
    assert subjects == ["Scenario explorer 2 (SMTP AUTH)"]
    assert "stopped at nothing" in diagram_label(explorer)


def test_tenant_on_lets_a_null_mailbox_sign_in(lab: Lab, explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, tenant_smtp_auth=True, mailbox_smtp_auth="$null")
    assert lab.world.tenant.settings.smtp_client_authentication_disabled is False
    assert result.accepted


def test_mailbox_true_wins_over_the_tenant(explorer: ScenarioExplorer) -> None:
    click_send(explorer, tenant_smtp_auth=True, mailbox_smtp_auth="$true")
    transcript = text_of(explorer.transcript.value)
    assert "535 5.7.139" in transcript and "disabled for the Mailbox" in transcript
    assert "SMTP AUTH is switched off on this mailbox" in transcript


def test_security_defaults_block_basic_auth(lab: Lab, explorer: ScenarioExplorer) -> None:
    click_send(explorer, security_defaults=True)
    assert lab.world.tenant.settings.security_defaults is True
    transcript = text_of(explorer.transcript.value)
    assert "security defaults policy" in transcript
    assert "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false" in transcript


def test_port_465_gets_the_no_465_explanation(explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, port=465, tls="implicit")
    assert result.reply is None and result.error is not None
    transcript = text_of(explorer.transcript.value)
    assert "Nothing answers on port 465: Microsoft 365 does not offer implicit TLS" in transcript
    assert "smtp.office365.com, port 587, STARTTLS" in transcript
    assert "Refused at connect" in text_of(explorer.outcome.value)
    assert "stopped at endpoint" in diagram_label(explorer)


def test_tls_1_0_is_refused_with_the_legacy_endpoint_fix(explorer: ScenarioExplorer) -> None:
    click_send(explorer, tls_max="1.0")
    transcript = text_of(explorer.transcript.value)
    assert "421 4.7.66 TLS 1.0 and 1.1 are not supported" in transcript
    assert (
        "smtp-legacy.office365.com" in transcript
        and "Set-TransportConfig -AllowLegacyTLSClients $true" in transcript
    )
    assert "Refused at TLS" in text_of(explorer.outcome.value)


def test_no_tls_means_auth_is_refused(explorer: ScenarioExplorer) -> None:
    click_send(explorer, tls="none")
    (failing,) = failing_lines(explorer)
    assert "504 5.7.4" in failing
    assert "Turn on STARTTLS" in text_of(explorer.transcript.value)


def test_sending_as_another_mailbox_needs_sendas(explorer: ScenarioExplorer) -> None:
    click_send(explorer, sender="helpdesk@contoso.com")
    transcript = text_of(explorer.transcript.value)
    assert "554 5.2.252 SendAsDenied" in transcript
    grant = "Add-RecipientPermission -Identity helpdesk@contoso.com -Trustee scanner@contoso.com"
    assert f"{grant} -AccessRights SendAs" in transcript


def test_smtp_auth_reaches_fabrikam(lab: Lab, explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, recipient="pat@fabrikam.com")
    assert result.accepted and result.outcome["pat@fabrikam.com"].where == "Inbox"
    assert len(lab.mailbox("pat@fabrikam.com").folder("Inbox")) == 1


# -- direct send and relay -----------------------------------------------------------------------------


def test_choosing_direct_send_sets_its_usual_device_settings(explorer: ScenarioExplorer) -> None:
    explorer.controls["option"].value = "direct-send"
    assert explorer.controls["port"].value == 25
    assert explorer.controls["sender"].value == "printer@contoso.com"
    device = explorer.device()
    assert device.server == "contoso-com.mail.protection.outlook.com" and device.username is None
    explorer.controls["option"].value = "smtp-auth"
    assert explorer.controls["port"].value == 587 and explorer.device().username == "scanner@contoso.com"


def test_direct_send_to_an_external_recipient_is_550_5_7_64(explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, option="direct-send", recipient="pat@fabrikam.com")
    assert result.outcome["pat@fabrikam.com"].where == "rejected"
    transcript = text_of(explorer.transcript.value)
    assert "550 5.7.64 TenantAttribution; Relay Access Denied" in transcript
    assert "New-InboundConnector -Name 'Office relay' -ConnectorType OnPremises" in transcript
    assert f"-SenderIPAddresses {OFFICE_IP}" in transcript  # the placeholder filled with the office IP
    (failing,) = failing_lines(explorer)
    assert "550 5.7.64" in failing
    assert "Refused at RCPT TO" in text_of(explorer.outcome.value)
    assert "stopped at endpoint" in diagram_label(explorer)


def test_spf_toggle_moves_direct_send_from_junk_to_inbox(lab: Lab, explorer: ScenarioExplorer) -> None:
    result = click_send(explorer, option="direct-send")
    assert result.accepted and result.outcome["alex@contoso.com"].where == "Junk Email"
    outcome = text_of(explorer.outcome.value)
    assert "Junk Email" in outcome and "SPF failed" in outcome
    assert f'"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all"' in outcome
    assert "stopped at mailbox" in diagram_label(explorer)

    explorer.controls["spf_office_ip"].value = True
    assert f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all" in lab.dns.txt("contoso.com")
    assert "MS=ms48123456" in lab.dns.txt("contoso.com")  # the other TXT records stay
    result = click_send(explorer)
    assert result.outcome["alex@contoso.com"].where == "Inbox"

    explorer.controls["spf_office_ip"].value = False
    assert "v=spf1 include:spf.protection.outlook.com -all" in lab.dns.txt("contoso.com")
    assert click_send(explorer).outcome["alex@contoso.com"].where == "Junk Email"


def test_reject_direct_send_closes_the_door(lab: Lab, explorer: ScenarioExplorer) -> None:
    click_send(explorer, option="direct-send", reject_direct_send=True)
    assert lab.world.tenant.settings.reject_direct_send is True
    transcript = text_of(explorer.transcript.value)
    assert "550 5.7.68" in transcript and "Set-OrganizationConfig -RejectDirectSend $false" in transcript


def test_a_connector_relays_to_fabrikam_and_can_be_switched_off(lab: Lab, explorer: ScenarioExplorer) -> None:
    explorer.controls["option"].value = "relay"
    explorer.controls["connector"].value = True
    (connector,) = lab.world.tenant.inbound_connectors
    assert connector.connector_type == "OnPremises" and connector.enabled
    assert "New-InboundConnector" in text_of(explorer.log.value)
    result = click_send(explorer, recipient="pat@fabrikam.com")
    assert result.accepted and result.outcome["pat@fabrikam.com"].where == "Inbox"

    explorer.controls["connector"].value = False
    assert "Set-InboundConnector" in text_of(explorer.log.value)
    assert not lab.world.tenant.inbound_connectors[0].enabled
    click_send(explorer)
    assert "550 5.7.64" in text_of(explorer.transcript.value)

    explorer.controls["connector"].value = True  # the same connector, enabled again
    assert len(lab.world.tenant.inbound_connectors) == 1 and lab.world.tenant.inbound_connectors[0].enabled


def test_a_failing_admin_command_is_shown_and_the_toggle_restored(
    lab: Lab, explorer: ScenarioExplorer
) -> None:
    lab.world.tenant.mailboxes = [m for m in lab.world.tenant.mailboxes if m.address != "scanner@contoso.com"]
    explorer.controls["mailbox_smtp_auth"].value = "$true"
    log = text_of(explorer.log.value)
    assert "couldn't be found" in log
    assert explorer.controls["mailbox_smtp_auth"].value == "$null"  # what the lab now says


def test_sync_reads_changes_made_outside_the_explorer(lab: Lab, explorer: ScenarioExplorer) -> None:
    lab.powershell("Set-OrganizationConfig -RejectDirectSend $true")
    lab.dns.set_records("contoso.com", "TXT", [f'"v=spf1 ip4:{OFFICE_IP} -all"'])
    explorer.sync()
    assert explorer.controls["reject_direct_send"].value is True
    assert explorer.controls["spf_office_ip"].value is True
    assert "Set-OrganizationConfig" not in explorer.log.value  # syncing runs no commands


# -- the diagram ---------------------------------------------------------------------------------------


def test_the_diagram_is_a_png_of_the_option(lab: Lab) -> None:
    explorer = ScenarioExplorer(lab)
    click_send(explorer, option="direct-send", recipient="pat@fabrikam.com")
    (output,) = explorer.diagram.outputs
    png = base64.b64decode(output["data"]["image/png"])
    assert png.startswith(PNG_MAGIC)
    assert diagram_label(explorer).startswith("<direct-send path, stopped at endpoint")


def test_the_diagram_marks_where_it_stopped(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    explorer = ScenarioExplorer(lab)
    calls: list[dict[str, Any]] = []
    from mailflow_lab.ui import diagrams

    original = diagrams.draw_option

    def spy(option: str, **kwargs: Any) -> Any:
        calls.append({"option": option, **kwargs})
        return original(option, **kwargs)

    monkeypatch.setattr(diagrams, "draw_option", spy)
    click_send(explorer, mailbox_smtp_auth="$null")
    click_send(explorer, option="direct-send")
    assert calls[0]["option"] == "smtp-auth" and calls[0]["stopped_at"] == "endpoint"
    assert calls[0]["outcome"].startswith("535 5.7.139: ")
    assert calls[1]["option"] == "direct-send" and calls[1]["stopped_at"] == "mailbox"
    assert calls[1]["outcome"].startswith("Junk Email: ")
    assert calls[1]["world"] is explorer.lab.world


def test_without_the_diagrams_module_the_send_still_shows(
    explorer: ScenarioExplorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import mailflow_lab.ui

    monkeypatch.setitem(sys.modules, "mailflow_lab.ui.diagrams", None)  # the import fails
    monkeypatch.delattr(mailflow_lab.ui, "diagrams", raising=False)
    click_send(explorer)
    assert "No diagram" in diagram_label(explorer)
    assert "250 2.0.0 OK" in text_of(explorer.transcript.value)


# -- SPF helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "listed"),
    [
        ("v=spf1 include:spf.protection.outlook.com -all", False),
        (f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all", True),
        ("v=spf1 ip4:203.0.113.0/24 -all", True),
        (f"v=spf1 +ip4:{OFFICE_IP} -all", True),
        (f"v=spf1 -ip4:{OFFICE_IP} -all", False),
        ("v=spf1 ip4:not-an-ip -all", False),
    ],
)
def test_spf_lists(record: str, listed: bool) -> None:
    assert spf_lists(record, OFFICE_IP) is listed


@pytest.mark.parametrize(
    ("record", "listed", "expected"),
    [
        (
            "v=spf1 include:spf.protection.outlook.com -all",
            True,
            f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all",
        ),
        (f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all", True,
         f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all"),
        (f"v=spf1 ip4:{OFFICE_IP} ip4:192.0.2.1 ~all", False, "v=spf1 ip4:192.0.2.1 ~all"),
        (None, False, "v=spf1 include:spf.protection.outlook.com -all"),
        (None, True, f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all"),
    ],
)  # fmt: skip
def test_spf_with(record: str | None, listed: bool, expected: str) -> None:
    assert spf_with(record, OFFICE_IP, listed) == expected
