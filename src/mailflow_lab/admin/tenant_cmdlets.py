"""Exchange Online cmdlets for the tenant: transport and org config, mailboxes, domains, SendAs, DKIM."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from ..world.model import AcceptedDomain, Mailbox, Tenant
from .binder import Cmdlet, CmdletError, Context, Param
from .objects import PSObject


class _HasName(Protocol):
    name: str


_Named = TypeVar("_Named", bound=_HasName)

# A made-up but well-formed Exchange Online domain controller, as in "couldn't be found on '...'".
DOMAIN_CONTROLLER = "AM4PR05A001DC01.EURPRD05.PROD.OUTLOOK.COM"
PROPAGATION = (
    "In Microsoft 365 this change can take up to 30 minutes (sometimes longer) to reach every server. "
    "The lab applies it to the next SMTP session."
)


def not_found(identity: str) -> CmdletError:
    return CmdletError(
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{DOMAIN_CONTROLLER}'."
    )


def tenant(ctx: Context) -> Tenant:
    return ctx.runtime.world.tenant


def find_named(items: Iterable[_Named], identity: str) -> _Named:
    """The object of a tenant collection (connectors, relationships...) named `identity`, any case."""
    for item in items:
        if item.name.lower() == identity.lower():
            return item
    raise not_found(identity)


def find_mailbox(ctx: Context, identity: str) -> Mailbox:
    """A mailbox by address, alias or display name, as Exchange's -Identity resolves it."""
    wanted = identity.lower()
    for mailbox in tenant(ctx).mailboxes:
        alias = mailbox.address.partition("@")[0]
        if wanted in (mailbox.address.lower(), alias.lower(), mailbox.display_name.lower()):
            return mailbox
    raise not_found(identity)


def _alias(mailbox: Mailbox) -> str:
    return mailbox.address.partition("@")[0]


# -- Get-/Set-TransportConfig ----------------------------------------------------------------------
def get_transport_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    settings = tenant(ctx).settings
    props = {
        "Identity": "Transport Settings",
        "SmtpClientAuthenticationDisabled": settings.smtp_client_authentication_disabled,
        "AllowLegacyTLSClients": settings.allow_legacy_tls_clients,
        "MaxSendSize": "35 MB (36,700,160 bytes)",
        "MaxReceiveSize": "36 MB (37,748,736 bytes)",
        "MaxRecipientEnvelopeLimit": 500,
    }
    return [PSObject("TransportConfig", props)]


def set_transport_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    settings = tenant(ctx).settings
    if "SmtpClientAuthenticationDisabled" in p:
        settings.smtp_client_authentication_disabled = p["SmtpClientAuthenticationDisabled"]
        ctx.warn_once("smtp-auth", PROPAGATION)
    if "AllowLegacyTLSClients" in p:
        settings.allow_legacy_tls_clients = p["AllowLegacyTLSClients"]
    ctx.changed = True
    return []


# -- Get-/Set-OrganizationConfig -------------------------------------------------------------------
def get_organization_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    t = tenant(ctx)
    props = {
        "Name": t.initial_domain,
        "DisplayName": t.name,
        "Identity": t.initial_domain,
        "RejectDirectSend": t.settings.reject_direct_send,
        "OAuth2ClientProfileEnabled": True,
    }
    return [PSObject("OrganizationConfig", props)]


def set_organization_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "RejectDirectSend" in p:
        tenant(ctx).settings.reject_direct_send = p["RejectDirectSend"]
    ctx.changed = True
    return []


# -- Get-/Set-CASMailbox, Get-Mailbox --------------------------------------------------------------
def _cas(mailbox: Mailbox) -> PSObject:
    props = {
        "Name": _alias(mailbox),
        "Identity": _alias(mailbox),
        "PrimarySmtpAddress": mailbox.address,
        "ActiveSyncEnabled": True,
        "OWAEnabled": True,
        "PopEnabled": True,
        "ImapEnabled": True,
        "MapiEnabled": True,
        "SmtpClientAuthenticationDisabled": mailbox.smtp_client_authentication_disabled,
    }
    columns = (
        "Name",
        "ActiveSyncEnabled",
        "OWAEnabled",
        "PopEnabled",
        "ImapEnabled",
        "MapiEnabled",
        "SmtpClientAuthenticationDisabled",
    )
    return PSObject("CASMailbox", props, columns)


def _mailboxes(ctx: Context, p: dict[str, Any]) -> list[Mailbox]:
    if "Identity" in p:
        return [find_mailbox(ctx, p["Identity"])]
    return list(tenant(ctx).mailboxes)


def get_cas_mailbox(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    return [_cas(m) for m in _mailboxes(ctx, p)]


def set_cas_mailbox(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    mailbox = find_mailbox(ctx, p["Identity"])
    if "SmtpClientAuthenticationDisabled" in p:
        # $null: follow the tenant; $true/$false: this mailbox's own setting wins ([AUTHSMTP]).
        mailbox.smtp_client_authentication_disabled = p["SmtpClientAuthenticationDisabled"]
        ctx.warn_once("smtp-auth", PROPAGATION)
    ctx.changed = True
    return []


def get_mailbox(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    out = []
    for mailbox in _mailboxes(ctx, p):
        props = {
            "Name": _alias(mailbox),
            "Alias": _alias(mailbox),
            "DisplayName": mailbox.display_name,
            "PrimarySmtpAddress": mailbox.address,
            "RecipientTypeDetails": "SharedMailbox" if mailbox.mailbox_type == "Shared" else "UserMailbox",
            "SharingPolicy": mailbox.sharing_policy,  # empty: the default sharing policy applies
            "Identity": _alias(mailbox),
        }
        out.append(
            PSObject("Mailbox", props, ("Name", "Alias", "RecipientTypeDetails", "PrimarySmtpAddress"))
        )
    return out


# -- accepted domains ------------------------------------------------------------------------------
def _domain(domain: AcceptedDomain) -> PSObject:
    props = {
        "Name": domain.name,
        "DomainName": domain.name,
        "DomainType": domain.domain_type,
        "Default": domain.default,
        "Identity": domain.name,
    }
    return PSObject("AcceptedDomain", props, ("Name", "DomainName", "DomainType", "Default"))


def get_accepted_domain(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    domains = tenant(ctx).accepted_domains
    if "Identity" in p:
        domains = [d for d in domains if d.name == p["Identity"].lower()]
        if not domains:
            raise not_found(p["Identity"])
    return [_domain(d) for d in domains]


def new_accepted_domain(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    name = p["DomainName"].lower().rstrip(".")
    if tenant(ctx).is_accepted(name):
        raise CmdletError(f"The accepted domain '{name}' already exists.")
    domain = AcceptedDomain(name, p.get("DomainType", "Authoritative"))
    tenant(ctx).accepted_domains.append(domain)
    ctx.changed = True
    return [_domain(domain)]


def remove_accepted_domain(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    t = tenant(ctx)
    name = p["Identity"].lower()
    domain = next((d for d in t.accepted_domains if d.name == name), None)
    if domain is None:
        raise not_found(p["Identity"])
    users = [m.address for m in t.mailboxes if m.address.endswith("@" + name)]
    if name == t.initial_domain or users or domain.default:
        # Lab wording: Exchange refuses to remove a domain in use (initial, default, or with recipients).
        raise CmdletError(
            f"The accepted domain '{name}' can't be removed because it's the initial or default domain or "
            f"it's still used by {len(users)} recipient(s)."
        )
    t.accepted_domains.remove(domain)
    ctx.changed = True
    return []


# -- SendAs ----------------------------------------------------------------------------------------
def _permission(target: Mailbox, trustee: str) -> PSObject:
    props = {
        "Identity": target.display_name or _alias(target),
        "Trustee": trustee,
        "AccessControlType": "Allow",
        "AccessRights": ["SendAs"],
        "IsInherited": False,
        "InheritanceType": "None",
    }
    return PSObject(
        "RecipientPermission", props, ("Identity", "Trustee", "AccessControlType", "AccessRights")
    )


def add_recipient_permission(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    target = find_mailbox(ctx, p["Identity"])
    trustee = find_mailbox(ctx, p["Trustee"])
    if trustee.address not in target.send_as_trustees:
        target.send_as_trustees.append(trustee.address)
    ctx.changed = True
    ctx.warn_once(
        "send-as",
        "SendAs permissions can take up to an hour to apply in Microsoft 365; the lab "
        "applies them to the next message.",
    )
    return [_permission(target, trustee.address)]


def get_recipient_permission(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    out = []
    trustee = find_mailbox(ctx, p["Trustee"]).address if "Trustee" in p else None
    for target in _mailboxes(ctx, p):
        for who in target.send_as_trustees:
            if trustee is None or who == trustee:
                out.append(_permission(target, who))
    return out


def remove_recipient_permission(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    target = find_mailbox(ctx, p["Identity"])
    trustee = find_mailbox(ctx, p["Trustee"])
    if trustee.address not in target.send_as_trustees:
        raise CmdletError(
            f"Can't remove the access control entry on the object '{target.address}' for account "
            f"'{trustee.address}' because the ACE doesn't exist on the object."
        )
    target.send_as_trustees.remove(trustee.address)
    ctx.changed = True
    return []


# -- DKIM ------------------------------------------------------------------------------------------
def _dkim(ctx: Context, domain: str) -> PSObject:
    config = tenant(ctx).dkim_for(domain)
    if config is None:
        raise not_found(domain)
    props = {
        "Domain": config.domain,
        "Enabled": config.enabled,
        "Status": "Valid" if config.enabled else "Disabled",
        "Selector1CNAME": config.public_key_name("selector1"),
        "Selector2CNAME": config.public_key_name("selector2"),
        "Identity": config.domain,
    }
    return PSObject("DkimSigningConfig", props, ("Domain", "Enabled", "Status"))


def get_dkim_signing_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "Identity" in p:
        return [_dkim(ctx, p["Identity"].lower())]
    return [_dkim(ctx, c.domain) for c in tenant(ctx).dkim]


def set_dkim_signing_config(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    config = tenant(ctx).dkim_for(p["Identity"].lower())
    if config is None:
        raise not_found(p["Identity"])
    if "Enabled" in p:
        if p["Enabled"] and config.selector not in config.keys:
            raise CmdletError(
                f"No DKIM keys exist for '{config.domain}'. Create them with New-DkimSigningConfig."
            )
        config.enabled = p["Enabled"]
    ctx.changed = True
    return []


# -- Entra ID security defaults (Microsoft Graph PowerShell) ---------------------------------------
def get_security_defaults(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    props = {
        "Id": "00000000-0000-0000-0000-000000000005",
        "DisplayName": "Security Defaults",
        "IsEnabled": tenant(ctx).settings.security_defaults,
    }
    return [PSObject("IdentitySecurityDefaultsEnforcementPolicy", props)]


def update_security_defaults(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    enabled = p.get("IsEnabled")
    body = p.get("BodyParameter")
    if body is not None:
        raise CmdletError("The lab takes -IsEnabled $true or -IsEnabled $false (not -BodyParameter).")
    if enabled is None:
        raise CmdletError(
            "Cannot process command because of one or more missing mandatory parameters: IsEnabled."
        )
    tenant(ctx).settings.security_defaults = enabled
    ctx.changed = True
    return []


IDENTITY = Param("Identity", position=0)
IDENTITY_MANDATORY = Param("Identity", mandatory=True, position=0)

CMDLETS = [
    Cmdlet("Get-TransportConfig", (), get_transport_config),
    Cmdlet(
        "Set-TransportConfig",
        (Param("SmtpClientAuthenticationDisabled", "bool"), Param("AllowLegacyTLSClients", "bool")),
        set_transport_config,
    ),
    Cmdlet("Get-OrganizationConfig", (), get_organization_config),
    Cmdlet("Set-OrganizationConfig", (Param("RejectDirectSend", "bool"),), set_organization_config),
    Cmdlet("Get-CASMailbox", (IDENTITY, Param("ResultSize", "int")), get_cas_mailbox),
    Cmdlet(
        "Set-CASMailbox",
        (IDENTITY_MANDATORY, Param("SmtpClientAuthenticationDisabled", "nullable-bool")),
        set_cas_mailbox,
        takes_pipeline_identity=True,
    ),
    Cmdlet("Get-Mailbox", (IDENTITY, Param("ResultSize", "int")), get_mailbox),
    Cmdlet("Get-AcceptedDomain", (IDENTITY,), get_accepted_domain),
    Cmdlet(
        "New-AcceptedDomain",
        (
            Param("Name", mandatory=True, position=0),
            Param("DomainName", mandatory=True),
            Param("DomainType", "choice", choices=("Authoritative", "InternalRelay", "ExternalRelay")),
        ),
        new_accepted_domain,
    ),
    Cmdlet(
        "Remove-AcceptedDomain", (IDENTITY_MANDATORY,), remove_accepted_domain, takes_pipeline_identity=True
    ),
    Cmdlet(
        "Add-RecipientPermission",
        (
            IDENTITY_MANDATORY,
            Param("Trustee", mandatory=True),
            Param("AccessRights", "choice", mandatory=True, choices=("SendAs",)),
        ),
        add_recipient_permission,
    ),
    Cmdlet(
        "Get-RecipientPermission",
        (IDENTITY, Param("Trustee"), Param("AccessRights", "choice", choices=("SendAs",))),
        get_recipient_permission,
    ),
    Cmdlet(
        "Remove-RecipientPermission",
        (
            IDENTITY_MANDATORY,
            Param("Trustee", mandatory=True),
            Param("AccessRights", "choice", mandatory=True, choices=("SendAs",)),
        ),
        remove_recipient_permission,
    ),
    Cmdlet("Get-DkimSigningConfig", (IDENTITY,), get_dkim_signing_config),
    Cmdlet(
        "Set-DkimSigningConfig",
        (IDENTITY_MANDATORY, Param("Enabled", "bool")),
        set_dkim_signing_config,
        takes_pipeline_identity=True,
    ),
    Cmdlet("Get-MgPolicyIdentitySecurityDefaultEnforcementPolicy", (), get_security_defaults),
    Cmdlet(
        "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy",
        (Param("IsEnabled", "bool"), Param("BodyParameter")),
        update_security_defaults,
    ),
]
