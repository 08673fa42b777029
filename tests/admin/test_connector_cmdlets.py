"""Enhanced Filtering on inbound connectors, and New-/Set-/Get-/Remove-OutboundConnector, against a lab."""

from __future__ import annotations

from typing import Any

import pytest

from mailflow_lab import Lab
from mailflow_lab.world.state import load_tenant

FILTER = "New-InboundConnector 'Litware filter' -SenderDomains * -SenderIPAddresses 198.51.100.80"

SET_EF = [
    pytest.param(
        "-EFSkipIPs 198.51.100.80", {"EFSkipIPs": ["198.51.100.80"], "EFSkipLastIP": False}, id="EFSkipIPs"
    ),
    pytest.param(
        "-EFSkipIPs 198.51.100.80,198.51.100.0/24",
        {"EFSkipIPs": ["198.51.100.80", "198.51.100.0/24"]},
        id="EFSkipIPs two",
    ),
    pytest.param("-EFSkipLastIP $true", {"EFSkipLastIP": True, "EFSkipIPs": []}, id="EFSkipLastIP"),
    pytest.param("-EFUsers Alex@Contoso.com", {"EFUsers": ["alex@contoso.com"]}, id="EFUsers"),
    pytest.param(
        "-TreatMessagesAsInternal $true", {"TreatMessagesAsInternal": True}, id="TreatMessagesAsInternal"
    ),
]


@pytest.mark.parametrize(("change", "expected"), SET_EF)
def test_set_enhanced_filtering(lab: Lab, change: str, expected: dict[str, Any]) -> None:
    assert lab.powershell(FILTER).ok
    before = lab.powershell("Get-InboundConnector 'Litware filter'").objects[0]
    assert (before["EFSkipLastIP"], before["EFSkipIPs"], before["EFUsers"]) == (False, [], [])
    result = lab.powershell(f"Set-InboundConnector 'Litware filter' {change}")
    assert result.ok, result.error
    shown = lab.powershell("Get-InboundConnector 'Litware filter'").objects[0]
    assert {k: shown[k] for k in expected} == expected
    saved = load_tenant(lab.state_dir)
    assert saved is not None
    assert saved.inbound_connectors[0].enhanced_filtering == (
        bool(shown["EFSkipIPs"]) or shown["EFSkipLastIP"]
    )


def test_ef_skip_ips_add_and_remove(lab: Lab) -> None:
    assert lab.powershell(f"{FILTER} -EFSkipIPs 198.51.100.80").ok
    assert lab.powershell("Set-InboundConnector 'Litware filter' -EFSkipIPs @{Add='198.51.100.81'}").ok
    assert lab.powershell("Set-InboundConnector 'Litware filter' -EFSkipIPs @{Remove='198.51.100.80'}").ok
    assert lab.powershell("Get-InboundConnector 'Litware filter'").objects[0]["EFSkipIPs"] == [
        "198.51.100.81"
    ]


OUTBOUND = [
    pytest.param(
        "New-OutboundConnector 'To Fabrikam' -RecipientDomains fabrikam.com -TlsSettings EncryptionOnly",
        {
            "ConnectorType": "Partner",
            "RecipientDomains": ["fabrikam.com"],
            "SmartHosts": [],
            "UseMXRecord": True,
            "TlsSettings": "EncryptionOnly",
            "TlsDomain": None,
            "RouteAllMessagesViaOnPremises": False,
            "Enabled": True,
        },
        id="Partner forced TLS by MX",
    ),
    pytest.param(
        "New-OutboundConnector -Name 'To on-premises' -ConnectorType OnPremises -RecipientDomains * "
        "-SmartHosts Mail.Contoso.com -UseMXRecord $false -TlsSettings domainvalidation "
        "-TlsDomain mail.contoso.com -RouteAllMessagesViaOnPremises $true",
        {
            "ConnectorType": "OnPremises",
            "RecipientDomains": ["*"],
            "SmartHosts": ["mail.contoso.com"],
            "UseMXRecord": False,
            "TlsSettings": "DomainValidation",
            "TlsDomain": "mail.contoso.com",
            "RouteAllMessagesViaOnPremises": True,
        },
        id="OnPremises centralized mail transport",
    ),
    pytest.param(
        "New-OutboundConnector X -RecipientDomains a.example,*.b.example -Enabled $false -TlsSettings $null",
        {"RecipientDomains": ["a.example", "*.b.example"], "Enabled": False, "TlsSettings": None},
        id="disabled, two domains, no TLS setting",
    ),
]


@pytest.mark.parametrize(("line", "expected"), OUTBOUND)
def test_new_outbound_connector(lab: Lab, line: str, expected: dict[str, Any]) -> None:
    result = lab.powershell(line)
    assert result.ok, result.error
    (created,) = result.objects
    assert {k: created[k] for k in expected} == expected
    (shown,) = lab.powershell(f"Get-OutboundConnector '{created['Name']}'").objects
    assert shown.properties == created.properties
    saved = load_tenant(lab.state_dir)
    assert saved is not None and [c.name for c in saved.outbound_connectors] == [created["Name"]]


def test_set_get_remove_outbound_connector(lab: Lab) -> None:
    assert lab.powershell("New-OutboundConnector 'To Fabrikam' -RecipientDomains fabrikam.com").ok
    assert lab.powershell("Set-OutboundConnector 'To Fabrikam' -RecipientDomains @{Add='*.fabrikam.com'}").ok
    assert lab.powershell("Set-OutboundConnector 'To Fabrikam' -SmartHosts 192.0.2.25 -UseMXRecord $false").ok
    (shown,) = lab.powershell("Get-OutboundConnector").objects
    assert (shown["RecipientDomains"], shown["SmartHosts"], shown["UseMXRecord"]) == (
        ["fabrikam.com", "*.fabrikam.com"],
        ["192.0.2.25"],
        False,
    )
    assert lab.powershell("Get-OutboundConnector | Set-OutboundConnector -Enabled $false").ok
    assert lab.powershell("Get-OutboundConnector").objects[0]["Enabled"] is False
    assert lab.powershell("Remove-OutboundConnector 'To Fabrikam' -Confirm:$false").ok
    assert lab.powershell("Get-OutboundConnector").objects == []
    saved = load_tenant(lab.state_dir)
    assert saved is not None and saved.outbound_connectors == []


ERRORS = [
    pytest.param(
        "New-OutboundConnector X -UseMXRecord $false",
        "SmartHosts: UseMXRecord is $false",
        id="no smart hosts",
    ),
    pytest.param(
        "New-OutboundConnector X -RouteAllMessagesViaOnPremises $true",
        "RouteAllMessagesViaOnPremises: RouteAllMessagesViaOnPremises requires ConnectorType OnPremises",
        id="centralized needs OnPremises",
    ),
    pytest.param(
        "New-OutboundConnector X -TlsSettings Always",
        "Unable to match the identifier name Always to a valid enumerator name",
        id="bad TlsSettings",
    ),
    pytest.param(
        "New-OutboundConnector X -TlsSettings EncryptionOnly -TlsDomain fabrikam.com",
        "TlsDomain: TlsDomain applies only with TlsSettings DomainValidation",
        id="TlsDomain without DomainValidation",
    ),
    pytest.param("Set-OutboundConnector Nope -Enabled $false", "Nope", id="unknown connector"),
    pytest.param(
        f"{FILTER} -EFSkipIPs 198.51.0.0/16",
        "EFSkipIPs: expected an IPv4 address or range from /24 to /32",
        id="EFSkipIPs too wide",
    ),
    pytest.param(f"{FILTER} -EFSkipLastIP maybe", "System.Boolean", id="EFSkipLastIP not a boolean"),
]


@pytest.mark.parametrize(("line", "error"), ERRORS)
def test_errors_change_nothing(lab: Lab, line: str, error: str) -> None:
    result = lab.powershell(line)
    assert not result.ok and error in (result.error or ""), result.error
    assert lab.world.tenant.outbound_connectors == [] and lab.world.tenant.inbound_connectors == []


# Values New-/Set-OutboundConnector and New-/Set-InboundConnector refuse, as PowerShell refuses a parameter
# value: (parameter and value, the error's text). Each row runs as New-... and as Set-... on a connector
# that exists, which must be left as it was.
BAD_VALUES = [
    pytest.param(
        "outbound",
        "-SmartHosts 'not a host!' -UseMXRecord $false",
        "SmartHosts: expected a host name such as mail.contoso.com, an IP address or a CIDR range, "
        "got 'not a host!'",
        id="SmartHosts not a host",
    ),
    pytest.param(
        "outbound",
        "-SmartHosts mail.contoso.com,'*.contoso.com' -UseMXRecord $false",
        "SmartHosts: expected a host name",
        id="SmartHosts wildcard",
    ),
    pytest.param(
        "outbound",
        "-SmartHosts 192.0.2.256 -UseMXRecord $false",
        "SmartHosts: expected a host name",
        id="SmartHosts bad address",
    ),
    pytest.param(
        "outbound",
        "-RecipientDomains 'bad domain'",
        "RecipientDomains: expected *, a domain such as fabrikam.com or *.fabrikam.com, got 'bad domain'",
        id="RecipientDomains bad domain",
    ),
    pytest.param(
        "outbound",
        "-RecipientDomains 'fabrikam.com;evil'",
        "RecipientDomains: expected *",
        id="RecipientDomains ;",
    ),
    pytest.param(
        "outbound", "-RecipientDomains '*.'", "RecipientDomains: expected *", id="RecipientDomains *."
    ),
    pytest.param(
        "inbound",
        "-EFUsers 'not an address'",
        "EFUsers: expected an email address such as alex@contoso.com, got 'not an address'",
        id="EFUsers not an address",
    ),
    pytest.param(
        "inbound",
        "-EFUsers alex@contoso.com,'@contoso.com'",
        "EFUsers: expected an email",
        id="EFUsers no local",
    ),
]
CREATE = {
    "outbound": "New-OutboundConnector 'To Fabrikam' -RecipientDomains fabrikam.com",
    "inbound": FILTER,
}


@pytest.mark.parametrize(("kind", "value", "error"), BAD_VALUES)
def test_new_connector_refuses_a_bad_value(lab: Lab, kind: str, value: str, error: str) -> None:
    verb = "New-OutboundConnector X" if kind == "outbound" else "New-InboundConnector X -SenderDomains *"
    result = lab.powershell(f"{verb} {value}")
    assert not result.ok and error in (result.error or ""), result.error
    assert lab.world.tenant.outbound_connectors == [] and lab.world.tenant.inbound_connectors == []


@pytest.mark.parametrize(("kind", "value", "error"), BAD_VALUES)
def test_set_connector_refuses_a_bad_value(lab: Lab, kind: str, value: str, error: str) -> None:
    assert lab.powershell(CREATE[kind]).ok
    noun, name = (
        ("OutboundConnector", "To Fabrikam") if kind == "outbound" else ("InboundConnector", "Litware filter")
    )
    before = lab.powershell(f"Get-{noun} '{name}'").objects[0].properties
    result = lab.powershell(f"Set-{noun} '{name}' {value}")
    assert not result.ok and error in (result.error or ""), result.error
    assert lab.powershell(f"Get-{noun} '{name}'").objects[0].properties == before


@pytest.mark.parametrize(
    "line",
    [
        "New-OutboundConnector A -SmartHosts mail.contoso.com,192.0.2.25,192.168.0.0/25,2001:db8::1 "
        "-UseMXRecord $false",
        "New-OutboundConnector B -RecipientDomains '*',fabrikam.com,'*.fabrikam.com'",
        f"{FILTER} -EFUsers alex@contoso.com,scanner@contoso.com",
    ],
)
def test_good_values_are_still_taken(lab: Lab, line: str) -> None:
    result = lab.powershell(line)
    assert result.ok, result.error


def test_outbound_connector_name_taken(lab: Lab) -> None:
    assert lab.powershell("New-OutboundConnector X -RecipientDomains fabrikam.com").ok
    result = lab.powershell("New-OutboundConnector x")
    assert result.error == "New-OutboundConnector: The connector 'x' already exists."
