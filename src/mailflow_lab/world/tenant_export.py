"""The JSON files Export-MailflowLabTenant.ps1 writes, made from a world's tenant (tests, bench, sample)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import Tenant


def write_export_file(folder: Path, name: str, value: Any) -> None:
    """One export file as ConvertTo-Json writes it (UTF-8 with a BOM; a list of one becomes one object)."""
    # ConvertTo-Json: one object stays an object, several become a list.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    (folder / name).write_text(json.dumps(value, indent=4), encoding="utf-8-sig")


def export_tenant(folder: Path, tenant: Tenant, dns: list[dict[str, Any]] | None = None) -> Path:
    """What Export-MailflowLabTenant.ps1 writes for `tenant`, with the documented property names."""
    folder.mkdir(parents=True, exist_ok=True)
    write_export_file(
        folder,
        "Get-AcceptedDomain.json",
        [
            {
                "Name": d.name,
                "DomainName": d.name,
                "DomainType": d.domain_type,
                "Default": d.default,
                "InitialDomain": d.name == tenant.initial_domain,
            }
            for d in tenant.accepted_domains
        ],
    )
    s = tenant.settings
    write_export_file(
        folder,
        "Get-TransportConfig.json",
        {
            "SmtpClientAuthenticationDisabled": s.smtp_client_authentication_disabled,
            "AllowLegacyTLSClients": s.allow_legacy_tls_clients,
        },
    )
    write_export_file(
        folder,
        "Get-OrganizationConfig.json",
        {"Name": tenant.initial_domain, "DisplayName": tenant.name, "RejectDirectSend": s.reject_direct_send},
    )
    write_export_file(
        folder,
        "Get-Mailbox.json",
        [
            {
                "Identity": m.address.split("@")[0],
                "Name": m.address.split("@")[0],
                "Alias": m.address.split("@")[0],
                "DisplayName": m.display_name,
                "UserPrincipalName": m.address,
                "PrimarySmtpAddress": m.address,
                "RecipientTypeDetails": f"{m.mailbox_type}Mailbox",
                "EmailAddresses": [f"SMTP:{m.address}"],
                "SharingPolicy": m.sharing_policy,
            }
            for m in tenant.mailboxes
        ],
    )
    write_export_file(
        folder,
        "Get-CASMailbox.json",
        [
            {
                "Identity": m.address.split("@")[0],
                "PrimarySmtpAddress": m.address,
                "SmtpClientAuthenticationDisabled": m.smtp_client_authentication_disabled,
            }
            for m in tenant.mailboxes
        ],
    )
    write_export_file(
        folder,
        "Get-RecipientPermission.json",
        [
            {
                "Identity": m.address.split("@")[0],
                "Trustee": t,
                "AccessControlType": "Allow",
                "AccessRights": ["SendAs"],
                "IsInherited": False,
            }
            for m in tenant.mailboxes
            for t in m.send_as_trustees
        ]
        + [
            {
                "Identity": tenant.mailboxes[0].address.split("@")[0],
                "Trustee": "NT AUTHORITY\\SELF",
                "AccessControlType": "Allow",
                "AccessRights": ["SendAs"],
                "IsInherited": False,
            }
        ],
    )
    write_export_file(
        folder,
        "Get-InboundConnector.json",
        [
            {
                "Name": c.name,
                "Enabled": c.enabled,
                "ConnectorType": c.connector_type,
                "SenderIPAddresses": [str(n) for n in c.sender_ip_addresses],
                "SenderDomains": [f"smtp:{d};1" for d in c.sender_domains],
                "TlsSenderCertificateName": c.tls_sender_certificate_name,
                "RequireTls": c.require_tls,
                "RestrictDomainsToIPAddresses": c.restrict_domains_to_ip_addresses,
                "RestrictDomainsToCertificate": c.restrict_domains_to_certificate,
                "EFSkipLastIP": c.ef_skip_last_ip,
                "EFSkipIPs": [str(n) for n in c.ef_skip_ips],
                "EFUsers": c.ef_users,
                "TreatMessagesAsInternal": c.treat_messages_as_internal,
            }
            for c in tenant.inbound_connectors
        ],
    )
    write_export_file(
        folder,
        "Get-OutboundConnector.json",
        [
            {
                "Name": o.name,
                "Enabled": o.enabled,
                "ConnectorType": o.connector_type,
                "RecipientDomains": o.recipient_domains,
                "SmartHosts": o.smart_hosts,
                "UseMXRecord": o.use_mx_record,
                "TlsSettings": o.tls_settings,
                "TlsDomain": o.tls_domain,
                "IsTransportRuleScoped": False,
                "RouteAllMessagesViaOnPremises": o.route_all_messages_via_on_premises,
            }
            for o in tenant.outbound_connectors
        ],
    )
    write_export_file(
        folder,
        "Get-DkimSigningConfig.json",
        [
            {
                "Domain": k.domain,
                "Enabled": k.enabled,
                "Selector1CNAME": k.public_key_name("selector1") if k.key_domain else None,
                "Selector2CNAME": k.public_key_name("selector2") if k.key_domain else None,
            }
            for k in tenant.dkim
        ],
    )
    write_export_file(
        folder,
        "Get-SharingPolicy.json",
        [
            {
                "Name": p.name,
                "Domains": [f"{d}:{','.join(a)}" for d, a in p.domains.items()],
                "Enabled": p.enabled,
                "Default": p.default,
            }
            for p in tenant.sharing_policies
        ],
    )
    write_export_file(
        folder,
        "Get-OrganizationRelationship.json",
        [
            {
                "Name": r.name,
                "DomainNames": r.domain_names,
                "Enabled": r.enabled,
                "FreeBusyAccessEnabled": r.free_busy_access_enabled,
                "FreeBusyAccessLevel": r.free_busy_access_level,
                "MailTipsAccessEnabled": r.mail_tips_access_enabled,
                "MailTipsAccessLevel": r.mail_tips_access_level,
            }
            for r in tenant.organization_relationships
        ],
    )
    write_export_file(folder, "dns.json", dns if dns is not None else _dns(tenant))
    return folder


def _dns(tenant: Tenant) -> list[dict[str, Any]]:
    """Resolve-DnsName answers as the export script selects them (Type as a string)."""
    records: list[dict[str, Any]] = []
    for d in tenant.accepted_domains:
        mx = d.name.replace(".", "-") + ".mail.protection.outlook.com"
        records.append(
            {
                "Name": d.name,
                "Type": "MX",
                "Section": "Answer",
                "TTL": 3600,
                "NameExchange": mx,
                "Preference": 0,
            }
        )
        records.append(
            {
                "Name": d.name,
                "Type": "TXT",
                "Section": "Answer",
                "TTL": 3600,
                "Strings": ["v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"],
            }
        )
        records.append(
            {
                "Name": f"_dmarc.{d.name}",
                "Type": "TXT",
                "Section": "Answer",
                "TTL": 3600,
                "Strings": [f"v=DMARC1; p=none; rua=mailto:dmarc@{d.name}"],
            }
        )
    for k in tenant.dkim:
        if k.key_domain:
            for selector in ("selector1", "selector2"):
                records.append(
                    {
                        "Name": f"{selector}._domainkey.{k.domain}",
                        "Type": "CNAME",
                        "Section": "Answer",
                        "NameHost": k.public_key_name(selector),
                    }
                )
                records.append(
                    {
                        "Name": k.public_key_name(selector),
                        "Type": "TXT",
                        "Section": "Answer",
                        "Strings": ["v=DKIM1; k=rsa; p=MIIBIjANBgkq"],
                    }
                )
    return records
