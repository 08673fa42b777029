"""lab.reset(): the world's starting state on the same ports, mailboxes and trace emptied, still serving."""

from __future__ import annotations

import copy
from pathlib import Path

from mailflow_lab import Lab

SPF = "v=spf1 include:spf.protection.outlook.com -all"


def _direct_send(lab: Lab, subject: str) -> None:
    printer = lab.device(next(d.name for d in lab.world.devices if not d.username and d.sender))
    result = printer.send(lab, to="alex@contoso.com", subject=subject)
    assert result.accepted, result


def test_reset_undoes_tenant_connector_and_dns_changes_and_empties_mail(lab: Lab) -> None:
    ports, dns_server = lab.endpoints(), lab.dns_server
    settings = copy.deepcopy(lab.world.tenant.settings)
    assert lab.powershell("Set-OrganizationConfig -RejectDirectSend $true").ok
    assert lab.powershell("Set-OrganizationConfig -RejectDirectSend $false").ok
    assert lab.powershell(
        'New-InboundConnector -Name "Office" -ConnectorType OnPremises -SenderDomains * '
        "-SenderIPAddresses 203.0.113.10"
    ).ok
    assert lab.powershell("Set-TransportConfig -SmtpClientAuthenticationDisabled $false").ok
    lab.dns.set_records("contoso.com", "TXT", ['"v=spf1 -all"'])
    lab.dns.set_records("scanner.contoso.com", "A", ["203.0.113.20"])
    lab.dns.fail("fabrikam.com")
    _direct_send(lab, "Before the reset")
    assert lab.message_trace() and lab.mailbox("alex@contoso.com").folders()

    lab.reset()

    assert lab.world.tenant.inbound_connectors == []
    assert lab.world.tenant.settings == settings
    assert SPF in lab.dns.txt("contoso.com") and "v=spf1 -all" not in lab.dns.txt("contoso.com")
    assert lab.dns.addresses("scanner.contoso.com") == []
    assert lab.dns.mx("fabrikam.com")  # the failing name healed
    assert lab.message_trace() == [] and lab.quarantine() == []
    assert all(lab.mailbox("alex@contoso.com").folder(f) == [] for f in ("Inbox", "Junk Email"))
    # Still running, on the same ports, and mail flows again from the start.
    assert not lab.stopped and lab.endpoints() == ports and lab.dns_server == dns_server
    _direct_send(lab, "After the reset")
    (record,) = lab.message_trace()
    assert record.subject == "After the reset"


def test_reset_is_what_another_process_sees(lab: Lab) -> None:
    """The tenant saved in the state folder and the trace file are reset too (mailflow-lab ps, trace)."""
    from mailflow_lab.store.statedir import TRACE_FILE, open_state

    assert lab.powershell("Set-OrganizationConfig -RejectDirectSend $true").ok
    lab.reset()
    seen = open_state(Path(lab.state_dir))
    assert seen.world.tenant.settings.reject_direct_send is False
    assert not (Path(lab.state_dir) / TRACE_FILE).exists()  # made again by the first message


def test_a_stopped_lab_cannot_be_reset(lab: Lab) -> None:
    import pytest

    lab.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        lab.reset()
