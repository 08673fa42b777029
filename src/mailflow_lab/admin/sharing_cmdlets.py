"""Exchange Online cmdlets for sharing: sharing policies, a mailbox's policy, organisation relationships."""

from __future__ import annotations

import copy
from typing import Any

from ..world.datafile import parse_domain
from ..world.model import CALENDAR_ACCESS_LEVELS, OrganizationRelationship, SharingPolicy
from ..world.rules import (
    FREE_BUSY_ACCESS_LEVELS,
    MAIL_TIPS_ACCESS_LEVELS,
    parse_sharing_domain,
    sharing_domain_text,
)
from .binder import Cmdlet, CmdletError, Context, Param, add_remove
from .objects import PSObject
from .tenant_cmdlets import (
    IDENTITY,
    IDENTITY_MANDATORY,
    PROPAGATION,
    find_mailbox,
    find_named,
    not_found,
    tenant,
)


# -- sharing policies ------------------------------------------------------------------------------
def _policy_object(policy: SharingPolicy) -> PSObject:
    props = {
        "Name": policy.name,
        "Domains": [sharing_domain_text(d, a) for d, a in policy.domains.items()],
        "Enabled": policy.enabled,
        "Default": policy.default,
        "Identity": policy.name,
    }
    return PSObject("SharingPolicy", props, ("Name", "Domains", "Enabled", "Default"))


def _find_policy(ctx: Context, identity: str) -> SharingPolicy:
    policy = tenant(ctx).sharing_policy(identity)
    if policy is None:
        raise not_found(identity)
    return policy


def _domains(entries: list[str], current: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """-Domains 'fabrikam.com: CalendarSharingFreeBusyDetail', '*: ...' (or @{Add=...; Remove=...})."""
    domains = dict(current or {})
    for text in entries:
        try:
            domain, actions = parse_sharing_domain(text)
        except ValueError as exc:
            raise CmdletError(f"Cannot bind parameter 'Domains'. {exc}") from None
        domains[domain] = actions
    return domains


def _apply_domains(policy: SharingPolicy, value: Any) -> None:
    if isinstance(value, dict):  # @{Add=...; Remove=...}: Remove names the entry or only its domain
        domains = _domains(value.get("add", []), policy.domains)
        for text in value.get("remove", []):
            domain = text.partition(":")[0].strip()
            key = next((d for d in domains if d.lower() == domain.lower()), None)
            if key is None:
                raise CmdletError(f"The sharing policy '{policy.name}' has no entry for '{domain}'.")
            del domains[key]
        policy.domains = domains
    else:
        policy.domains = _domains(value)


def _make_default(ctx: Context, policy: SharingPolicy) -> None:
    for other in tenant(ctx).sharing_policies:
        other.default = other is policy


def new_sharing_policy(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    name = p["Name"]
    if tenant(ctx).sharing_policy(name) is not None:
        raise CmdletError(f"The sharing policy '{name}' already exists.")
    policy = SharingPolicy(name, _domains(p["Domains"]), enabled=p.get("Enabled", True))
    tenant(ctx).sharing_policies.append(policy)
    if p.get("Default"):
        _make_default(ctx, policy)
    ctx.changed = True
    return [_policy_object(policy)]


def set_sharing_policy(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    policy = _find_policy(ctx, p["Identity"])
    if "Name" in p and p["Name"].lower() != policy.name.lower():
        if tenant(ctx).sharing_policy(p["Name"]) is not None:
            raise CmdletError(f"The sharing policy '{p['Name']}' already exists.")
        for mailbox in tenant(ctx).mailboxes:
            if mailbox.sharing_policy and mailbox.sharing_policy.lower() == policy.name.lower():
                mailbox.sharing_policy = p["Name"]
        policy.name = p["Name"]
    if "Domains" in p:
        _apply_domains(policy, p["Domains"])
    if "Enabled" in p:
        policy.enabled = p["Enabled"]
    if p.get("Default"):
        _make_default(ctx, policy)
    ctx.warn_once("sharing", PROPAGATION.replace("SMTP session", "free/busy or calendar request"))
    ctx.changed = True
    return []


def get_sharing_policy(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "Identity" in p:
        return [_policy_object(_find_policy(ctx, p["Identity"]))]
    return [_policy_object(policy) for policy in tenant(ctx).sharing_policies]


def remove_sharing_policy(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    policy = _find_policy(ctx, p["Identity"])
    users = [
        m.address for m in tenant(ctx).mailboxes if (m.sharing_policy or "").lower() == policy.name.lower()
    ]
    if policy.default or users:
        # Lab wording: a policy still in force (the default, or assigned to mailboxes) stays.
        raise CmdletError(
            f"The sharing policy '{policy.name}' can't be removed because it's the default policy or it's "
            f"still assigned to {len(users)} mailbox(es)."
        )
    tenant(ctx).sharing_policies.remove(policy)
    ctx.changed = True
    return []


# -- Set-Mailbox -SharingPolicy --------------------------------------------------------------------
def set_mailbox(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    mailbox = find_mailbox(ctx, p["Identity"])
    if "SharingPolicy" in p:
        name = p["SharingPolicy"]
        # $null: the mailbox goes back to the tenant's default sharing policy.
        mailbox.sharing_policy = None if name is None else _find_policy(ctx, name).name
        ctx.warn_once("sharing", PROPAGATION.replace("SMTP session", "free/busy or calendar request"))
    ctx.changed = True
    return []


# -- Get-/Set-MailboxFolderPermission on the calendar's Default entry ------------------------------------
def _calendar_owner(ctx: Context, identity: str) -> Any:
    owner, sep, folder = identity.partition(":")
    if not sep or folder.strip("\\/").lower() != "calendar":
        # Lab wording: the lab models each mailbox's calendar folder only.
        raise CmdletError(f"The lab models the calendar folder only: use -Identity '{owner}:\\Calendar'.")
    return find_mailbox(ctx, owner)


def _folder_permission(mailbox: Any) -> PSObject:
    props = {
        "FolderName": "Calendar",
        "User": "Default",
        "AccessRights": [mailbox.calendar_default_access],
        "Identity": f"{mailbox.address}:\\Calendar",
    }
    return PSObject("MailboxFolderPermission", props, ("FolderName", "User", "AccessRights"))


def get_mailbox_folder_permission(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    return [_folder_permission(_calendar_owner(ctx, p["Identity"]))]


def set_mailbox_folder_permission(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    mailbox = _calendar_owner(ctx, p["Identity"])
    if p["User"].lower() != "default":
        raise CmdletError(
            "The lab models the calendar's Default entry only (what free/busy lookups from outside may "
            "see): use -User Default."
        )
    # [SHARING]: a user's own calendar permissions still apply to what an organisation relationship shows.
    mailbox.calendar_default_access = p["AccessRights"]
    ctx.changed = True
    return []


# -- organisation relationships --------------------------------------------------------------------
RELATIONSHIP_FIELDS = {
    "FreeBusyAccessEnabled": "free_busy_access_enabled",
    "FreeBusyAccessLevel": "free_busy_access_level",
    "MailTipsAccessEnabled": "mail_tips_access_enabled",
    "MailTipsAccessLevel": "mail_tips_access_level",
    "Enabled": "enabled",
}


def _relationship_object(relationship: OrganizationRelationship) -> PSObject:
    props = {
        "Name": relationship.name,
        "DomainNames": list(relationship.domain_names),
        "FreeBusyAccessEnabled": relationship.free_busy_access_enabled,
        "FreeBusyAccessLevel": relationship.free_busy_access_level,
        "MailTipsAccessEnabled": relationship.mail_tips_access_enabled,
        "MailTipsAccessLevel": relationship.mail_tips_access_level,
        "Enabled": relationship.enabled,
        "Identity": relationship.name,
    }
    return PSObject(
        "OrganizationRelationship",
        props,
        ("Name", "DomainNames", "FreeBusyAccessEnabled", "FreeBusyAccessLevel"),
    )


def _find_relationship(ctx: Context, identity: str) -> OrganizationRelationship:
    return find_named(tenant(ctx).organization_relationships, identity)


def _apply_relationship(ctx: Context, relationship: OrganizationRelationship, p: dict[str, Any]) -> None:
    if "DomainNames" in p:
        value = p["DomainNames"]
        names = add_remove(relationship.domain_names, value) if isinstance(value, dict) else list(value)
        try:
            relationship.domain_names = [parse_domain(n) for n in names]
        except ValueError:
            raise CmdletError(
                f"Cannot bind parameter 'DomainNames'. '{', '.join(names)}' is not a domain name."
            ) from None
        if not relationship.domain_names:
            raise CmdletError("DomainNames: name at least one domain of the partner organisation.")
    for param, field_name in RELATIONSHIP_FIELDS.items():
        if param in p:
            setattr(relationship, field_name, p[param])
    t = tenant(ctx)
    for domain in relationship.domain_names:
        if t.is_accepted(domain):
            raise CmdletError(f"The domain '{domain}' is an accepted domain of your organization.")
        for other in t.organization_relationships:
            if other is not relationship and other.name.lower() != relationship.name.lower():
                if domain in other.domain_names:
                    raise CmdletError(
                        f"The domain '{domain}' is already used by the organization relationship "
                        f"'{other.name}'."
                    )
    ctx.warn_once("sharing", PROPAGATION.replace("SMTP session", "free/busy or calendar request"))
    ctx.changed = True


def new_organization_relationship(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    name = p["Name"]
    if any(r.name.lower() == name.lower() for r in tenant(ctx).organization_relationships):
        raise CmdletError(f"The organization relationship '{name}' already exists.")
    relationship = OrganizationRelationship(name, [])
    _apply_relationship(ctx, relationship, p)
    tenant(ctx).organization_relationships.append(relationship)
    return [_relationship_object(relationship)]


def set_organization_relationship(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    relationship = _find_relationship(ctx, p["Identity"])
    updated = copy.deepcopy(relationship)
    _apply_relationship(ctx, updated, p)
    relationship.__dict__.update(updated.__dict__)
    return []


def get_organization_relationship(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "Identity" in p:
        return [_relationship_object(_find_relationship(ctx, p["Identity"]))]
    return [_relationship_object(r) for r in tenant(ctx).organization_relationships]


def remove_organization_relationship(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    relationship = _find_relationship(ctx, p["Identity"])
    tenant(ctx).organization_relationships.remove(relationship)
    ctx.changed = True
    return []


# [SHARING] (reference sheet, "Sharing and organisation relationships"): the parameters of each cmdlet.
_POLICY_SETTINGS = (Param("Domains", "list"), Param("Enabled", "bool"), Param("Default", "switch"))
_RELATIONSHIP_SETTINGS = (
    Param("DomainNames", "list"),
    Param("FreeBusyAccessEnabled", "bool"),
    Param("FreeBusyAccessLevel", "choice", choices=FREE_BUSY_ACCESS_LEVELS),
    Param("MailTipsAccessEnabled", "bool"),
    Param("MailTipsAccessLevel", "choice", choices=MAIL_TIPS_ACCESS_LEVELS),
    Param("Enabled", "bool"),
)

CMDLETS = [
    Cmdlet(
        "New-SharingPolicy",
        (
            Param("Name", mandatory=True, position=0),
            Param("Domains", "list", mandatory=True),
            *_POLICY_SETTINGS[1:],
        ),
        new_sharing_policy,
    ),
    Cmdlet(
        "Set-SharingPolicy",
        (IDENTITY_MANDATORY, Param("Name"), *_POLICY_SETTINGS),
        set_sharing_policy,
        takes_pipeline_identity=True,
    ),
    Cmdlet("Get-SharingPolicy", (IDENTITY,), get_sharing_policy),
    Cmdlet(
        "Remove-SharingPolicy", (IDENTITY_MANDATORY,), remove_sharing_policy, takes_pipeline_identity=True
    ),
    Cmdlet(
        "Set-Mailbox",
        (IDENTITY_MANDATORY, Param("SharingPolicy")),
        set_mailbox,
        takes_pipeline_identity=True,
    ),
    Cmdlet("Get-MailboxFolderPermission", (IDENTITY_MANDATORY, Param("User")), get_mailbox_folder_permission),
    Cmdlet(
        "Set-MailboxFolderPermission",
        (
            IDENTITY_MANDATORY,
            Param("User", mandatory=True),
            Param("AccessRights", "choice", mandatory=True, choices=CALENDAR_ACCESS_LEVELS),
        ),
        set_mailbox_folder_permission,
    ),
    Cmdlet(
        "New-OrganizationRelationship",
        (
            Param("Name", mandatory=True, position=0),
            Param("DomainNames", "list", mandatory=True),
            *_RELATIONSHIP_SETTINGS[1:],
        ),
        new_organization_relationship,
    ),
    Cmdlet(
        "Set-OrganizationRelationship",
        (IDENTITY_MANDATORY, *_RELATIONSHIP_SETTINGS),
        set_organization_relationship,
        takes_pipeline_identity=True,
    ),
    Cmdlet("Get-OrganizationRelationship", (IDENTITY,), get_organization_relationship),
    Cmdlet(
        "Remove-OrganizationRelationship",
        (IDENTITY_MANDATORY,),
        remove_organization_relationship,
        takes_pipeline_identity=True,
    ),
]
