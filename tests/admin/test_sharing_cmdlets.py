"""The sharing cmdlets on a lab: sharing policies, Set-Mailbox -SharingPolicy, organisation relationships."""

from __future__ import annotations

from typing import Any

import pytest

from mailflow_lab import Lab
from mailflow_lab.admin.objects import PowerShellResult
from mailflow_lab.policy.sharing import Viewer, calendar_view
from mailflow_lab.world.state import load_tenant, tenant_to_dict

DC = "'AM4PR05A001DC01.EURPRD05.PROD.OUTLOOK.COM'"


def ok(lab: Lab, text: str) -> PowerShellResult:
    result = lab.powershell(text)
    assert result.ok, f"{text!r} failed: {result.error}"
    return result


def one(lab: Lab, text: str) -> Any:
    (obj,) = ok(lab, text).objects
    return obj


def saved_matches(lab: Lab) -> None:
    saved = load_tenant(lab.state_dir)
    assert saved is not None and tenant_to_dict(saved) == tenant_to_dict(lab.world.tenant)


def test_get_sharing_policy_shows_the_default(lab: Lab) -> None:
    policy = one(lab, "Get-SharingPolicy")
    assert policy["Name"] == "Default Sharing Policy"
    assert policy["Domains"] == [
        "Anonymous:CalendarSharingFreeBusyReviewer",
        "*:CalendarSharingFreeBusySimple",
    ]
    assert policy["Default"] is True and policy["Enabled"] is True
    assert ok(lab, "Get-SharingPolicy").text() == (
        "Name     : Default Sharing Policy\n"
        "Domains  : {Anonymous:CalendarSharingFreeBusyReviewer, *:CalendarSharingFreeBusySimple}\n"
        "Enabled  : True\n"
        "Default  : True\n"
        "Identity : Default Sharing Policy"
    )


def test_new_policy_and_set_mailbox_change_what_pat_sees(lab: Lab) -> None:
    pat = Viewer.person("pat@fabrikam.com")
    assert calendar_view(lab.world.tenant, pat, "alex@contoso.com").access == "AvailabilityOnly"
    created = one(
        lab,
        "New-SharingPolicy -Name 'Fabrikam partners' "
        "-Domains 'fabrikam.com: CalendarSharingFreeBusyDetail, ContactsSharing', "
        "'*: CalendarSharingFreeBusySimple'",
    )
    assert created["Domains"] == [
        "fabrikam.com:CalendarSharingFreeBusyDetail,ContactsSharing",
        "*:CalendarSharingFreeBusySimple",
    ]
    assert created["Default"] is False
    result = ok(lab, "Set-Mailbox -Identity alex -SharingPolicy 'fabrikam partners'")
    assert any("30 minutes" in w for w in result.warnings)
    assert one(lab, "Get-Mailbox alex")["SharingPolicy"] == "Fabrikam partners"
    view = calendar_view(lab.world.tenant, pat, "alex@contoso.com")
    assert (view.access, view.rule) == ("LimitedDetails", "sharing.capped-by-policy")
    saved_matches(lab)
    ok(lab, "Set-Mailbox alex -SharingPolicy $null")
    assert one(lab, "Get-Mailbox alex")["SharingPolicy"] is None
    assert calendar_view(lab.world.tenant, pat, "alex@contoso.com").access == "AvailabilityOnly"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            "-Domains @{Add='fabrikam.com: CalendarSharingFreeBusyReviewer'}",
            [
                "Anonymous:CalendarSharingFreeBusyReviewer",
                "*:CalendarSharingFreeBusySimple",
                "fabrikam.com:CalendarSharingFreeBusyReviewer",
            ],
            id="add",
        ),
        pytest.param(
            "-Domains @{Remove='Anonymous'}", ["*:CalendarSharingFreeBusySimple"], id="remove-by-domain"
        ),
        pytest.param(
            "-Domains @{Remove='Anonymous:CalendarSharingFreeBusyReviewer'}",
            ["*:CalendarSharingFreeBusySimple"],
            id="remove-by-entry",
        ),
        pytest.param(
            "-Domains '*: CalendarSharingFreeBusyDetail'", ["*:CalendarSharingFreeBusyDetail"], id="replace"
        ),
    ],
)
def test_set_sharing_policy_domains(lab: Lab, change: str, expected: list[str]) -> None:
    ok(lab, f"Set-SharingPolicy -Identity 'Default Sharing Policy' {change}")
    assert one(lab, "Get-SharingPolicy 'Default Sharing Policy'")["Domains"] == expected
    saved_matches(lab)


def test_set_sharing_policy_enabled_default_and_pipeline(lab: Lab) -> None:
    ok(lab, "New-SharingPolicy Strict -Domains '*: CalendarSharingFreeBusySimple' -Default")
    policies = {o["Name"]: o["Default"] for o in ok(lab, "Get-SharingPolicy")}
    assert policies == {"Default Sharing Policy": False, "Strict": True}
    ok(lab, "Get-SharingPolicy Strict | Set-SharingPolicy -Enabled $false")
    assert one(lab, "Get-SharingPolicy Strict")["Enabled"] is False
    # Alex follows the default, now Strict and disabled: Pat sees nothing through sharing.
    view = calendar_view(lab.world.tenant, Viewer.person("pat@fabrikam.com"), "alex@contoso.com")
    assert view.route("sharing policy").rule == "sharing.policy-disabled"
    ok(lab, "Set-SharingPolicy 'Default Sharing Policy' -Default")
    ok(lab, "Remove-SharingPolicy Strict")
    assert [o["Name"] for o in ok(lab, "Get-SharingPolicy")] == ["Default Sharing Policy"]


def test_rename_keeps_mailboxes_on_the_policy(lab: Lab) -> None:
    ok(
        lab,
        "New-SharingPolicy P -Domains '*: CalendarSharingFreeBusyDetail'; Set-Mailbox alex -SharingPolicy P",
    )
    ok(lab, "Set-SharingPolicy P -Name Partners")
    assert one(lab, "Get-Mailbox alex")["SharingPolicy"] == "Partners"


def test_organization_relationship_new_set_get_remove(lab: Lab) -> None:
    fabrikam = Viewer.organisation("fabrikam.com")
    assert calendar_view(lab.world.tenant, fabrikam, "alex@contoso.com").access == "None"
    created = one(
        lab,
        "New-OrganizationRelationship -Name Fabrikam -DomainNames fabrikam.com "
        "-FreeBusyAccessEnabled $true -FreeBusyAccessLevel AvailabilityOnly",
    )
    assert (created["DomainNames"], created["FreeBusyAccessEnabled"], created["FreeBusyAccessLevel"]) == (
        ["fabrikam.com"],
        True,
        "AvailabilityOnly",
    )
    assert (created["MailTipsAccessEnabled"], created["MailTipsAccessLevel"], created["Enabled"]) == (
        False,
        "None",
        True,
    )
    view = calendar_view(lab.world.tenant, fabrikam, "alex@contoso.com")
    assert (view.access, view.mechanism) == ("AvailabilityOnly", "organization relationship")
    saved_matches(lab)
    ok(
        lab,
        "Set-OrganizationRelationship Fabrikam -FreeBusyAccessLevel limiteddetails "
        "-MailTipsAccessEnabled $true -MailTipsAccessLevel All -DomainNames @{Add='fabrikam.net'}",
    )
    got = one(lab, "Get-OrganizationRelationship -Identity fabrikam")
    assert got["FreeBusyAccessLevel"] == "LimitedDetails" and got["MailTipsAccessLevel"] == "All"
    assert got["DomainNames"] == ["fabrikam.com", "fabrikam.net"]
    table = ok(lab, "Get-OrganizationRelationship | Format-Table").text()
    assert table.splitlines()[0].split() == [
        "Name",
        "DomainNames",
        "FreeBusyAccessEnabled",
        "FreeBusyAccessLevel",
    ]
    ok(lab, "Get-OrganizationRelationship | Set-OrganizationRelationship -Enabled $false")
    assert calendar_view(lab.world.tenant, fabrikam, "alex@contoso.com").access == "None"
    ok(lab, "Remove-OrganizationRelationship Fabrikam")
    assert ok(lab, "Get-OrganizationRelationship").objects == []
    saved_matches(lab)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        pytest.param(
            "Get-SharingPolicy Nope",
            f"Get-SharingPolicy: The operation couldn't be performed because "
            f"object 'Nope' couldn't be found on {DC}.",
            id="policy-not-found",
        ),
        pytest.param(
            "Set-Mailbox alex -SharingPolicy Nope", "object 'Nope' couldn't be found", id="mailbox-policy"
        ),
        pytest.param(
            "Set-Mailbox ghost -SharingPolicy $null", "object 'ghost' couldn't be found", id="no-mailbox"
        ),
        pytest.param(
            "New-SharingPolicy 'Default Sharing Policy' -Domains '*: ContactsSharing'",
            "already exists",
            id="policy-exists",
        ),
        pytest.param(
            "New-SharingPolicy P -Domains 'fabrikam.com'",
            "Cannot bind parameter 'Domains'. expected",
            id="entry-without-action",
        ),
        pytest.param(
            "New-SharingPolicy P -Domains 'fabrikam.com: CalendarSharingAll'",
            "unknown sharing action",
            id="unknown-action",
        ),
        pytest.param("New-SharingPolicy P", "missing mandatory parameters: Domains", id="domains-mandatory"),
        pytest.param(
            "Remove-SharingPolicy 'Default Sharing Policy'", "it's the default policy", id="remove-default"
        ),
        pytest.param(
            "Set-SharingPolicy 'Default Sharing Policy' -Domains @{Remove='fabrikam.com'}",
            "has no entry for 'fabrikam.com'",
            id="remove-missing-entry",
        ),
        pytest.param(
            "Get-OrganizationRelationship Nope", "object 'Nope' couldn't be found", id="relationship-404"
        ),
        pytest.param(
            "New-OrganizationRelationship Own -DomainNames contoso.com",
            "is an accepted domain",
            id="relationship-own-domain",
        ),
        pytest.param(
            "New-OrganizationRelationship F -DomainNames fabrikam.com -FreeBusyAccessLevel Reviewer",
            "Specify one of the following enumerator names and try again: None, AvailabilityOnly, "
            "LimitedDetails",
            id="relationship-level",
        ),
        pytest.param(
            "New-OrganizationRelationship F",
            "missing mandatory parameters: DomainNames",
            id="relationship-domains-mandatory",
        ),
        pytest.param(
            "New-OrganizationRelationship F -DomainNames 'not a domain'",
            "is not a domain name",
            id="relationship-bad-domain",
        ),
    ],
)
def test_errors_change_nothing(lab: Lab, line: str, error: str) -> None:
    before = tenant_to_dict(lab.world.tenant)
    result = lab.powershell(line)
    assert not result.ok and error in (result.error or ""), result.error
    assert tenant_to_dict(lab.world.tenant) == before


def test_a_domain_belongs_to_one_relationship(lab: Lab) -> None:
    ok(lab, "New-OrganizationRelationship A -DomainNames fabrikam.com")
    result = lab.powershell("New-OrganizationRelationship B -DomainNames fabrikam.com")
    assert "already used by the organization relationship 'A'" in (result.error or "")
    assert one(lab, "Get-OrganizationRelationship A")["FreeBusyAccessEnabled"] is False  # the default


def test_changes_survive_a_restart(lab: Lab) -> None:
    ok(
        lab,
        "New-OrganizationRelationship Fabrikam -DomainNames fabrikam.com -FreeBusyAccessEnabled $true "
        "-FreeBusyAccessLevel LimitedDetails",
    )
    ok(
        lab,
        "New-SharingPolicy P -Domains 'fabrikam.com: CalendarSharingFreeBusyDetail'; "
        "Set-Mailbox alex -SharingPolicy P",
    )
    saved = load_tenant(lab.state_dir)
    assert saved is not None
    assert saved.organization_relationships[0].free_busy_access_level == "LimitedDetails"
    alex = saved.find_mailbox("alex@contoso.com")
    assert (
        alex is not None
        and alex.sharing_policy == "P"
        and alex.calendar == lab.world.tenant.mailboxes[0].calendar
    )


def test_calendar_default_permission_caps_the_relationship(lab: Lab) -> None:
    got = one(lab, r"Get-MailboxFolderPermission -Identity alex:\Calendar")
    assert (got["FolderName"], got["User"], got["AccessRights"]) == (
        "Calendar",
        "Default",
        ["AvailabilityOnly"],
    )
    ok(
        lab,
        "New-OrganizationRelationship Fabrikam -DomainNames fabrikam.com -FreeBusyAccessEnabled $true "
        "-FreeBusyAccessLevel LimitedDetails",
    )
    fabrikam = Viewer.organisation("fabrikam.com")
    assert calendar_view(lab.world.tenant, fabrikam, "alex@contoso.com").access == "AvailabilityOnly"
    ok(
        lab,
        r"Set-MailboxFolderPermission -Identity 'alex@contoso.com:\Calendar' -User Default "
        "-AccessRights LimitedDetails",
    )
    assert one(lab, r"Get-MailboxFolderPermission alex:\Calendar")["AccessRights"] == ["LimitedDetails"]
    view = calendar_view(lab.world.tenant, fabrikam, "alex@contoso.com")
    assert (view.access, view.rule) == ("LimitedDetails", "relationship.free-busy")
    assert view.lines()[0] == "Mon 02 Mar 09:00-10:00  Busy  Contract renewal with Fabrikam  Teams"
    saved_matches(lab)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        pytest.param(r"Get-MailboxFolderPermission alex:\Inbox", "calendar folder only", id="other-folder"),
        pytest.param("Get-MailboxFolderPermission alex", "calendar folder only", id="no-folder"),
        pytest.param(
            r"Get-MailboxFolderPermission ghost:\Calendar", "object 'ghost' couldn't be found", id="404"
        ),
        pytest.param(
            r"Set-MailboxFolderPermission alex:\Calendar -User pat@fabrikam.com -AccessRights Reviewer",
            "Default entry only",
            id="other-user",
        ),
        pytest.param(
            r"Set-MailboxFolderPermission alex:\Calendar -User Default -AccessRights Owner",
            "Specify one of the following enumerator names",
            id="bad-right",
        ),
    ],
)
def test_folder_permission_errors(lab: Lab, line: str, error: str) -> None:
    before = tenant_to_dict(lab.world.tenant)
    result = lab.powershell(line)
    assert not result.ok and error in (result.error or ""), result.error
    assert tenant_to_dict(lab.world.tenant) == before
