"""Loading a world from data/worlds/<name>.toml and its zone files, every mistake named by file and key."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .checks import check_world
from .datafile import (
    MAX_ZONE_BYTES,
    Table,
    load_toml,
    parse_domain,
    parse_email,
    parse_ip,
    parse_network,
    read_capped,
)
from .model import (
    ANONYMOUS,
    CALENDAR_ACCESS_LEVELS,
    AcceptedDomain,
    CalendarItem,
    Device,
    DkimSigningConfig,
    InboundConnector,
    Mailbox,
    MailFilter,
    Network,
    OrganizationRelationship,
    OrgSettings,
    OutboundConnector,
    OutsideOrganisation,
    SharingPolicy,
    Site,
    Tenant,
    World,
    default_sharing_policies,
)
from .paths import DATA_DIR_NAME, check_dkim_key, confined_path, data_dir
from .rules import (
    FREE_BUSY_ACCESS_LEVELS,
    MAIL_TIPS_ACCESS_LEVELS,
    outbound_connector_problem,
    parse_sharing_domain,
)

__all__ = ["DATA_DIR_NAME", "DEFAULT_WORLD", "data_dir", "load_world", "world_path"]
DEFAULT_WORLD = "contoso"

_IP = "an IPv4 or IPv6 address such as 203.0.113.10"
_CIDR = "an address range in CIDR form such as 203.0.113.0/24 (host bits zero)"
_EMAIL = "an email address such as alex@contoso.com"
_DOMAIN = "a domain name such as contoso.com"


def world_path(name_or_path: str | Path = DEFAULT_WORLD) -> Path:
    """A world name ("contoso") or a path to a .toml file -> the file's path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    path = data_dir() / "worlds" / f"{name_or_path}.toml"
    if not path.exists():
        known = sorted(p.stem for p in (data_dir() / "worlds").glob("*.toml"))
        raise FileNotFoundError(f"no world named {name_or_path!r} (known: {', '.join(known)})")
    return path


def load_world(name_or_path: str | Path = DEFAULT_WORLD) -> World:
    """Read and check a world file; raises LabDataError naming the file and key on any mistake."""
    path = world_path(name_or_path)
    top = Table(path, load_toml(path))
    name = top.str("name", path.stem)
    description = top.str("description", "")
    zone_files = _zone_files(top)
    tenant = _tenant(top.table("tenant"))
    network = _network(top.table("network"))
    outside = [_outside(t) for t in top.tables("outside")]
    devices = [_device(t) for t in top.tables("devices")]
    filters = [_filter(t) for t in top.tables("filters")]
    top.done()
    world = World(
        name, description, tenant, outside, network, devices, zone_files, source=path, filters=filters
    )
    check_world(world, path)
    return world


def _zone_files(top: Table) -> list[Path]:
    """Each zone file confined to the world's folders; one over MAX_ZONE_BYTES is refused before parsing."""
    paths = [confined_path(top, f"zones[{i}]", text) for i, text in enumerate(top.str_list("zones", []))]
    for index, zone in enumerate(paths):
        if zone.is_file() and zone.stat().st_size > MAX_ZONE_BYTES:
            read_capped(zone, MAX_ZONE_BYTES, top.file, f"zones[{index}]", "zone file")
    return paths


def _tenant(t: Table) -> Tenant:
    name = t.str("name")
    initial_domain = t.parsed("initial_domain", parse_domain, _DOMAIN)
    domains = [_accepted_domain(d) for d in t.tables("accepted_domains")]
    settings = _settings(t.table("settings", required=False))
    mailboxes = [_mailbox(m) for m in t.tables("mailboxes")]
    connectors = [_connector(c) for c in t.tables("inbound_connectors")]
    dkim = [_dkim(d) for d in t.tables("dkim")]
    # Left out: the Default Sharing Policy every Exchange Online tenant has.
    policies = [_sharing_policy(p) for p in t.tables("sharing_policies")] if t.has("sharing_policies") else []
    relationships = [_relationship(r) for r in t.tables("organization_relationships")]
    outbound = [_outbound_connector(c) for c in t.tables("outbound_connectors")]
    t.done()
    if not any(d.name == initial_domain for d in domains):
        domains.append(AcceptedDomain(initial_domain))
    tenant = Tenant(name, initial_domain, domains, settings, mailboxes, connectors, dkim)
    tenant.sharing_policies = policies if t.has("sharing_policies") else default_sharing_policies()
    tenant.organization_relationships = relationships
    tenant.outbound_connectors = outbound
    return tenant


def _accepted_domain(t: Table) -> AcceptedDomain:
    domain = AcceptedDomain(
        name=t.parsed("name", parse_domain, _DOMAIN),
        domain_type=t.choice("type", ("Authoritative", "InternalRelay", "ExternalRelay"), "Authoritative"),
        default=t.bool("default", False),
    )
    t.done()
    return domain


def _settings(t: Table) -> OrgSettings:
    settings = OrgSettings(
        smtp_client_authentication_disabled=t.bool("smtp_client_authentication_disabled", True),
        security_defaults=t.bool("security_defaults", False),
        reject_direct_send=t.bool("reject_direct_send", False),
        allow_legacy_tls_clients=t.bool("allow_legacy_tls_clients", False),
        basic_auth_disabled=t.bool("basic_auth_disabled", False),
    )
    t.done()
    return settings


def _mailbox(t: Table) -> Mailbox:
    mailbox = Mailbox(
        address=t.parsed("address", parse_email, _EMAIL),
        display_name=t.str("display_name", ""),
        password=t.str("password", None),
        mailbox_type=t.choice("type", ("User", "Shared"), "User"),  # type: ignore[arg-type]
        # Left out = $null: follow the tenant (Set-CASMailbox ... $null).
        smtp_client_authentication_disabled=t.bool("smtp_client_authentication_disabled", None),
        send_as_trustees=t.parsed_list("send_as_trustees", parse_email, _EMAIL, []),
        sharing_policy=t.str("sharing_policy", None),
        calendar=[_calendar_item(c) for c in t.tables("calendar")],
        calendar_default_access=t.choice(
            "calendar_default_access", CALENDAR_ACCESS_LEVELS, "AvailabilityOnly"
        ),  # type: ignore[arg-type]
        calendar_shared_with=_shared_with(t.table("calendar_shared_with", required=False)),
    )
    if mailbox.mailbox_type == "Shared" and mailbox.password is not None:
        raise t.error("password", "a shared mailbox has no sign-in, so no password")
    t.done()
    return mailbox


def _calendar_item(t: Table) -> CalendarItem:
    item = CalendarItem(
        subject=t.str("subject"),
        start=_datetime(t, "start"),
        end=_datetime(t, "end"),
        location=t.str("location", ""),
        body=t.str("body", ""),
        show_as=t.choice("show_as", ("Free", "Tentative", "Busy", "OutOfOffice"), "Busy"),
    )
    if item.end <= item.start:
        raise t.error("end", f"the appointment ends ({item.end}) before it starts ({item.start})")
    t.done()
    return item


def _datetime(t: Table, key: str) -> datetime:
    if isinstance(t.value(key, object), datetime):
        return t.value(key, datetime)
    raise t.error(key, "expected a TOML date and time such as 2026-03-02T09:00:00 (no quotes)")


def _shared_with(t: Table) -> dict[str, str]:
    """{"pat@fabrikam.com" = "Reviewer", Anonymous = "AvailabilityOnly"}: who the owner shared with."""
    shared: dict[str, str] = {}
    for key in t.keys():  # every key of this table is an address, or Anonymous
        level = t.choice(key, CALENDAR_ACCESS_LEVELS[1:])
        if key.lower() == ANONYMOUS.lower():
            shared[ANONYMOUS] = level
            continue
        try:
            shared[parse_email(key)] = level
        except ValueError:
            raise t.error(key, f"expected {_EMAIL} or Anonymous") from None
    t.done()
    return shared


def _sharing_policy(t: Table) -> SharingPolicy:
    domains: dict[str, list[str]] = {}
    for index, text in enumerate(t.str_list("domains")):
        try:
            domain, actions = parse_sharing_domain(text)
        except ValueError as exc:
            raise t.error(f"domains[{index}]", str(exc)) from None
        if domain in domains:
            raise t.error(f"domains[{index}]", f"{domain} is listed twice")
        domains[domain] = actions
    policy = SharingPolicy(
        name=t.str("name"),
        domains=domains,
        enabled=t.bool("enabled", True),
        default=t.bool("default", False),
    )
    t.done()
    return policy


def _relationship(t: Table) -> OrganizationRelationship:
    relationship = OrganizationRelationship(
        name=t.str("name"),
        domain_names=t.parsed_list("domain_names", parse_domain, _DOMAIN),
        enabled=t.bool("enabled", True),
        free_busy_access_enabled=t.bool("free_busy_access_enabled", False),
        free_busy_access_level=t.choice("free_busy_access_level", FREE_BUSY_ACCESS_LEVELS, "None"),
        mail_tips_access_enabled=t.bool("mail_tips_access_enabled", False),
        mail_tips_access_level=t.choice("mail_tips_access_level", MAIL_TIPS_ACCESS_LEVELS, "None"),
    )
    if not relationship.domain_names:
        raise t.error("domain_names", "name at least one domain of the partner organisation")
    t.done()
    return relationship


def _connector(t: Table) -> InboundConnector:
    connector = InboundConnector(
        name=t.str("name"),
        connector_type=t.choice("connector_type", ("OnPremises", "Partner"), "OnPremises"),  # type: ignore[arg-type]
        sender_ip_addresses=t.parsed_list("sender_ip_addresses", parse_network, _CIDR, []),
        sender_domains=t.parsed_list("sender_domains", _sender_domain, f"* or {_DOMAIN}", ["*"]),
        tls_sender_certificate_name=t.parsed("tls_sender_certificate_name", _certificate_name, _DOMAIN, None),
        require_tls=t.bool("require_tls", False),
        restrict_domains_to_ip_addresses=t.bool("restrict_domains_to_ip_addresses", False),
        restrict_domains_to_certificate=t.bool("restrict_domains_to_certificate", False),
        enabled=t.bool("enabled", True),
        ef_skip_last_ip=t.bool("ef_skip_last_ip", False),
        ef_skip_ips=t.parsed_list("ef_skip_ips", parse_network, _CIDR, []),
        ef_users=[a.lower() for a in t.parsed_list("ef_users", parse_email, _EMAIL, [])],
        treat_messages_as_internal=t.bool("treat_messages_as_internal", False),
    )
    t.done()
    return connector


_TLS_SETTINGS = ("EncryptionOnly", "CertificateValidation", "DomainValidation")


def _outbound_connector(t: Table) -> OutboundConnector:
    connector = OutboundConnector(
        name=t.str("name"),
        connector_type=t.choice("connector_type", ("OnPremises", "Partner"), "Partner"),  # type: ignore[arg-type]
        recipient_domains=t.parsed_list("recipient_domains", _sender_domain, f"* or {_DOMAIN}", []),
        smart_hosts=t.parsed_list("smart_hosts", _smart_host, "a host name or IPv4 address", []),
        use_mx_record=t.bool("use_mx_record", True),
        tls_settings=t.choice("tls_settings", _TLS_SETTINGS, None),  # type: ignore[arg-type]
        tls_domain=t.parsed("tls_domain", _certificate_name, _DOMAIN, None),
        route_all_messages_via_on_premises=t.bool("route_all_messages_via_on_premises", False),
        enabled=t.bool("enabled", True),
    )
    problem = outbound_connector_problem(connector)
    if problem is not None:
        raise t.error(problem[0], problem[1])
    t.done()
    return connector


def _smart_host(text: str) -> str:
    try:
        return str(parse_ip(text))
    except ValueError:
        return parse_domain(text)


def _filter(t: Table) -> MailFilter:
    mail_filter = MailFilter(
        name=t.str("name"),
        host=t.parsed("host", parse_domain, "a host name such as mx.litware.com"),
        public_ip=t.parsed("public_ip", parse_ip, _IP),
    )
    t.done()
    return mail_filter


def _dkim(t: Table) -> DkimSigningConfig:
    keys_table = t.table("keys", required=False)
    keys: dict[str, Path] = {}
    for selector in keys_table.keys():  # every key of this table is a selector name
        key_path = confined_path(keys_table, selector, keys_table.str(selector))
        if not key_path.exists():
            raise keys_table.error(selector, f"key file {key_path} does not exist")
        check_dkim_key(keys_table, selector, key_path)
        keys[selector] = key_path
    keys_table.done()
    config = DkimSigningConfig(
        domain=t.parsed("domain", parse_domain, _DOMAIN),
        enabled=t.bool("enabled", False),
        selector=t.str("selector", "selector1"),
        keys=keys,
        key_domain=t.parsed("key_domain", parse_domain, _DOMAIN, ""),
    )
    if config.enabled and config.selector not in keys:
        raise t.error("selector", f"no key for selector {config.selector!r} under keys")
    t.done()
    return config


def _network(t: Table) -> Network:
    network = Network(
        office=_site(t.table("office")),
        sites=[_site(s) for s in t.tables("sites")],
        microsoft365_outbound_ip=t.parsed("microsoft365_outbound_ip", parse_ip, _IP),
    )
    t.done()
    return network


def _site(t: Table) -> Site:
    site = Site(
        name=t.str("name"),
        public_ip=t.parsed("public_ip", parse_ip, _IP),
        dynamic=t.bool("dynamic", False),
        shared=t.bool("shared", False),
    )
    t.done()
    return site


def _outside(t: Table) -> OutsideOrganisation:
    org = OutsideOrganisation(
        name=t.str("name"),
        domains=t.parsed_list("domains", parse_domain, _DOMAIN),
        mail_server=t.parsed("mail_server", parse_domain, "a host name such as mail.fabrikam.com"),
        mailboxes=t.parsed_list("mailboxes", parse_email, _EMAIL, []),
    )
    for index, address in enumerate(org.mailboxes):
        if address.rpartition("@")[2] not in org.domains:
            raise t.error(f"mailboxes[{index}]", f"{address} is not in {', '.join(org.domains)}")
    t.done()
    return org


def _device(t: Table) -> Device:
    device = Device(
        name=t.str("name"),
        server=t.str("server"),
        port=t.int("port", 587),
        tls=t.choice("tls", ("none", "starttls", "implicit"), "starttls"),  # type: ignore[arg-type]
        username=t.str("username", None),
        password=t.str("password", None),
        sender=t.parsed("sender", parse_email, _EMAIL),
        source_ip=t.parsed("source_ip", parse_ip, _IP, None),
        helo=t.str("helo", None),
        tls_min_version=t.choice("tls_min_version", _TLS_VERSIONS, "TLSv1.2"),
        tls_max_version=t.choice("tls_max_version", _TLS_VERSIONS, None),
        chunking=t.bool("chunking", False),
    )
    if not 0 < device.port < 65536:
        raise t.error("port", f"expected a port from 1 to 65535, got {device.port}")
    t.done()
    return device


_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def _sender_domain(text: str) -> str:
    return "*" if text.strip() == "*" else parse_domain(text.removeprefix("*."))


def _certificate_name(text: str) -> str:
    # A certificate name may be a wildcard such as *.contoso.com.
    name = text.strip().lower()
    parse_domain(name.removeprefix("*."))
    return name
