"""Every cmdlet of issue 4 against a running lab: parameters, pipelines, display, and PowerShell's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.admin.objects import PowerShellResult
from mailflow_lab.world.state import load_tenant, tenant_to_dict

DC = "'AM4PR05A001DC01.EURPRD05.PROD.OUTLOOK.COM'"
SECURITY_DEFAULTS = "MgPolicyIdentitySecurityDefaultEnforcementPolicy"
MX = "contoso-com.mail.protection.outlook.com"


def ok(lab: Lab, text: str) -> PowerShellResult:
    result = lab.powershell(text)
    assert result.ok, f"{text!r} failed: {result.error}"
    return result


def one(lab: Lab, text: str) -> Any:
    (obj,) = ok(lab, text).objects
    return obj


def printer() -> Device:
    return Device("Warehouse printer", server=MX, port=25, tls="none", sender="printer@contoso.com")


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab nobody changes: reads, displays and failing lines."""
    with Lab.start(state_dir=Path(tmp_path_factory.mktemp("cmdlets")) / "state") as running:
        yield running


@pytest.fixture
def unchanged(shared_lab: Lab) -> Iterator[Lab]:
    """The shared lab, checked to be exactly as it was after the test (in memory and on disk)."""
    before = tenant_to_dict(shared_lab.world.tenant)
    yield shared_lab
    assert tenant_to_dict(shared_lab.world.tenant) == before
    saved = load_tenant(shared_lab.state_dir)
    assert saved is not None and tenant_to_dict(saved) == before


# == settings: Set-X changes what Get-X shows, and the state folder ========================================
SETTINGS = [
    pytest.param(
        "Set-TransportConfig -SmtpClientAuthenticationDisabled $false",
        "Get-TransportConfig",
        "SmtpClientAuthenticationDisabled",
        True,
        False,
        id="TransportConfig SmtpClientAuthenticationDisabled",
    ),
    pytest.param(
        "Set-TransportConfig -AllowLegacyTLSClients $true",
        "Get-TransportConfig",
        "AllowLegacyTLSClients",
        False,
        True,
        id="TransportConfig AllowLegacyTLSClients",
    ),
    pytest.param(
        "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false",
        "Get-CASMailbox -Identity alex@contoso.com",
        "SmtpClientAuthenticationDisabled",
        None,
        False,
        id="CASMailbox by address $false",
    ),
    pytest.param(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $true",
        "Get-CASMailbox alex",
        "SmtpClientAuthenticationDisabled",
        None,
        True,
        id="CASMailbox by alias $true",
    ),
    pytest.param(
        'Set-CASMailbox "Lobby Scanner" -SmtpClientAuthenticationDisabled $null',
        "Get-CASMailbox 'Lobby Scanner'",
        "SmtpClientAuthenticationDisabled",
        False,
        None,
        id="CASMailbox by display name $null",
    ),
    pytest.param(
        "set-casmailbox -identity SCANNER@Contoso.com -smtpclientauthenticationdisabled 1",
        "get-casmailbox scanner",
        "SmtpClientAuthenticationDisabled",
        False,
        True,
        id="CASMailbox any case, 1",
    ),
    pytest.param(
        "Set-CASMailbox -Id alex -SmtpClient:$false -Confirm:$false",
        "Get-CASMailbox alex",
        "SmtpClientAuthenticationDisabled",
        None,
        False,
        id="CASMailbox parameter prefixes",
    ),
    pytest.param(
        "Get-Mailbox | Set-CASMailbox -SmtpClientAuthenticationDisabled $false",
        "Get-CASMailbox helpdesk",
        "SmtpClientAuthenticationDisabled",
        None,
        False,
        id="Get-Mailbox | Set-CASMailbox",
    ),
    pytest.param(
        "Set-OrganizationConfig -RejectDirectSend $true",
        "Get-OrganizationConfig",
        "RejectDirectSend",
        False,
        True,
        id="OrganizationConfig RejectDirectSend",
    ),
    pytest.param(
        "Set-DkimSigningConfig contoso.com -Enabled $false",
        "Get-DkimSigningConfig contoso.com",
        "Enabled",
        True,
        False,
        id="DkimSigningConfig Enabled",
    ),
    pytest.param(
        "Set-DkimSigningConfig -Identity contoso.com -Enabled:$false",
        "Get-DkimSigningConfig -Identity CONTOSO.COM",
        "Status",
        "Valid",
        "Disabled",
        id="DkimSigningConfig Status",
    ),
    pytest.param(
        "Get-DkimSigningConfig | Set-DkimSigningConfig -Enabled $false",
        "Get-DkimSigningConfig contoso.onmicrosoft.com",
        "Enabled",
        True,
        False,
        id="Get-DkimSigningConfig | Set-DkimSigningConfig",
    ),
    pytest.param(
        f"Update-{SECURITY_DEFAULTS} -IsEnabled $true",
        f"Get-{SECURITY_DEFAULTS}",
        "IsEnabled",
        False,
        True,
        id="security defaults",
    ),
]


@pytest.mark.parametrize(("change", "query", "prop", "before", "after"), SETTINGS)
def test_set_changes_what_get_shows(
    lab: Lab, change: str, query: str, prop: str, before: Any, after: Any
) -> None:
    assert one(lab, query)[prop] == before
    result = ok(lab, change)
    assert result.objects == []  # Set- cmdlets return nothing
    assert one(lab, query)[prop] == after
    saved = load_tenant(lab.state_dir)  # the change is in the state folder, for `mailflow-lab serve`
    assert saved is not None and tenant_to_dict(saved) == tenant_to_dict(lab.world.tenant)


def test_security_defaults_back_off(lab: Lab) -> None:
    ok(lab, f"Update-{SECURITY_DEFAULTS} -IsEnabled $true")
    ok(lab, f"Update-{SECURITY_DEFAULTS} -IsEnabled:$false")
    obj = one(lab, f"Get-{SECURITY_DEFAULTS}")
    assert obj.properties == {
        "Id": "00000000-0000-0000-0000-000000000005",
        "DisplayName": "Security Defaults",
        "IsEnabled": False,
    }


def test_dkim_back_on(lab: Lab) -> None:
    ok(lab, "Set-DkimSigningConfig contoso.com -Enabled $false")
    ok(lab, "Set-DkimSigningConfig contoso.com -Enabled $true")
    obj = one(lab, "Get-DkimSigningConfig contoso.com")
    assert (obj["Enabled"], obj["Status"]) == (True, "Valid")
    assert obj["Selector1CNAME"] == "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"


# == reads ===================================================================================================
@pytest.mark.parametrize(
    "identity", ["alex@contoso.com", "alex", "Alex Wilber", "ALEX@CONTOSO.COM", "'Alex Wilber'", '"alex"']
)
@pytest.mark.parametrize("cmdlet", ["Get-CASMailbox", "Get-Mailbox"])
def test_identity_by_address_alias_or_display_name(unchanged: Lab, cmdlet: str, identity: str) -> None:
    if " " in identity and not identity.startswith(("'", '"')):
        identity = f"'{identity}'"
    for text in (f"{cmdlet} {identity}", f"{cmdlet} -Identity {identity}"):
        assert one(unchanged, text)["PrimarySmtpAddress"] == "alex@contoso.com"


def test_get_mailbox(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-Mailbox")
    assert [(o["Name"], o["DisplayName"], o["RecipientTypeDetails"]) for o in result] == [
        ("alex", "Alex Wilber", "UserMailbox"),
        ("scanner", "Lobby Scanner", "UserMailbox"),
        ("helpdesk", "Helpdesk", "SharedMailbox"),
    ]
    assert result.text() == (
        "Name     Alias    RecipientTypeDetails PrimarySmtpAddress\n"
        "----     -----    -------------------- ------------------\n"
        "alex     alex     UserMailbox          alex@contoso.com\n"
        "scanner  scanner  UserMailbox          scanner@contoso.com\n"
        "helpdesk helpdesk SharedMailbox        helpdesk@contoso.com"
    )


def test_get_cas_mailbox_shows_the_three_smtp_auth_states(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-CASMailbox")
    assert [o["SmtpClientAuthenticationDisabled"] for o in result] == [None, False, None]
    assert result.text() == (
        "Name     ActiveSyncEnabled OWAEnabled PopEnabled ImapEnabled MapiEnabled "
        "SmtpClientAuthenticationDisabled\n"
        "----     ----------------- ---------- ---------- ----------- ----------- "
        "--------------------------------\n"
        "alex     True              True       True       True        True\n"
        "scanner  True              True       True       True        True        False\n"
        "helpdesk True              True       True       True        True"
    )


def test_get_transport_config(unchanged: Lab) -> None:
    assert ok(unchanged, "Get-TransportConfig").text() == (
        "Identity                         : Transport Settings\n"
        "SmtpClientAuthenticationDisabled : True\n"
        "AllowLegacyTLSClients            : False\n"
        "MaxSendSize                      : 35 MB (36,700,160 bytes)\n"
        "MaxReceiveSize                   : 36 MB (37,748,736 bytes)\n"
        "MaxRecipientEnvelopeLimit        : 500"
    )


def test_get_organization_config(unchanged: Lab) -> None:
    obj = one(unchanged, "Get-OrganizationConfig")
    assert (obj["Name"], obj["DisplayName"], obj["RejectDirectSend"]) == (
        "contoso.onmicrosoft.com",
        "Contoso",
        False,
    )


def test_get_accepted_domain(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-AcceptedDomain")
    assert result.text() == (
        "Name                    DomainName              DomainType    Default\n"
        "----                    ----------              ----------    -------\n"
        "contoso.com             contoso.com             Authoritative True\n"
        "contoso.onmicrosoft.com contoso.onmicrosoft.com Authoritative False"
    )
    assert one(unchanged, "Get-AcceptedDomain CONTOSO.com")["Default"] is True


def test_get_dkim_signing_config(unchanged: Lab) -> None:
    assert ok(unchanged, "Get-DkimSigningConfig").text() == (
        "Domain                  Enabled Status\n"
        "------                  ------- ------\n"
        "contoso.com             True    Valid\n"
        "contoso.onmicrosoft.com True    Valid"
    )


def test_nothing_to_show(unchanged: Lab) -> None:
    for text in ("Get-InboundConnector", "Get-RecipientPermission", "Get-RecipientPermission helpdesk"):
        result = ok(unchanged, text)
        assert result.objects == [] and result.text() == ""


# == display, pipelines into Format-List / Format-Table / Select-Object ======================================
DISPLAYS = [
    pytest.param(
        "Get-CASMailbox | fl Name,SmtpClientAuthenticationDisabled",
        "Name                             : alex\n"
        "SmtpClientAuthenticationDisabled : \n\n"
        "Name                             : scanner\n"
        "SmtpClientAuthenticationDisabled : False\n\n"
        "Name                             : helpdesk\n"
        "SmtpClientAuthenticationDisabled : ",
        id="fl Name,Prop",
    ),
    pytest.param(
        "Get-Mailbox alex | Format-List -Property Name, RecipientTypeDetails",
        "Name                 : alex\nRecipientTypeDetails : UserMailbox",
        id="Format-List -Property",
    ),
    pytest.param(
        "Get-Mailbox scanner | Format-Table",
        "Name    Alias   RecipientTypeDetails PrimarySmtpAddress\n"
        "----    -----   -------------------- ------------------\n"
        "scanner scanner UserMailbox          scanner@contoso.com",
        id="one object as a table",
    ),
    pytest.param(
        "Get-CASMailbox | ft Name,SmtpClientAuthenticationDisabled",
        "Name     SmtpClientAuthenticationDisabled\n"
        "----     --------------------------------\n"
        "alex\n"
        "scanner  False\n"
        "helpdesk",
        id="ft Name,Prop",
    ),
    pytest.param(
        "Get-Mailbox | Select-Object Name,PrimarySmtpAddress",
        "Name     PrimarySmtpAddress\n"
        "----     ------------------\n"
        "alex     alex@contoso.com\n"
        "scanner  scanner@contoso.com\n"
        "helpdesk helpdesk@contoso.com",
        id="Select-Object several",
    ),
    pytest.param(
        "Get-Mailbox helpdesk | select Name,RecipientTypeDetails",
        "Name                 : helpdesk\nRecipientTypeDetails : SharedMailbox",
        id="Select-Object one",
    ),
    pytest.param(
        "Get-Mailbox |\n  Select-Object Name |\n  Format-Table",
        "Name\n----\nalex\nscanner\nhelpdesk",
        id="pipe at line end",
    ),
    pytest.param(
        "Get-OrganizationConfig | fl",
        "Name                       : contoso.onmicrosoft.com\n"
        "DisplayName                : Contoso\n"
        "Identity                   : contoso.onmicrosoft.com\n"
        "RejectDirectSend           : False\n"
        "OAuth2ClientProfileEnabled : True",
        id="fl alone",
    ),
    pytest.param(
        "Get-TransportConfig | Format-List *",
        "Identity                         : Transport Settings\n"
        "SmtpClientAuthenticationDisabled : True\n"
        "AllowLegacyTLSClients            : False\n"
        "MaxSendSize                      : 35 MB (36,700,160 bytes)\n"
        "MaxReceiveSize                   : 36 MB (37,748,736 bytes)\n"
        "MaxRecipientEnvelopeLimit        : 500",
        id="Format-List *",
    ),
]


@pytest.mark.parametrize(("text", "shown"), DISPLAYS)
def test_display(unchanged: Lab, text: str, shown: str) -> None:
    assert ok(unchanged, text).text() == shown


def test_one_object_shows_as_a_list_several_as_a_table(unchanged: Lab) -> None:
    single = ok(unchanged, "Get-CASMailbox scanner").text()
    assert single.splitlines()[0] == "Name                             : scanner"
    assert "SmtpClientAuthenticationDisabled : False" in single.splitlines()
    several = ok(unchanged, "Get-CASMailbox").text().splitlines()
    assert several[0].split() == [
        "Name",
        "ActiveSyncEnabled",
        "OWAEnabled",
        "PopEnabled",
        "ImapEnabled",
        "MapiEnabled",
        "SmtpClientAuthenticationDisabled",
    ]
    assert set(several[1]) == {"-", " "}


def test_select_object_keeps_only_the_chosen_properties(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-Mailbox | Select-Object Name,primarysmtpaddress")
    assert [o.properties for o in result] == [
        {"Name": "alex", "PrimarySmtpAddress": "alex@contoso.com"},
        {"Name": "scanner", "PrimarySmtpAddress": "scanner@contoso.com"},
        {"Name": "helpdesk", "PrimarySmtpAddress": "helpdesk@contoso.com"},
    ]


def test_format_keeps_the_objects(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-Mailbox | Format-Table Name")
    assert [o["PrimarySmtpAddress"] for o in result] == [
        "alex@contoso.com",
        "scanner@contoso.com",
        "helpdesk@contoso.com",
    ]


def test_objects_of_several_statements_add_up(unchanged: Lab) -> None:
    result = ok(unchanged, "Get-Mailbox alex; Get-Mailbox scanner\nGet-Mailbox helpdesk")
    assert [o["Name"] for o in result] == ["alex", "scanner", "helpdesk"]


def test_every_statement_is_shown(unchanged: Lab) -> None:
    shown = ok(unchanged, "Get-TransportConfig | Format-List Identity; Get-OrganizationConfig").text()
    assert "Identity : Transport Settings" in shown
    assert "RejectDirectSend           : False" in shown


def test_html_display(unchanged: Lab) -> None:
    good = ok(unchanged, "Get-Mailbox alex")._repr_html_()
    assert good.startswith('<pre style="color:inherit">Name ') and "alex@contoso.com" in good
    bad = unchanged.powershell("Get-Foo")._repr_html_()
    assert bad.startswith('<pre style="color:#b00020">Get-Foo: The term')


# == the 30-minute warning: once per lab, where it matters ===================================================
def propagation(result: PowerShellResult) -> list[str]:
    return [w for w in result.warnings if "30 minutes" in w]


def test_smtp_auth_warning_once_per_lab(lab: Lab) -> None:
    assert propagation(ok(lab, "Get-CASMailbox; Get-TransportConfig")) == []
    first = ok(lab, "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false")
    (warning,) = propagation(first)
    assert first.text() == f"WARNING: {warning}"
    assert warning.startswith("In Microsoft 365 this change can take up to 30 minutes")
    assert "next SMTP session" in warning
    assert propagation(ok(lab, "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $true")) == []
    assert propagation(ok(lab, "Set-TransportConfig -SmtpClientAuthenticationDisabled $false")) == []
    assert propagation(ok(lab, "Get-Mailbox | Set-CASMailbox -SmtpClientAuthenticationDisabled $null")) == []


def test_smtp_auth_warning_once_for_a_whole_pipeline(lab: Lab) -> None:
    result = ok(lab, "Get-Mailbox | Set-CASMailbox -SmtpClientAuthenticationDisabled $false")
    assert len(propagation(result)) == 1


def test_connector_warning_once_per_lab(lab: Lab) -> None:
    created = ok(lab, "New-InboundConnector A -ConnectorType Partner -SenderDomains fabrikam.com")
    assert len(propagation(created)) == 1
    assert created.text().startswith("WARNING: In Microsoft 365 this change can take up to 30 minutes")
    assert propagation(ok(lab, "Set-InboundConnector A -RequireTls $true")) == []
    assert (
        propagation(ok(lab, "New-InboundConnector B -ConnectorType Partner -SenderDomains b.example")) == []
    )


def test_no_warning_for_reads_or_a_refused_change(lab: Lab) -> None:
    refused = lab.powershell(
        "New-InboundConnector A -SenderDomains * -ConnectorType OnPremises -SenderIPAddresses 203.0.112.0/23"
    )
    assert not refused.ok and refused.warnings == []
    assert propagation(ok(lab, "Get-InboundConnector; Get-OrganizationConfig; Get-MessageTraceV2")) == []
    assert (
        len(propagation(ok(lab, "New-InboundConnector A -SenderDomains * -SenderIPAddresses 203.0.113.10")))
        == 1
    )


# == accepted domains ========================================================================================
def test_new_and_remove_accepted_domain(lab: Lab) -> None:
    created = one(
        lab, "New-AcceptedDomain -Name contoso.net -DomainName Contoso.NET -DomainType InternalRelay"
    )
    assert created.properties == {
        "Name": "contoso.net",
        "DomainName": "contoso.net",
        "DomainType": "InternalRelay",
        "Default": False,
        "Identity": "contoso.net",
    }
    assert [o["Name"] for o in ok(lab, "Get-AcceptedDomain")] == [
        "contoso.com",
        "contoso.onmicrosoft.com",
        "contoso.net",
    ]
    ok(lab, "New-AcceptedDomain fabrikam.net -DomainName fabrikam.net")
    assert one(lab, "Get-AcceptedDomain fabrikam.net")["DomainType"] == "Authoritative"
    assert ok(lab, "Remove-AcceptedDomain contoso.net -Confirm:$false").objects == []
    assert [o["Name"] for o in ok(lab, "Get-AcceptedDomain")] == [
        "contoso.com",
        "contoso.onmicrosoft.com",
        "fabrikam.net",
    ]
    assert lab.powershell("Remove-AcceptedDomain contoso.net").error == (
        "Remove-AcceptedDomain: " + not_found("contoso.net")
    )


# == SendAs ==================================================================================================
def test_recipient_permission_add_get_remove(lab: Lab) -> None:
    added = ok(
        lab,
        "Add-RecipientPermission -Identity helpdesk -Trustee scanner -AccessRights SendAs -Confirm:$false",
    )
    (grant,) = added.objects
    assert grant.properties == {
        "Identity": "Helpdesk",
        "Trustee": "scanner@contoso.com",
        "AccessControlType": "Allow",
        "AccessRights": ["SendAs"],
        "IsInherited": False,
        "InheritanceType": "None",
    }
    assert [w for w in added.warnings if "SendAs" in w]
    helpdesk = lab.world.tenant.find_mailbox("helpdesk@contoso.com")
    assert helpdesk is not None and helpdesk.send_as_trustees == ["scanner@contoso.com"]
    for query in (
        "Get-RecipientPermission helpdesk",
        "Get-RecipientPermission -Identity helpdesk@contoso.com -AccessRights SendAs",
        "Get-RecipientPermission -Trustee scanner@contoso.com",
        "Get-RecipientPermission -Trustee 'Lobby Scanner'",
    ):
        assert [(o["Identity"], o["Trustee"]) for o in ok(lab, query)] == [
            ("Helpdesk", "scanner@contoso.com")
        ]
    assert ok(lab, "Get-RecipientPermission -Trustee alex").objects == []
    assert ok(lab, "Get-RecipientPermission alex").objects == []
    # adding the same grant again keeps one
    ok(lab, "Add-RecipientPermission helpdesk -Trustee scanner@contoso.com -AccessRights sendas")
    assert len(ok(lab, "Get-RecipientPermission helpdesk")) == 1
    assert ok(
        lab, "Remove-RecipientPermission helpdesk -Trustee scanner -AccessRights SendAs -Confirm:$false"
    ).ok
    assert ok(lab, "Get-RecipientPermission helpdesk").objects == []
    assert lab.powershell(
        "Remove-RecipientPermission helpdesk -Trustee scanner -AccessRights SendAs"
    ).error == (
        "Remove-RecipientPermission: Can't remove the access control entry on the object "
        "'helpdesk@contoso.com' for account 'scanner@contoso.com' because the ACE doesn't exist on the "
        "object."
    )


# == inbound connectors ======================================================================================
CONNECTORS = [
    pytest.param(
        'New-InboundConnector -Name "Office printers" -ConnectorType OnPremises -SenderDomains * '
        "-SenderIPAddresses 203.0.113.10",
        {
            "Name": "Office printers",
            "Enabled": True,
            "ConnectorType": "OnPremises",
            "SenderDomains": ["smtp:*;1"],
            "SenderIPAddresses": ["203.0.113.10"],
            "TlsSenderCertificateName": None,
            "RequireTls": False,
            "RestrictDomainsToIPAddresses": False,
            "RestrictDomainsToCertificate": False,
        },
        id="OnPremises by IP",
    ),
    pytest.param(
        "New-InboundConnector 'Office relay' -ConnectorType onpremises -SenderDomains * "
        "-TlsSenderCertificateName Relay.Contoso.com -RequireTls $true",
        {
            "ConnectorType": "OnPremises",
            "SenderIPAddresses": [],
            "TlsSenderCertificateName": "relay.contoso.com",
            "RequireTls": True,
        },
        id="OnPremises by certificate in an accepted domain",
    ),
    pytest.param(
        "New-InboundConnector 'Office relay' -ConnectorType OnPremises -SenderDomains * "
        "-TlsSenderCertificateName *.contoso.com",
        {"TlsSenderCertificateName": "*.contoso.com"},
        id="OnPremises by wildcard certificate",
    ),
    pytest.param(
        "New-InboundConnector Fabrikam -SenderDomains fabrikam.com,*.fabrikam.com "
        "-SenderIPAddresses 198.51.100.0/24, 192.0.2.7 -RestrictDomainsToIPAddresses $true",
        {
            "ConnectorType": "Partner",
            "SenderDomains": ["smtp:fabrikam.com;1", "smtp:*.fabrikam.com;1"],
            "SenderIPAddresses": ["198.51.100.0/24", "192.0.2.7"],
            "RestrictDomainsToIPAddresses": True,
            "RestrictDomainsToCertificate": False,
        },
        id="Partner by IP (Partner is the default type)",
    ),
    pytest.param(
        "New-InboundConnector Fabrikam -ConnectorType Partner -SenderDomains smtp:fabrikam.com "
        "-TlsSenderCertificateName mail.fabrikam.com -RestrictDomainsToCertificate $true -RequireTls $true",
        {
            "SenderDomains": ["smtp:fabrikam.com;1"],
            "TlsSenderCertificateName": "mail.fabrikam.com",
            "RestrictDomainsToCertificate": True,
            "RequireTls": True,
        },
        id="Partner by certificate outside the tenant",
    ),
    pytest.param(
        "New-InboundConnector Fabrikam -ConnectorType Partner -SenderDomains 'smtp:fabrikam.com;1' "
        "-Enabled:$false",
        {"SenderDomains": ["smtp:fabrikam.com;1"], "Enabled": False},
        id="disabled, quoted smtp:domain;1",
    ),
    pytest.param(
        "new-inboundconnector -name X -connectortype OnPremises -senderdomains @('a.example','b.example') "
        "-senderipaddresses @('203.0.113.0/24')",
        {"SenderDomains": ["smtp:a.example;1", "smtp:b.example;1"], "SenderIPAddresses": ["203.0.113.0/24"]},
        id="arrays, lower case",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113.77/24",
        {"SenderIPAddresses": ["203.0.113.0/24"]},
        id="a range written with a host address",
    ),
]


@pytest.mark.parametrize(("line", "expected"), CONNECTORS)
def test_new_inbound_connector(lab: Lab, line: str, expected: dict[str, Any]) -> None:
    created = one(lab, line)
    assert {k: created[k] for k in expected} == expected
    shown = one(lab, f"Get-InboundConnector '{created['Name']}'")
    assert shown.properties == created.properties
    saved = load_tenant(lab.state_dir)
    assert saved is not None and [c.name for c in saved.inbound_connectors] == [created["Name"]]


SET_CONNECTOR = [
    pytest.param(
        '-SenderIPAddresses @{Add="203.0.113.10";Remove="192.0.2.7"}',
        "SenderIPAddresses",
        ["198.51.100.0/24", "203.0.113.10"],
        id="SenderIPAddresses Add and Remove",
    ),
    pytest.param(
        "-SenderIPAddresses @{Add='203.0.113.10','203.0.113.11'}",
        "SenderIPAddresses",
        ["198.51.100.0/24", "192.0.2.7", "203.0.113.10", "203.0.113.11"],
        id="SenderIPAddresses Add two",
    ),
    pytest.param(
        "-SenderIPAddresses @{Add='192.0.2.7'}",
        "SenderIPAddresses",
        ["198.51.100.0/24", "192.0.2.7"],
        id="SenderIPAddresses Add one already there",
    ),
    pytest.param(
        "-SenderIPAddresses @{Remove='198.51.100.0/24'}",
        "SenderIPAddresses",
        ["192.0.2.7"],
        id="SenderIPAddresses Remove a range",
    ),
    pytest.param(
        "-SenderIPAddresses 203.0.113.10",
        "SenderIPAddresses",
        ["203.0.113.10"],
        id="SenderIPAddresses replace",
    ),
    pytest.param(
        '-SenderDomains @{Add="contoso.net"; Remove="*.fabrikam.com"}',
        "SenderDomains",
        ["smtp:fabrikam.com;1", "smtp:contoso.net;1"],
        id="SenderDomains Add and Remove",
    ),
    pytest.param("-SenderDomains *", "SenderDomains", ["smtp:*;1"], id="SenderDomains replace"),
    pytest.param("-ConnectorType OnPremises", "ConnectorType", "OnPremises", id="ConnectorType"),
    pytest.param("-RequireTls $true", "RequireTls", True, id="RequireTls"),
    pytest.param(
        "-RestrictDomainsToIPAddresses $false", "RestrictDomainsToIPAddresses", False, id="RestrictIP"
    ),
    pytest.param(
        "-RestrictDomainsToCertificate $true", "RestrictDomainsToCertificate", True, id="RestrictCert"
    ),
    pytest.param(
        "-TlsSenderCertificateName mail.fabrikam.com",
        "TlsSenderCertificateName",
        "mail.fabrikam.com",
        id="TlsSenderCertificateName",
    ),
    pytest.param("-Enabled $false", "Enabled", False, id="Enabled"),
    pytest.param("-Enabled:$false -Comment 'paused'", "Enabled", False, id="Enabled colon form"),
]


@pytest.mark.parametrize(("change", "prop", "expected"), SET_CONNECTOR)
def test_set_inbound_connector(lab: Lab, change: str, prop: str, expected: Any) -> None:
    ok(
        lab,
        "New-InboundConnector Fabrikam -SenderDomains fabrikam.com,*.fabrikam.com "
        "-SenderIPAddresses 198.51.100.0/24,192.0.2.7 -RestrictDomainsToIPAddresses $true",
    )
    assert ok(lab, f"Set-InboundConnector Fabrikam {change}").objects == []
    assert one(lab, "Get-InboundConnector Fabrikam")[prop] == expected


def test_get_and_remove_inbound_connectors(lab: Lab) -> None:
    ok(
        lab,
        "New-InboundConnector 'Office printers' -SenderDomains * -ConnectorType OnPremises "
        "-SenderIPAddresses 203.0.113.10",
    )
    ok(lab, "New-InboundConnector Fabrikam -SenderDomains fabrikam.com -Enabled $false")
    listed = ok(lab, "Get-InboundConnector")
    assert listed.text() == (
        "Name            Enabled ConnectorType SenderIPAddresses\n"
        "----            ------- ------------- -----------------\n"
        "Office printers True    OnPremises    {203.0.113.10}\n"
        "Fabrikam        False   Partner       {}"
    )
    ok(lab, "Get-InboundConnector Fabrikam | Remove-InboundConnector -Confirm:$false")
    assert [o["Name"] for o in ok(lab, "Get-InboundConnector")] == ["Office printers"]
    assert ok(lab, "Remove-InboundConnector 'office PRINTERS' -Confirm:$false").objects == []
    assert ok(lab, "Get-InboundConnector").objects == []
    assert lab.world.tenant.inbound_connectors == []


def test_set_connector_to_onpremises_needs_an_ip_or_certificate(lab: Lab) -> None:
    ok(lab, "New-InboundConnector Fabrikam -SenderDomains fabrikam.com")
    result = lab.powershell("Set-InboundConnector Fabrikam -ConnectorType OnPremises")
    assert result.error == (
        "Set-InboundConnector: SenderIPAddresses: an OnPremises connector needs sender_ip_addresses or "
        "tls_sender_certificate_name to recognise mail"
    )
    assert one(lab, "Get-InboundConnector Fabrikam")["ConnectorType"] == "Partner"


def test_new_inbound_connector_requires_sender_domains(lab: Lab) -> None:
    result = lab.powershell(
        "New-InboundConnector X -ConnectorType OnPremises -SenderIPAddresses 203.0.113.10"
    )
    assert result.error == (
        "New-InboundConnector: Cannot process command because of one or more missing mandatory parameters: "
        "SenderDomains."
    )


# == message trace ===========================================================================================
@pytest.fixture(scope="module")
def traced_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab with three messages in its trace: two delivered, one filtered as spam."""
    with Lab.start(state_dir=Path(tmp_path_factory.mktemp("trace")) / "state") as running:
        scanner = running.device("Lobby scanner")
        assert scanner.send(running, to="alex@contoso.com", subject="Trace one").accepted
        assert printer().send(running, to="alex@contoso.com", subject="Trace spoof").accepted
        assert scanner.send(running, to="pat@fabrikam.com", subject="Trace two").accepted
        yield running


ONE = ("scanner@contoso.com", "alex@contoso.com", "Trace one", "Delivered")
SPOOF = ("printer@contoso.com", "alex@contoso.com", "Trace spoof", "FilteredAsSpam")
TWO = ("scanner@contoso.com", "pat@fabrikam.com", "Trace two", "Delivered")

TRACES = [
    pytest.param("", [TWO, SPOOF, ONE], id="all, newest first"),
    pytest.param("-SenderAddress scanner@contoso.com", [TWO, ONE], id="SenderAddress"),
    pytest.param(
        "-SenderAddress SCANNER@contoso.com,printer@contoso.com", [TWO, SPOOF, ONE], id="Sender list"
    ),
    pytest.param("-RecipientAddress alex@contoso.com", [SPOOF, ONE], id="RecipientAddress"),
    pytest.param("-RecipientAddress pat@fabrikam.com -SenderAddress scanner@contoso.com", [TWO], id="both"),
    pytest.param("-RecipientAddress nobody@contoso.com", [], id="no such recipient"),
    pytest.param("-Status FilteredAsSpam", [SPOOF], id="Status"),
    pytest.param("-Status Delivered -RecipientAddress alex@contoso.com", [ONE], id="Status and recipient"),
    pytest.param("-Status Failed", [], id="Status none"),
    pytest.param("-StartDate 01/01/2000 -EndDate 01/01/2100", [TWO, SPOOF, ONE], id="wide dates"),
    pytest.param("-StartDate 01/01/2000 -EndDate 01/02/2000", [], id="dates in the past"),
    pytest.param("-StartDate '2000-01-01' -EndDate '2000-01-02T00:00:00Z'", [], id="ISO dates"),
]


def rows(result: PowerShellResult) -> list[tuple[str, str, str, str]]:
    return [(o["SenderAddress"], o["RecipientAddress"], o["Subject"], o["Status"]) for o in result]


@pytest.mark.parametrize("cmdlet", ["Get-MessageTraceV2", "Get-MessageTrace"])
@pytest.mark.parametrize(("filters", "expected"), TRACES)
def test_message_trace(traced_lab: Lab, cmdlet: str, filters: str, expected: list[tuple[str, ...]]) -> None:
    assert rows(ok(traced_lab, f"{cmdlet} {filters}")) == expected


def test_message_trace_dates_around_the_sends(traced_lab: Lab) -> None:
    received: list[datetime] = [o["Received"] for o in ok(traced_lab, "Get-MessageTraceV2")]
    fmt = "%m/%d/%Y %H:%M:%S"
    start = (min(received) - timedelta(minutes=5)).strftime(fmt)
    end = (max(received) + timedelta(minutes=5)).strftime(fmt)
    assert rows(ok(traced_lab, f"Get-MessageTraceV2 -StartDate '{start}' -EndDate '{end}'")) == [
        TWO,
        SPOOF,
        ONE,
    ]
    later = (max(received) + timedelta(minutes=5)).strftime(fmt)
    much_later = (max(received) + timedelta(hours=1)).strftime(fmt)
    assert ok(traced_lab, f"Get-MessageTrace -StartDate '{later}' -EndDate '{much_later}'").objects == []
    earlier = (min(received) - timedelta(hours=1)).strftime(fmt)
    assert ok(traced_lab, f"Get-MessageTrace -StartDate '{earlier}' -EndDate '{start}'").objects == []


def test_message_trace_display(traced_lab: Lab) -> None:
    lines = ok(traced_lab, "Get-MessageTraceV2 -SenderAddress printer@contoso.com,scanner@contoso.com").text()
    header, rule, *body = lines.splitlines()
    assert header.split() == ["Received", "SenderAddress", "RecipientAddress", "Subject", "Status"]
    assert len(body) == 3 and body[0].split()[-1] == "Delivered" and body[1].split()[-1] == "FilteredAsSpam"
    single = one(traced_lab, "Get-MessageTrace -Status FilteredAsSpam")
    assert single["FromIP"] == "203.0.113.10" and single["MessageId"].startswith("<")


def test_message_trace_detail(traced_lab: Lab) -> None:
    record = one(traced_lab, "Get-MessageTraceV2 -RecipientAddress pat@fabrikam.com")
    trace_id = record["MessageTraceId"]
    detail = ok(
        traced_lab, f"Get-MessageTraceDetailV2 -MessageTraceId {trace_id} -RecipientAddress pat@fabrikam.com"
    )
    events = [o["Event"] for o in detail]
    assert events[0] == "RECEIVE" and "SUBMIT" in events and events[-1] == "SEND"
    assert {o["MessageTraceId"] for o in detail} == {trace_id}
    assert detail.text().splitlines()[0].split() == ["Date", "Event", "Detail"]
    same = ok(
        traced_lab, f"Get-MessageTraceDetail -MessageTraceId '{trace_id}' -RecipientAddress PAT@fabrikam.com"
    )
    assert [o.properties for o in same] == [o.properties for o in detail]


def test_message_trace_detail_of_a_spam_verdict(traced_lab: Lab) -> None:
    trace_id = one(traced_lab, "Get-MessageTraceV2 -Status FilteredAsSpam")["MessageTraceId"]
    detail = ok(
        traced_lab, f"Get-MessageTraceDetailV2 -MessageTraceId {trace_id} -RecipientAddress alex@contoso.com"
    )
    assert "SPAM" in [o["Event"] for o in detail]


# == errors, each exact; a failing line changes nothing ======================================================
NOT_RECOGNISED = (
    "is not recognized as a name of a cmdlet, function, script file, or executable program.\n"
    "Check the spelling of the name, or if a path was included, verify that the path is correct and "
    "try again."
)
BOOL = (
    "Cannot process argument transformation on parameter '{0}'. Cannot convert value \"{1}\" to type "
    '"System.Boolean". Boolean parameters accept only Boolean values and numbers, '
    "such as $True, $False, 1 or 0."
)
ENUM = (
    "Cannot bind parameter '{0}'. Cannot convert value \"{1}\": Unable to match the identifier name {1} to a "
    "valid enumerator name. Specify one of the following enumerator names and try again: {2}"
)
IP = (
    "Cannot bind parameter 'SenderIPAddresses'. Cannot convert value \"{0}\" to type "
    '"Microsoft.Exchange.Data.IPRange". Error: "The IP address or range is not valid."'
)
MISSING = "Cannot process command because of one or more missing mandatory parameters: {0}."


def not_found(identity: str) -> str:
    return f"The operation couldn't be performed because object '{identity}' couldn't be found on {DC}."


ERRORS = [
    # -- unknown cmdlet, unknown or ambiguous parameter ----------------------------------------------------
    pytest.param("Get-Foo", f"Get-Foo: The term 'Get-Foo' {NOT_RECOGNISED}", id="unknown cmdlet"),
    pytest.param(
        "Set-CasMailboxes alex", f"Set-CasMailboxes: The term 'Set-CasMailboxes' {NOT_RECOGNISED}", id="typo"
    ),
    pytest.param(
        "Get-Mailbox | Set-Foo -X 1",
        f"Set-Foo: The term 'Set-Foo' {NOT_RECOGNISED}",
        id="unknown in a pipeline",
    ),
    pytest.param(
        "Set-CASMailbox alex -Bogus 1",
        "Set-CASMailbox: A parameter cannot be found that matches parameter name 'Bogus'.",
        id="unknown parameter",
    ),
    pytest.param(
        "Get-TransportConfig -Identity x",
        "Get-TransportConfig: A parameter cannot be found that matches parameter name 'Identity'.",
        id="parameter of another cmdlet",
    ),
    pytest.param(
        "Set-CASMailbox alex -SmtpClientAuthenticationEnabled $true",
        "Set-CASMailbox: A parameter cannot be found that matches parameter name "
        "'SmtpClientAuthenticationEnabled'.",
        id="longer than any parameter",
    ),
    pytest.param(
        "New-InboundConnector X -Sender 203.0.113.10",
        "New-InboundConnector: Parameter cannot be processed because the parameter name 'Sender' is "
        "ambiguous. Possible matches include: -SenderDomains -SenderIPAddresses.",
        id="ambiguous prefix",
    ),
    pytest.param(
        "Set-InboundConnector X -restrict $true",
        "Set-InboundConnector: Parameter cannot be processed because the parameter name 'restrict' is "
        "ambiguous. Possible matches include: -RestrictDomainsToIPAddresses -RestrictDomainsToCertificate.",
        id="ambiguous prefix any case",
    ),
    # -- bad values -----------------------------------------------------------------------------------------
    pytest.param(
        "Set-TransportConfig -SmtpClientAuthenticationDisabled yes",
        "Set-TransportConfig: " + BOOL.format("SmtpClientAuthenticationDisabled", "yes"),
        id="boolean given yes",
    ),
    pytest.param(
        "Set-TransportConfig -AllowLegacyTLSClients $null",
        "Set-TransportConfig: " + BOOL.format("AllowLegacyTLSClients", ""),
        id="boolean given $null",
    ),
    pytest.param(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled 'true'",
        "Set-CASMailbox: " + BOOL.format("SmtpClientAuthenticationDisabled", "true"),
        id="nullable boolean given a string",
    ),
    pytest.param(
        "Set-OrganizationConfig -RejectDirectSend 2",
        "Set-OrganizationConfig: " + BOOL.format("RejectDirectSend", "2"),
        id="boolean given 2",
    ),
    pytest.param(
        "Set-DkimSigningConfig contoso.com -Enabled no",
        "Set-DkimSigningConfig: " + BOOL.format("Enabled", "no"),
        id="DKIM Enabled given no",
    ),
    pytest.param(
        f"Update-{SECURITY_DEFAULTS} -IsEnabled yes",
        f"Update-{SECURITY_DEFAULTS}: " + BOOL.format("IsEnabled", "yes"),
        id="IsEnabled given yes",
    ),
    pytest.param(
        "New-InboundConnector X -ConnectorType Internal -SenderDomains *",
        "New-InboundConnector: " + ENUM.format("ConnectorType", "Internal", "OnPremises, Partner"),
        id="bad ConnectorType",
    ),
    pytest.param(
        "Add-RecipientPermission helpdesk -Trustee scanner -AccessRights FullAccess",
        "Add-RecipientPermission: " + ENUM.format("AccessRights", "FullAccess", "SendAs"),
        id="bad AccessRights",
    ),
    pytest.param(
        "New-AcceptedDomain contoso.net -DomainName contoso.net -DomainType Relay",
        "New-AcceptedDomain: "
        + ENUM.format("DomainType", "Relay", "Authoritative, InternalRelay, ExternalRelay"),
        id="bad DomainType",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113",
        "New-InboundConnector: " + IP.format("203.0.113"),
        id="bad IP",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113.10,printer.contoso.com",
        "New-InboundConnector: " + IP.format("printer.contoso.com"),
        id="a host name in an IP list",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113.300",
        "New-InboundConnector: " + IP.format("203.0.113.300"),
        id="octet out of range",
    ),
    pytest.param(
        'Set-InboundConnector X -SenderIPAddresses @{Add="nope"}',
        "Set-InboundConnector: " + IP.format("nope"),
        id="bad IP in @{Add}",
    ),
    pytest.param(
        'Set-InboundConnector X -SenderDomains @{Replace="a.com"}',
        "Set-InboundConnector: Cannot bind parameter 'SenderDomains': a multi-valued property takes "
        '@{Add="..."; Remove="..."}.',
        id="@{} without Add or Remove",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.112.0/23",
        "New-InboundConnector: SenderIPAddresses: expected an IPv4 address or range from /24 to /32, "
        "got 203.0.112.0/23",
        id="a /23 refused",
    ),
    pytest.param(
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113.10,2001:db8::1",
        "New-InboundConnector: SenderIPAddresses: expected an IPv4 address or range from /24 to /32, "
        "got 2001:db8::1/128",
        id="IPv6 refused",
    ),
    pytest.param(
        "New-InboundConnector X -ConnectorType OnPremises -SenderDomains * "
        "-TlsSenderCertificateName mail.fabrikam.com",
        "New-InboundConnector: TlsSenderCertificateName: mail.fabrikam.com is not in an accepted domain "
        "of the tenant (contoso.com, contoso.onmicrosoft.com)",
        id="certificate outside the accepted domains",
    ),
    pytest.param(
        "New-InboundConnector X -ConnectorType OnPremises -SenderDomains * "
        "-TlsSenderCertificateName notcontoso.com",
        "New-InboundConnector: TlsSenderCertificateName: notcontoso.com is not in an accepted domain of the "
        "tenant (contoso.com, contoso.onmicrosoft.com)",
        id="certificate that only ends like an accepted domain",
    ),
    pytest.param(
        "New-InboundConnector X -ConnectorType OnPremises -SenderDomains *",
        "New-InboundConnector: SenderIPAddresses: an OnPremises connector needs sender_ip_addresses or "
        "tls_sender_certificate_name to recognise mail",
        id="OnPremises with neither IP nor certificate",
    ),
    pytest.param(
        "Get-MessageTraceV2 -StartDate tomorrow",
        "Get-MessageTraceV2: Cannot bind parameter 'StartDate'. Cannot convert value \"tomorrow\" to type "
        '"System.DateTime".',
        id="bad date",
    ),
    pytest.param(
        "Get-MessageTrace -StartDate 01/02/2020 -EndDate 01/01/2020",
        "Get-MessageTrace: The StartDate value must be earlier than the EndDate value.",
        id="StartDate after EndDate",
    ),
    pytest.param(
        "Get-Mailbox -ResultSize lots",
        "Get-Mailbox: Cannot bind parameter 'ResultSize'. "
        'Cannot convert value "lots" to type "System.Int32".',
        id="bad number",
    ),
    pytest.param(
        "Set-CASMailbox alex,scanner -SmtpClientAuthenticationDisabled $false",
        "Set-CASMailbox: Cannot convert 'alex, scanner' to the type 'System.String' required by parameter "
        "'Identity'.",
        id="a list for a single value",
    ),
    # -- missing values and parameters ----------------------------------------------------------------------
    pytest.param(
        "Set-CASMailbox -SmtpClientAuthenticationDisabled $true",
        "Set-CASMailbox: " + MISSING.format("Identity"),
        id="missing Identity",
    ),
    pytest.param(
        "Add-RecipientPermission helpdesk -AccessRights SendAs",
        "Add-RecipientPermission: " + MISSING.format("Trustee"),
        id="missing Trustee",
    ),
    pytest.param(
        "Add-RecipientPermission -Identity helpdesk",
        "Add-RecipientPermission: " + MISSING.format("Trustee AccessRights"),
        id="missing two",
    ),
    pytest.param(
        "New-InboundConnector -ConnectorType Partner -SenderDomains *",
        "New-InboundConnector: " + MISSING.format("Name"),
        id="missing Name",
    ),
    pytest.param(
        "New-AcceptedDomain contoso.net",
        "New-AcceptedDomain: " + MISSING.format("DomainName"),
        id="missing DomainName",
    ),
    pytest.param(
        "Remove-AcceptedDomain -Confirm:$false",
        "Remove-AcceptedDomain: " + MISSING.format("Identity"),
        id="missing Identity on Remove",
    ),
    pytest.param(
        "Get-MessageTraceDetailV2 -MessageTraceId 00000000-0000-0000-0000-000000000000",
        "Get-MessageTraceDetailV2: " + MISSING.format("RecipientAddress"),
        id="missing RecipientAddress",
    ),
    pytest.param(
        f"Update-{SECURITY_DEFAULTS}",
        f"Update-{SECURITY_DEFAULTS}: " + MISSING.format("IsEnabled"),
        id="no IsEnabled",
    ),
    pytest.param(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled",
        "Set-CASMailbox: Missing an argument for parameter 'SmtpClientAuthenticationDisabled'. "
        "Specify a parameter of type 'System.Nullable[bool]' and try again.",
        id="missing argument",
    ),
    pytest.param(
        "Set-OrganizationConfig -RejectDirectSend -Confirm:$false",
        "Set-OrganizationConfig: Missing an argument for parameter 'RejectDirectSend'. "
        "Specify a parameter of type 'System.Boolean' and try again.",
        id="missing argument before another parameter",
    ),
    pytest.param(
        "Get-TransportConfig Default",
        "Get-TransportConfig: A positional parameter cannot be found that accepts argument 'Default'.",
        id="no positional parameter",
    ),
    pytest.param(
        "Remove-InboundConnector X -Confirm $false",
        "Remove-InboundConnector: A positional parameter cannot be found that accepts argument 'False'.",
        id="-Confirm $false without the colon",
    ),
    pytest.param(
        "Get-Mailbox | Get-TransportConfig",
        "Get-TransportConfig: The input object cannot be bound to any parameters for the command either "
        "because the command does not take pipeline input or the input and its properties do not match any "
        "of the parameters that take pipeline input.",
        id="no pipeline input",
    ),
    # -- objects that do not exist ------------------------------------------------------------------------
    pytest.param("Get-CASMailbox nobody", "Get-CASMailbox: " + not_found("nobody"), id="Get-CASMailbox"),
    pytest.param(
        "Set-CASMailbox nobody@contoso.com -SmtpClientAuthenticationDisabled $false",
        "Set-CASMailbox: " + not_found("nobody@contoso.com"),
        id="Set-CASMailbox",
    ),
    pytest.param("Get-Mailbox 'Pat Smith'", "Get-Mailbox: " + not_found("Pat Smith"), id="Get-Mailbox"),
    pytest.param(
        "Get-AcceptedDomain fabrikam.com", "Get-AcceptedDomain: " + not_found("fabrikam.com"), id="domain"
    ),
    pytest.param(
        "Remove-AcceptedDomain fabrikam.com",
        "Remove-AcceptedDomain: " + not_found("fabrikam.com"),
        id="rm domain",
    ),
    pytest.param(
        "Add-RecipientPermission shared -Trustee scanner -AccessRights SendAs",
        "Add-RecipientPermission: " + not_found("shared"),
        id="SendAs on nobody",
    ),
    pytest.param(
        "Add-RecipientPermission helpdesk -Trustee pat@fabrikam.com -AccessRights SendAs",
        "Add-RecipientPermission: " + not_found("pat@fabrikam.com"),
        id="SendAs for an outsider",
    ),
    pytest.param(
        "Remove-RecipientPermission helpdesk -Trustee alex -AccessRights SendAs",
        "Remove-RecipientPermission: Can't remove the access control entry on the object "
        "'helpdesk@contoso.com' for account 'alex@contoso.com' because the ACE doesn't exist on the object.",
        id="no such SendAs grant",
    ),
    pytest.param(
        "Get-InboundConnector 'No such'", "Get-InboundConnector: " + not_found("No such"), id="connector"
    ),
    pytest.param(
        "Set-InboundConnector X -Enabled $false",
        "Set-InboundConnector: " + not_found("X"),
        id="set connector",
    ),
    pytest.param(
        "Remove-InboundConnector X -Confirm:$false",
        "Remove-InboundConnector: " + not_found("X"),
        id="rm connector",
    ),
    pytest.param(
        "Get-DkimSigningConfig fabrikam.com", "Get-DkimSigningConfig: " + not_found("fabrikam.com"), id="dkim"
    ),
    pytest.param(
        "Set-DkimSigningConfig fabrikam.com -Enabled $false",
        "Set-DkimSigningConfig: " + not_found("fabrikam.com"),
        id="set dkim",
    ),
    pytest.param(
        "Get-MessageTraceDetailV2 -MessageTraceId 00000000-0000-0000-0000-000000000000 "
        "-RecipientAddress alex@contoso.com",
        "Get-MessageTraceDetailV2: " + not_found("00000000-0000-0000-0000-000000000000"),
        id="trace detail",
    ),
    pytest.param(
        "Get-DkimSigningConfig | Set-CASMailbox -SmtpClientAuthenticationDisabled $false",
        "Set-CASMailbox: " + not_found("contoso.com"),
        id="piped identity not found",
    ),
    # -- refusals -------------------------------------------------------------------------------------------
    pytest.param(
        "Remove-AcceptedDomain contoso.com -Confirm:$false",
        "Remove-AcceptedDomain: The accepted domain 'contoso.com' can't be removed because it's the "
        "initial or default domain or it's still used by 3 recipient(s).",
        id="domain in use",
    ),
    pytest.param(
        "Remove-AcceptedDomain contoso.onmicrosoft.com",
        "Remove-AcceptedDomain: The accepted domain 'contoso.onmicrosoft.com' can't be removed because "
        "it's the initial or default domain or it's still used by 0 recipient(s).",
        id="initial domain",
    ),
    pytest.param(
        "New-AcceptedDomain contoso.com -DomainName Contoso.com",
        "New-AcceptedDomain: The accepted domain 'contoso.com' already exists.",
        id="domain exists",
    ),
]


@pytest.mark.parametrize(("line", "error"), ERRORS)
def test_error(unchanged: Lab, line: str, error: str) -> None:
    result = unchanged.powershell(line)
    assert not result.ok
    assert result.error == error
    assert result.objects == []
    assert result.text() == error


def test_connector_name_taken(lab: Lab) -> None:
    ok(lab, "New-InboundConnector Fabrikam -SenderDomains fabrikam.com")
    result = lab.powershell("New-InboundConnector fabrikam -SenderDomains fabrikam.com")
    assert result.error == "New-InboundConnector: The connector 'fabrikam' already exists."
    assert len(ok(lab, "Get-InboundConnector")) == 1


def test_a_failing_statement_stops_the_line_and_changes_nothing(lab: Lab) -> None:
    def snapshot() -> dict[str, str]:
        return {
            q: ok(lab, q).text()
            for q in (
                "Get-CASMailbox",
                "Get-OrganizationConfig",
                "Get-TransportConfig",
                "Get-InboundConnector",
            )
        }

    before = snapshot()
    result = lab.powershell(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false\n"
        "Set-TransportConfig -AllowLegacyTLSClients $true -SmtpClientAuthenticationDisabled yes\n"
        "Set-OrganizationConfig -RejectDirectSend $true; "
        "New-InboundConnector X -SenderDomains * -SenderIPAddresses 203.0.113.10"
    )
    assert result.error == "Set-TransportConfig: " + BOOL.format("SmtpClientAuthenticationDisabled", "yes")
    # the statement before the failure ran, and shows its warning
    assert len(result.warnings) == 1 and "30 minutes" in result.warnings[0]
    assert result.text().startswith("WARNING: ") and result.text().endswith(result.error)
    after = snapshot()
    assert after["Get-CASMailbox"] != before["Get-CASMailbox"]
    assert one(lab, "Get-CASMailbox alex")["SmtpClientAuthenticationDisabled"] is False
    # the failing statement and the ones after it changed nothing
    assert {k: v for k, v in after.items() if k != "Get-CASMailbox"} == {
        k: v for k, v in before.items() if k != "Get-CASMailbox"
    }
    saved = load_tenant(lab.state_dir)
    assert saved is not None and tenant_to_dict(saved) == tenant_to_dict(lab.world.tenant)


def test_a_pipeline_failing_half_way_changes_nothing(lab: Lab) -> None:
    ok(lab, "New-InboundConnector contoso.com -SenderDomains fabrikam.com")
    ok(lab, "New-InboundConnector nowhere.example -SenderDomains fabrikam.com")
    before = tenant_to_dict(lab.world.tenant)
    result = lab.powershell("Get-InboundConnector | Set-DkimSigningConfig -Enabled $false")
    assert result.error == "Set-DkimSigningConfig: " + not_found("nowhere.example")
    assert tenant_to_dict(lab.world.tenant) == before
    assert one(lab, "Get-DkimSigningConfig contoso.com")["Enabled"] is True


def test_a_refused_connector_change_keeps_the_connector(lab: Lab) -> None:
    ok(
        lab,
        "New-InboundConnector 'Office printers' -SenderDomains * -ConnectorType OnPremises "
        "-SenderIPAddresses 203.0.113.10",
    )
    before = one(lab, "Get-InboundConnector 'Office printers'").properties
    result = lab.powershell(
        "Set-InboundConnector 'Office printers' -Enabled $false -SenderIPAddresses @{Add='203.0.112.0/23'}"
    )
    assert result.error is not None and "203.0.112.0/23" in result.error
    assert one(lab, "Get-InboundConnector 'Office printers'").properties == before
    refused = lab.powershell(
        "Set-InboundConnector 'Office printers' -SenderIPAddresses @{Remove='203.0.113.10'}"
    )
    assert refused.error is not None and "an OnPremises connector needs" in refused.error
    assert one(lab, "Get-InboundConnector 'Office printers'")["SenderIPAddresses"] == ["203.0.113.10"]


def test_a_refused_change_still_sends_the_same_way(lab: Lab) -> None:
    before = printer().send(lab, to="alex@contoso.com")
    assert before.accepted
    assert not lab.powershell("Set-OrganizationConfig -RejectDirectSend:$true -Bogus").ok
    assert printer().send(lab, to="alex@contoso.com").accepted


def test_whatif_changes_nothing(lab: Lab) -> None:
    ok(lab, "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false -WhatIf")
    assert one(lab, "Get-CASMailbox alex")["SmtpClientAuthenticationDisabled"] is None


def test_common_parameters_are_accepted(lab: Lab) -> None:
    ok(lab, "Set-OrganizationConfig -RejectDirectSend $true -Confirm:$false -ErrorAction Stop -Verbose")
    assert one(lab, "Get-OrganizationConfig")["RejectDirectSend"] is True
    ok(lab, "Set-OrganizationConfig -RejectDirectSend $false -Confirm -WarningAction SilentlyContinue")
    assert one(lab, "Get-OrganizationConfig")["RejectDirectSend"] is False
    ok(lab, "New-InboundConnector X -SenderDomains * -Confirm:$false; Remove-InboundConnector X -Force")
    assert ok(lab, "Get-InboundConnector").objects == []
