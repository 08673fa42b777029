"""The simulated world as plain dataclasses: tenant, outside organisations, network, devices."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ConnectorType = Literal["OnPremises", "Partner"]
# New-OutboundConnector -TlsSettings: None is the default (opportunistic TLS).
TlsSettings = Literal["EncryptionOnly", "CertificateValidation", "DomainValidation"]
MailboxType = Literal["User", "Shared"]
TlsMode = Literal["none", "starttls", "implicit"]
# How much of a calendar someone outside sees, least to most (sheet "Sharing and organisation relationships").
CalendarAccess = Literal["None", "AvailabilityOnly", "LimitedDetails", "Reviewer"]
CALENDAR_ACCESS_LEVELS: tuple[str, ...] = ("None", "AvailabilityOnly", "LimitedDetails", "Reviewer")
ANONYMOUS = "Anonymous"  # a sharing policy's "domain" for anyone with the published link
DEFAULT_SHARING_POLICY = "Default Sharing Policy"


@dataclass
class CalendarItem:
    """One appointment in a mailbox's calendar: what each level of access reveals of it."""

    subject: str
    start: datetime
    end: datetime
    location: str = ""
    body: str = ""
    show_as: str = "Busy"  # Free, Tentative, Busy, OutOfOffice (what a free/busy block shows)


@dataclass
class AcceptedDomain:
    """A domain the tenant receives mail for (Get-AcceptedDomain)."""

    name: str
    domain_type: str = "Authoritative"
    default: bool = False


@dataclass
class Mailbox:
    """A Microsoft 365 mailbox; `smtp_client_authentication_disabled` None means "follow the tenant"."""

    address: str
    display_name: str
    password: str | None = field(default=None, repr=False)  # never shown: DESIGN "mask the secret"
    mailbox_type: MailboxType = "User"
    smtp_client_authentication_disabled: bool | None = None
    send_as_trustees: list[str] = field(default_factory=list)
    # Set-Mailbox -SharingPolicy; None: the tenant's default sharing policy applies.
    sharing_policy: str | None = None
    calendar: list[CalendarItem] = field(default_factory=list)
    # The calendar folder's permission for "Default" (everyone, incl. federated free/busy lookups):
    # Exchange Online creates calendars with AvailabilityOnly.
    calendar_default_access: CalendarAccess = "AvailabilityOnly"
    # Who the owner shared the calendar with, and at which level: an address outside the organisation
    # (a sharing invitation) or "Anonymous" (a published calendar link).
    calendar_shared_with: dict[str, CalendarAccess] = field(default_factory=dict)

    @property
    def can_sign_in(self) -> bool:
        # A shared mailbox has no password of its own: nobody signs in to it.
        return self.mailbox_type == "User" and self.password is not None


@dataclass
class OrgSettings:
    """Tenant-wide switches from Set-TransportConfig, Set-OrganizationConfig and Entra ID."""

    smtp_client_authentication_disabled: bool = True
    security_defaults: bool = False
    reject_direct_send: bool = False
    allow_legacy_tls_clients: bool = False
    basic_auth_disabled: bool = False


@dataclass
class InboundConnector:
    """An inbound connector (New-InboundConnector) that recognises a sender by IP or certificate."""

    name: str
    connector_type: ConnectorType = "OnPremises"
    sender_ip_addresses: list[IPNetwork] = field(default_factory=list)
    sender_domains: list[str] = field(default_factory=lambda: ["*"])
    tls_sender_certificate_name: str | None = None
    require_tls: bool = False
    restrict_domains_to_ip_addresses: bool = False
    restrict_domains_to_certificate: bool = False
    enabled: bool = True
    # Enhanced Filtering for Connectors (New-InboundConnector -EFSkipLastIP/-EFSkipIPs/-EFUsers): which
    # hops of the Received chain EOP skips to find the original sender's address. Off by default.
    ef_skip_last_ip: bool = False
    ef_skip_ips: list[IPNetwork] = field(default_factory=list)
    ef_users: list[str] = field(default_factory=list)  # empty: every recipient
    # TreatMessagesAsInternal: mail from this connector counts as the organisation's own (hybrid).
    treat_messages_as_internal: bool = False

    @property
    def enhanced_filtering(self) -> bool:
        """EFSkipLastIP $false and no EFSkipIPs turns Enhanced Filtering off (New-InboundConnector)."""
        return self.ef_skip_last_ip or bool(self.ef_skip_ips)


@dataclass
class OutboundConnector:
    """An outbound connector (New-OutboundConnector): where mail for some domains leaves, and how."""

    name: str
    connector_type: ConnectorType = "Partner"
    recipient_domains: list[str] = field(default_factory=list)
    smart_hosts: list[str] = field(default_factory=list)
    use_mx_record: bool = True
    tls_settings: TlsSettings | None = None
    tls_domain: str | None = None
    # Centralized mail transport in a hybrid organisation: every message leaves through on-premises.
    route_all_messages_via_on_premises: bool = False
    enabled: bool = True


@dataclass
class DkimSigningConfig:
    """DKIM signing for one domain (Get-DkimSigningConfig), with the lab's key files per selector."""

    domain: str
    enabled: bool
    selector: str
    keys: dict[str, Path] = field(default_factory=dict)
    key_domain: str = ""  # where the public keys live, e.g. contoso.onmicrosoft.com

    def public_key_name(self, selector: str) -> str:
        """The DNS name holding the public key for a selector."""
        if self.key_domain and self.key_domain != self.domain:
            dashed = self.domain.replace(".", "-")
            return f"{selector}-{dashed}._domainkey.{self.key_domain}"
        return f"{selector}._domainkey.{self.domain}"


@dataclass
class SharingPolicy:
    """A sharing policy (New-SharingPolicy): per domain, what users may share with people there.

    `domains` maps a domain, `*` (every federated organisation) or `Anonymous` to its actions, e.g.
    {"fabrikam.com": ["CalendarSharingFreeBusyDetail", "ContactsSharing"]}.
    """

    name: str
    domains: dict[str, list[str]] = field(default_factory=dict)
    enabled: bool = True
    default: bool = False


def default_sharing_policies() -> list[SharingPolicy]:
    """Every Exchange Online tenant's Default Sharing Policy, as observed (sheet: [observed])."""
    return [
        SharingPolicy(
            DEFAULT_SHARING_POLICY,
            {ANONYMOUS: ["CalendarSharingFreeBusyReviewer"], "*": ["CalendarSharingFreeBusySimple"]},
            default=True,
        )
    ]


@dataclass
class OrganizationRelationship:
    """An organisation relationship (New-OrganizationRelationship): what a partner organisation sees."""

    name: str
    domain_names: list[str]
    enabled: bool = True
    free_busy_access_enabled: bool = False  # New-OrganizationRelationship's default
    free_busy_access_level: str = "None"  # None, AvailabilityOnly, LimitedDetails
    mail_tips_access_enabled: bool = False
    mail_tips_access_level: str = "None"  # All, Limited, None


@dataclass
class Tenant:
    """The learner's Microsoft 365 organisation."""

    name: str
    initial_domain: str
    accepted_domains: list[AcceptedDomain]
    settings: OrgSettings
    mailboxes: list[Mailbox]
    inbound_connectors: list[InboundConnector] = field(default_factory=list)
    dkim: list[DkimSigningConfig] = field(default_factory=list)
    sharing_policies: list[SharingPolicy] = field(default_factory=default_sharing_policies)
    organization_relationships: list[OrganizationRelationship] = field(default_factory=list)
    outbound_connectors: list[OutboundConnector] = field(default_factory=list)

    def is_accepted(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return any(d.name == domain for d in self.accepted_domains)

    def find_mailbox(self, address: str) -> Mailbox | None:
        address = address.lower()
        return next((m for m in self.mailboxes if m.address.lower() == address), None)

    def dkim_for(self, domain: str) -> DkimSigningConfig | None:
        domain = domain.lower()
        return next((d for d in self.dkim if d.domain == domain), None)

    def sharing_policy(self, name: str) -> SharingPolicy | None:
        return next((p for p in self.sharing_policies if p.name.lower() == name.lower()), None)

    def sharing_policy_of(self, mailbox: Mailbox) -> SharingPolicy | None:
        """The policy that applies to a mailbox: its own, or the tenant's default."""
        if mailbox.sharing_policy is not None:
            return self.sharing_policy(mailbox.sharing_policy)
        return next((p for p in self.sharing_policies if p.default), None)


@dataclass
class OutsideOrganisation:
    """An organisation outside the tenant with its own receiving mail server (e.g. Fabrikam)."""

    name: str
    domains: list[str]
    mail_server: str
    mailboxes: list[str]


@dataclass
class MailFilter:
    """A third-party filtering service the MX can point to; it relays what it takes to Microsoft 365."""

    name: str
    host: str
    public_ip: IPAddress


@dataclass
class Site:
    """A place devices send from, known by its public (NAT) address."""

    name: str
    public_ip: IPAddress
    dynamic: bool = False
    shared: bool = False


@dataclass
class Network:
    """Public addresses: the office, other sites, and Microsoft 365's outbound address."""

    office: Site
    sites: list[Site]
    microsoft365_outbound_ip: IPAddress

    def all_sites(self) -> list[Site]:
        return [self.office, *self.sites]


@dataclass
class Device:
    """A printer, scanner or app as a learner configures it."""

    name: str
    server: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    source_ip: IPAddress | None = None
    helo: str | None = None
    tls_min_version: str = "TLSv1.2"
    tls_max_version: str | None = None
    oauth_token: str | None = field(default=None, repr=False)
    client_cert: str | None = None
    # Sends the message with BDAT (RFC 3030) when the server offers CHUNKING, as MailKit (.NET) and Exchange
    # servers do (jstedfast/MailKit#904); otherwise with DATA, as most printers and smtplib do.
    chunking: bool = False


@dataclass
class World:
    """Everything the lab knows, loaded from data/worlds/<name>.toml and its zone files."""

    name: str
    description: str
    tenant: Tenant
    outside: list[OutsideOrganisation]
    network: Network
    devices: list[Device]
    zone_files: list[Path]
    source: Path | None = None
    filters: list[MailFilter] = field(default_factory=list)

    def outside_for(self, domain: str) -> OutsideOrganisation | None:
        domain = domain.lower()
        return next((o for o in self.outside if domain in o.domains), None)

    def device(self, name: str) -> Device:
        for device in self.devices:
            if device.name.lower() == name.lower():
                return device
        known = ", ".join(d.name for d in self.devices) or "none"
        raise KeyError(f"no device named {name!r} in world {self.name!r} (known: {known})")
