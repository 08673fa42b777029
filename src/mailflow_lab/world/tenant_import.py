"""A tenant from an Export-MailflowLabTenant.ps1 folder: each cmdlet's JSON read into the world's model."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from .datafile import LabDataError, parse_domain, parse_email, parse_network
from .exportfile import ExportFile, Row, Warnings
from .model import (
    AcceptedDomain,
    DkimSigningConfig,
    InboundConnector,
    IPNetwork,
    Mailbox,
    OrganizationRelationship,
    OrgSettings,
    OutboundConnector,
    SharingPolicy,
    Tenant,
    default_sharing_policies,
)
from .rules import (
    FREE_BUSY_ACCESS_LEVELS,
    MAIL_TIPS_ACCESS_LEVELS,
    connector_problem,
    outbound_connector_problem,
    parse_sharing_domain,
)

_CIDR = "an IPv4 address, range (a-b) or CIDR block such as 203.0.113.0/24"
_DOMAIN = "a domain name such as contoso.com"
_EMAIL = "an email address such as alex@contoso.com"
_CONNECTOR_TYPES = ("OnPremises", "Partner")
_TLS_SETTINGS = ("EncryptionOnly", "CertificateValidation", "DomainValidation")
# Get-Mailbox RecipientTypeDetails: a resource mailbox has no sign-in either, as a shared one.
_MAILBOX_TYPES = {"UserMailbox": "User", "SharedMailbox": "Shared", "RoomMailbox": "Shared",
                  "EquipmentMailbox": "Shared"}  # fmt: skip
# The lab's key of a connector rule -> the Exchange property an admin sees.
_PROPERTY = {
    "sender_ip_addresses": "SenderIPAddresses", "tls_sender_certificate_name": "TlsSenderCertificateName",
    "ef_skip_ips": "EFSkipIPs", "ef_users": "EFUsers", "smart_hosts": "SmartHosts",
    "recipient_domains": "RecipientDomains", "tls_settings": "TlsSettings", "tls_domain": "TlsDomain",
    "use_mx_record": "UseMXRecord", "sender_domains": "SenderDomains",
}  # fmt: skip


@dataclass
class DnsRecord:
    """One record Resolve-DnsName answered: MX (preference, host), TXT (strings), CNAME (target)."""

    name: str
    rtype: str
    data: tuple[str, ...]


@dataclass
class ImportedTenant:
    """What an export folder holds that the lab models, and what it could not carry (warnings)."""

    tenant: Tenant
    records: list[DnsRecord]
    warnings: Warnings
    # Get-DkimSigningConfig's selectors the lab makes keys for, per domain.
    dkim_selectors: dict[str, list[str]] = field(default_factory=dict)


def read_export(folder: Path) -> ImportedTenant:
    """Every export file of `folder` read; a malformed one raises LabDataError naming file and property."""
    if not folder.is_dir():
        raise LabDataError(
            folder, "", "is not a folder (expected the output of Export-MailflowLabTenant.ps1)"
        )
    warnings = Warnings()

    def export(name: str, required: bool = False) -> ExportFile:
        return ExportFile(folder, name, warnings, required)

    domains, initial = _accepted_domains(export("Get-AcceptedDomain.json", required=True))
    settings = OrgSettings()
    for row in export("Get-TransportConfig.json").rows():
        settings.smtp_client_authentication_disabled = row.bool("SmtpClientAuthenticationDisabled", True)
        settings.allow_legacy_tls_clients = row.bool("AllowLegacyTLSClients", False)
        row.done()
    name = initial.split(".")[0]
    for row in export("Get-OrganizationConfig.json").rows():
        name = row.str("DisplayName") or row.str("Name") or name
        settings.reject_direct_send = row.bool("RejectDirectSend", False)
        row.done()
    tenant = Tenant(name, initial, domains, settings, [])
    mailboxes = _mailboxes(tenant, export("Get-Mailbox.json", required=True))
    _cas_mailboxes(tenant, export("Get-CASMailbox.json"))
    _send_as(mailboxes, export("Get-RecipientPermission.json"))
    tenant.inbound_connectors = [_inbound(tenant, r) for r in export("Get-InboundConnector.json").rows()]
    tenant.outbound_connectors = [_outbound(r) for r in export("Get-OutboundConnector.json").rows()]
    imported = ImportedTenant(tenant, [], warnings)
    tenant.dkim = [_dkim(tenant, imported, r) for r in export("Get-DkimSigningConfig.json").rows()]
    policies = export("Get-SharingPolicy.json")
    tenant.sharing_policies = [_sharing_policy(r) for r in policies.rows()] if len(policies) else []
    if not policies.path.exists():
        tenant.sharing_policies = default_sharing_policies()
    names = {p.name.lower() for p in tenant.sharing_policies}
    for mailbox in tenant.mailboxes:
        if mailbox.sharing_policy is not None and mailbox.sharing_policy.lower() not in names:
            warnings.add("Get-Mailbox.json", "SharingPolicy", "names a policy not in Get-SharingPolicy.json; "
                         "the tenant's default applies in the lab")  # fmt: skip
            mailbox.sharing_policy = None
    tenant.organization_relationships = [
        _relationship(r) for r in export("Get-OrganizationRelationship.json").rows()
    ]
    imported.records = _dns(tenant, export("dns.json"))
    return imported


def _accepted_domains(file: ExportFile) -> tuple[list[AcceptedDomain], str]:
    domains: list[AcceptedDomain] = []
    initial = ""
    for row in file.rows():
        row.raw("Name")  # the display name; the lab knows a domain by DomainName
        domain = AcceptedDomain(
            name=row.parsed("DomainName", parse_domain, _DOMAIN, required=True),
            domain_type=row.choice(
                "DomainType", ("Authoritative", "InternalRelay", "ExternalRelay"), "Authoritative"
            ),  # fmt: skip
            default=row.bool("Default", False),
        )
        if row.bool("InitialDomain", False):
            initial = domain.name
        if any(d.name == domain.name for d in domains):
            raise row.error("DomainName", f"{domain.name} is listed twice")
        domains.append(domain)
        row.done()
    if not domains:
        raise LabDataError(file.path, "", "no accepted domain (expected at least the initial domain)")
    if not initial:  # older exports: the *.onmicrosoft.com domain that is not the mail. routing domain
        initial = next((d.name for d in domains if d.name.endswith(".onmicrosoft.com")
                        and not d.name.endswith(".mail.onmicrosoft.com")), "")  # fmt: skip
    if not initial:
        raise LabDataError(
            file.path, "InitialDomain", "no accepted domain is the initial (onmicrosoft.com) one"
        )
    return domains, initial


def _mailboxes(tenant: Tenant, file: ExportFile) -> dict[str, Mailbox]:
    """The mailboxes, and every name Get-RecipientPermission may use for each (Identity, Alias, UPN...)."""
    by_name: dict[str, Mailbox] = {}
    for row in file.rows():
        address = row.parsed("PrimarySmtpAddress", parse_email, _EMAIL, required=True)
        kind = row.str("RecipientTypeDetails", "UserMailbox")
        if kind not in _MAILBOX_TYPES:
            row.warn("RecipientTypeDetails", f"{kind} mailboxes are not modelled, not imported")
            row.done()
            continue
        if kind not in ("UserMailbox", "SharedMailbox"):
            row.warn("RecipientTypeDetails", f"a {kind} is imported as a shared mailbox (no sign-in)")
        domain = address.rpartition("@")[2]
        if not tenant.is_accepted(domain):
            raise row.error("PrimarySmtpAddress", f"{domain} is not an accepted domain of the tenant")
        if address in by_name:
            raise row.error("PrimarySmtpAddress", f"duplicate mailbox {address}")
        mailbox = Mailbox(
            address=address,
            display_name=row.str("DisplayName", ""),
            mailbox_type=_MAILBOX_TYPES[kind],  # type: ignore[arg-type]
            sharing_policy=row.str("SharingPolicy"),
        )
        others = [a for a in row.strs("EmailAddresses") if a.lower() != f"smtp:{address}".lower()]
        if others:
            row.warn("EmailAddresses", "proxy addresses beyond PrimarySmtpAddress are not modelled")
        tenant.mailboxes.append(mailbox)
        by_name[address] = mailbox
        for prop in ("Identity", "Name", "Alias", "UserPrincipalName", "DisplayName"):
            value = row.str(prop)
            if value:
                by_name.setdefault(value.lower(), mailbox)
        row.done()
    return by_name


def _cas_mailboxes(tenant: Tenant, file: ExportFile) -> None:
    index = {m.address: m for m in tenant.mailboxes}
    for row in file.rows():
        address = row.parsed("PrimarySmtpAddress", parse_email, _EMAIL, required=True)
        row.raw("Identity")
        row.raw("Name")
        disabled = row.bool("SmtpClientAuthenticationDisabled", None)  # $null: follow the tenant
        mailbox = index.get(address)
        if mailbox is None:
            row.warn("PrimarySmtpAddress", "a CAS mailbox not in Get-Mailbox.json, not imported")
        else:
            mailbox.smtp_client_authentication_disabled = disabled
        row.done()


def _send_as(by_name: dict[str, Mailbox], file: ExportFile) -> None:
    for row in file.rows():
        identity = row.str("Identity", required=True)
        trustee = row.str("Trustee", required=True)
        rights = row.strs("AccessRights")
        allow = row.choice("AccessControlType", ("Allow", "Deny"), "Allow")
        row.bool("IsInherited", False)
        row.done()
        if "SendAs" not in rights:
            row.warn("AccessRights", "rights other than SendAs are not modelled")
            continue
        if allow == "Deny":
            row.warn("AccessControlType", "Deny entries are not modelled, not imported")
            continue
        mailbox, grantee = by_name.get(identity.lower()), by_name.get(trustee.lower())
        if mailbox is None:
            row.warn("Identity", "a recipient not in Get-Mailbox.json (SendAs not imported)")
        elif grantee is None:
            row.warn("Trustee", "not a mailbox of the tenant (e.g. NT AUTHORITY\\SELF), not imported")
        elif grantee is not mailbox and grantee.address not in mailbox.send_as_trustees:
            mailbox.send_as_trustees.append(grantee.address)


def _ip_range(text: str) -> IPNetwork:
    """SenderIPAddresses: 203.0.113.10, 203.0.113.0/24 or 203.0.113.1-203.0.113.9 (one CIDR block)."""
    if "-" in text:
        first, _, last = text.partition("-")
        blocks = list(ipaddress.summarize_address_range(ipaddress.ip_address(first.strip()),
                                                        ipaddress.ip_address(last.strip())))  # fmt: skip
        if len(blocks) != 1:
            raise ValueError(text)
        return blocks[0]
    return parse_network(text)


def _address_space(text: str) -> str:
    """SenderDomains as Exchange prints an address space ('smtp:*;1') or a plain domain -> '*' or domain."""
    text = text.strip()
    if text.lower().startswith("smtp:"):
        text = text[5:].rpartition(";")[0] or text[5:]
    if text == "*":
        return "*"
    return ("*." if text.startswith("*.") else "") + parse_domain(text.removeprefix("*."))


def _certificate(text: str) -> str:
    name = text.strip().lower().removeprefix("tls:")
    parse_domain(name.removeprefix("*."))
    return name


def _raise_problem(row: Row, problem: tuple[str, str] | None) -> None:
    if problem is not None:
        key, _, rest = problem[0].partition("[")
        raise row.error(_PROPERTY.get(key, key) + (f"[{rest}" if rest else ""), problem[1])


def _inbound(tenant: Tenant, row: Row) -> InboundConnector:
    connector = InboundConnector(
        name=row.str("Name", required=True),
        connector_type=row.choice("ConnectorType", _CONNECTOR_TYPES, "OnPremises"),
        sender_ip_addresses=row.parsed_list("SenderIPAddresses", _ip_range, _CIDR),
        sender_domains=row.parsed_list("SenderDomains", _address_space, f"* or {_DOMAIN}") or ["*"],
        tls_sender_certificate_name=row.parsed("TlsSenderCertificateName", _certificate, _DOMAIN),
        require_tls=row.bool("RequireTls", False),
        restrict_domains_to_ip_addresses=row.bool("RestrictDomainsToIPAddresses", False),
        restrict_domains_to_certificate=row.bool("RestrictDomainsToCertificate", False),
        enabled=row.bool("Enabled", True),
        ef_skip_last_ip=row.bool("EFSkipLastIP", False),
        ef_skip_ips=row.parsed_list("EFSkipIPs", _ip_range, _CIDR),
        ef_users=[a.lower() for a in row.parsed_list("EFUsers", parse_email, _EMAIL)],
        treat_messages_as_internal=row.bool("TreatMessagesAsInternal", False),
    )
    _raise_problem(row, connector_problem(tenant, connector))
    row.done()
    return connector


def _smart_host(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return parse_domain(text)


def _outbound(row: Row) -> OutboundConnector:
    connector = OutboundConnector(
        name=row.str("Name", required=True),
        connector_type=row.choice("ConnectorType", _CONNECTOR_TYPES, "Partner"),
        recipient_domains=row.parsed_list("RecipientDomains", _address_space, f"* or {_DOMAIN}"),
        smart_hosts=row.parsed_list("SmartHosts", _smart_host, "a host name or IP address"),
        use_mx_record=row.bool("UseMXRecord", True),
        tls_settings=row.choice("TlsSettings", _TLS_SETTINGS, None),
        tls_domain=row.parsed("TlsDomain", _certificate, _DOMAIN),
        route_all_messages_via_on_premises=row.bool("RouteAllMessagesViaOnPremises", False),
        enabled=row.bool("Enabled", True),
    )
    if row.bool("IsTransportRuleScoped", False):
        row.warn("IsTransportRuleScoped", "transport rules are not modelled: the connector applies to "
                 "its RecipientDomains in the lab")  # fmt: skip
    _raise_problem(row, outbound_connector_problem(connector))
    row.done()
    return connector


def _dkim(tenant: Tenant, imported: ImportedTenant, row: Row) -> DkimSigningConfig:
    domain = row.parsed("Domain", parse_domain, _DOMAIN, required=True)
    if not tenant.is_accepted(domain):
        raise row.error("Domain", f"{domain} is not an accepted domain of the tenant")
    config = DkimSigningConfig(domain=domain, enabled=row.bool("Enabled", False), selector="selector1")
    dashed = domain.replace(".", "-")
    selectors = []
    for selector in ("selector1", "selector2"):
        prop = f"{selector.capitalize()}CNAME"
        target = row.parsed(prop, parse_domain, "a DNS name such as selector1-contoso-com._domainkey...")
        if target is None:
            continue
        label, marker, key_domain = target.partition("._domainkey.")
        if not marker or label != f"{selector}-{dashed}":
            raise row.error(prop, f"expected {selector}-{dashed}._domainkey.<key domain>, got {target!r}")
        if config.key_domain and config.key_domain != key_domain:
            raise row.error(prop, f"both selectors' keys must live under one domain ({config.key_domain})")
        config.key_domain = key_domain
        selectors.append(selector)
    # Microsoft 365 signs the initial domain with selector1._domainkey.<initial domain> itself.
    imported.dkim_selectors[domain] = selectors or ["selector1"]
    row.done()
    return config


def _sharing_policy(row: Row) -> SharingPolicy:
    domains: dict[str, list[str]] = {}
    for index, text in enumerate(row.strs("Domains")):
        try:
            domain, actions = parse_sharing_domain(text)
        except ValueError as exc:
            raise row.error(f"Domains[{index}]", str(exc)) from None
        domains[domain] = actions
    policy = SharingPolicy(
        name=row.str("Name", required=True),
        domains=domains,
        enabled=row.bool("Enabled", True),
        default=row.bool("Default", False),
    )
    row.done()
    return policy


def _relationship(row: Row) -> OrganizationRelationship:
    relationship = OrganizationRelationship(
        name=row.str("Name", required=True),
        domain_names=row.parsed_list("DomainNames", parse_domain, _DOMAIN),
        enabled=row.bool("Enabled", True),
        free_busy_access_enabled=row.bool("FreeBusyAccessEnabled", False),
        free_busy_access_level=row.choice("FreeBusyAccessLevel", FREE_BUSY_ACCESS_LEVELS, "None"),
        mail_tips_access_enabled=row.bool("MailTipsAccessEnabled", False),
        mail_tips_access_level=row.choice("MailTipsAccessLevel", MAIL_TIPS_ACCESS_LEVELS, "None"),
    )
    if not relationship.domain_names:
        raise row.error("DomainNames", "name at least one domain of the partner organisation")
    row.done()
    return relationship


_RECORD_TYPES = {"5": "CNAME", "15": "MX", "16": "TXT", "1": "A", "28": "AAAA"}  # Resolve-DnsName Type


def _dns(tenant: Tenant, file: ExportFile) -> list[DnsRecord]:
    """Answers of Resolve-DnsName for the tenant's domains; DKIM public keys are left to the lab's keys."""
    records: list[DnsRecord] = []
    for row in file.rows():
        for prop in ("TTL", "CharacterSet", "NameExchange", "Preference", "Strings", "NameHost"):
            row.raw(prop)  # Select-Object gives every record each property, null where it has none
        section = row.str("Section", "Answer")
        raw_type = row.raw("Type")  # "MX", or the number when ConvertTo-Json wrote the enum's value
        rtype = str(raw_type) if isinstance(raw_type, int) else row.str("Type", required=True)
        rtype = _RECORD_TYPES.get(rtype, rtype).upper()
        name = row.parsed("Name", parse_domain, "a DNS name", required=True)
        if section != "Answer" or rtype == "SOA":
            row.done()  # NXDOMAIN's SOA, the additional A records: not records of the domain
            continue
        if rtype == "MX":
            host = row.parsed("NameExchange", parse_domain, "a host name", required=True)
            preference = row.raw("Preference")
            if not isinstance(preference, int) or isinstance(preference, bool):
                raise row.error("Preference", f"expected a number, got {preference!r}")
            records.append(DnsRecord(name, "MX", (str(preference), host)))
        elif rtype == "TXT":
            strings = row.strs("Strings")
            if any(s.startswith("v=DKIM1") for s in strings):
                row.warn("Strings", "a published DKIM public key: the lab signs with its own key instead")
            else:
                records.append(DnsRecord(name, "TXT", tuple(strings)))
        elif rtype == "CNAME":
            records.append(DnsRecord(name, "CNAME", (row.parsed("NameHost", parse_domain, "a DNS name",
                                                                 required=True),)))  # fmt: skip
        else:
            row.warn("Type", f"{rtype} records are not imported")
        row.done()
    return records
