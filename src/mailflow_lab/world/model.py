"""The simulated world as plain dataclasses: tenant, outside organisations, network, devices."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ConnectorType = Literal["OnPremises", "Partner"]
MailboxType = Literal["User", "Shared"]
TlsMode = Literal["none", "starttls", "implicit"]


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
class Tenant:
    """The learner's Microsoft 365 organisation."""

    name: str
    initial_domain: str
    accepted_domains: list[AcceptedDomain]
    settings: OrgSettings
    mailboxes: list[Mailbox]
    inbound_connectors: list[InboundConnector] = field(default_factory=list)
    dkim: list[DkimSigningConfig] = field(default_factory=list)

    def is_accepted(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return any(d.name == domain for d in self.accepted_domains)

    def find_mailbox(self, address: str) -> Mailbox | None:
        address = address.lower()
        return next((m for m in self.mailboxes if m.address.lower() == address), None)

    def dkim_for(self, domain: str) -> DkimSigningConfig | None:
        domain = domain.lower()
        return next((d for d in self.dkim if d.domain == domain), None)


@dataclass
class OutsideOrganisation:
    """An organisation outside the tenant with its own receiving mail server (e.g. Fabrikam)."""

    name: str
    domains: list[str]
    mail_server: str
    mailboxes: list[str]


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

    def outside_for(self, domain: str) -> OutsideOrganisation | None:
        domain = domain.lower()
        return next((o for o in self.outside if domain in o.domains), None)

    def device(self, name: str) -> Device:
        for device in self.devices:
            if device.name.lower() == name.lower():
                return device
        known = ", ".join(d.name for d in self.devices) or "none"
        raise KeyError(f"no device named {name!r} in world {self.name!r} (known: {known})")
