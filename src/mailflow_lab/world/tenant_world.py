"""Writing an imported tenant as a world: the TOML file, its zone files and lab DKIM keys beside it."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .hosts import MX_SUFFIX, mx_host_for
from .model import Tenant
from .paths import data_dir
from .rules import sharing_domain_text
from .tenant_anonymise import anonymise
from .tenant_import import DnsRecord, ImportedTenant, read_export

# Lab defaults for what an Exchange Online export does not hold (the course's documentation addresses).
OFFICE_IP = "203.0.113.10"
MICROSOFT365_OUTBOUND_IP = "40.107.22.45"
LAB_MX_IP = "52.101.68.10"  # what the lab zone gives every tenant MX host (outlook.com.zone)
MICROSOFT_ZONES = ("office365.com.zone", "office.com.zone", "107.40.in-addr.arpa.zone")
_WORDS = (
    "Amber",
    "Birch",
    "Cedar",
    "Delta",
    "Ember",
    "Fjord",
    "Grove",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orchid",
    "Pebble",
    "Quartz",
    "Raven",
    "Sable",
    "Tundra",
    "Umber",
    "Violet",
    "Willow",
    "Yarrow",
    "Zephyr",
)


@dataclass
class WrittenWorld:
    """The world file written, and the lab passwords assigned (shown once by the command)."""

    path: Path
    passwords: dict[str, str]
    files: list[Path]


def import_tenant(folder: Path, out: Path, anonymised: bool = False) -> tuple[WrittenWorld, list[str]]:
    """An export folder -> a world file beside its zones and keys, and the import's warnings."""
    imported = read_export(folder)
    if anonymised:
        anonymise(imported)
    return write_world(imported, out), imported.warnings.lines()


def lab_password() -> str:
    """A random, readable lab password such as Cedar-Raven#4821 (never a real one: none is exported)."""
    return f"{secrets.choice(_WORDS)}-{secrets.choice(_WORDS)}#{secrets.randbelow(9000) + 1000}"


def write_world(imported: ImportedTenant, out: Path, key_bits: int = 2048) -> WrittenWorld:
    """out (WORLD.toml) with <stem>-zones/ and <stem>-keys/ beside it; load_world reads it back."""
    tenant = imported.tenant
    out = out.absolute()
    zones_dir, keys_dir = out.parent / f"{out.stem}-zones", out.parent / f"{out.stem}-keys"
    zones_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.mkdir(parents=True, exist_ok=True)
    passwords = {m.address: lab_password() for m in tenant.mailboxes if m.mailbox_type == "User"}
    for mailbox in tenant.mailboxes:
        mailbox.password = passwords.get(mailbox.address)
    records = list(imported.records)
    keys: dict[str, dict[str, str]] = {}
    files: list[Path] = []
    for config in tenant.dkim:
        keys[config.domain] = {}
        for selector in imported.dkim_selectors.get(config.domain, ["selector1"]):
            key_file = keys_dir / f"{selector}-{config.domain.replace('.', '-')}.pem"
            public = _write_key(key_file, key_bits)
            files.append(key_file)
            keys[config.domain][selector] = f"{keys_dir.name}/{key_file.name}"
            records.append(DnsRecord(config.public_key_name(selector), "TXT", _chunks(public)))
    zone_names = [d.name for d in tenant.accepted_domains]
    zone_names += sorted(
        {r.name.partition("._domainkey.")[2] for r in records if "._domainkey." in r.name}
        - set(zone_names)
        - {""}
    )
    zone_names = [z for z in zone_names if z != "outlook.com" and not z.endswith(".outlook.com")]
    zone_paths = []
    for zone in zone_names:
        path = zones_dir / f"{zone}.zone"
        path.write_text(_zone_text(zone, [r for r in records if _zone_of(r.name, zone_names) == zone]))
        zone_paths.append(path)
    mx_hosts = {mx_host_for(d.name) for d in tenant.accepted_domains}
    mx_hosts |= {r.data[1] for r in records if r.rtype == "MX" and r.data[1].endswith(MX_SUFFIX)}
    outlook = zones_dir / "outlook.com.zone"
    outlook.write_text(_outlook_zone(sorted(mx_hosts)))
    zone_paths.append(outlook)
    for name in MICROSOFT_ZONES:
        path = zones_dir / name
        path.write_text(_kit_zone(name))
        zone_paths.append(path)
    out.write_text(_world_toml(out.stem, tenant, [f"{zones_dir.name}/{p.name}" for p in zone_paths], keys))
    return WrittenWorld(out, passwords, [out, *zone_paths, *files])


def _write_key(path: Path, bits: int) -> str:
    """A new RSA signing key for the lab (PEM, owner-readable); returns the public key in base64."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _chunks(public: str) -> tuple[str, ...]:
    text = f"v=DKIM1; k=rsa; p={public}"
    return tuple(text[i : i + 250] for i in range(0, len(text), 250))  # RFC 1035: 255 per string


def _zone_of(name: str, zones: list[str]) -> str | None:
    matches = [z for z in zones if name == z or name.endswith("." + z)]
    return max(matches, key=len) if matches else None


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zone_text(origin: str, records: list[DnsRecord]) -> str:
    lines = [
        f"; {origin} as Resolve-DnsName answered it (mailflow-lab import), DKIM keys the lab's own.",
        f"$ORIGIN {origin}.",
        "$TTL 3600",
        f"@ IN SOA ns1.{origin}. hostmaster.{origin}. 1 3600 600 1209600 300",
        f"@ IN NS ns1.{origin}.",
    ]
    for record in records:
        if record.rtype == "MX":
            rdata = f"{record.data[0]} {record.data[1]}."
        elif record.rtype == "TXT":
            rdata = " ".join(_quoted(s) for s in record.data) or '""'
        else:
            rdata = f"{record.data[0]}."
        lines.append(f"{record.name}. IN {record.rtype} {rdata}")
    return "\n".join(lines) + "\n"


def _outlook_zone(mx_hosts: list[str]) -> str:
    """The kit's outlook.com zone (SPF include, EOP outbound host) without Contoso's MX, and the tenant's."""
    lines = _kit_zone("outlook.com.zone").splitlines()
    lines += [f"{host}. IN A {LAB_MX_IP}" for host in mx_hosts]
    return "\n".join(lines) + "\n"


def _kit_zone(name: str) -> str:
    """One of the kit's Microsoft zones, less the lines that name the kit's own Contoso."""
    kit = (data_dir() / "zones" / name).read_text().splitlines()
    return "\n".join(line for line in kit if "contoso" not in line.lower()) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + " }"
    # A TOML basic string: JSON's escapes are TOML's, but DEL must be escaped too.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _table(header: str, items: dict[str, object]) -> list[str]:
    lines = ["", header]
    lines += [f"{key} = {_value(v)}" for key, v in items.items() if v is not None]
    return lines


def _world_toml(name: str, tenant: Tenant, zones: list[str], keys: dict[str, dict[str, str]]) -> str:
    s = tenant.settings
    lines = [
        "# A world imported by `mailflow-lab import` from an Export-MailflowLabTenant.ps1 folder.",
        "# Lab passwords were assigned by the import: never reuse them anywhere real.",
        f"name = {_value(name)}",
        f"description = {_value(f'{tenant.name}, imported from Exchange Online PowerShell')}",
        f"zones = {_value(zones)}",
    ]
    # No sharing policy at all (Get-SharingPolicy listed none) is `sharing_policies = []`.
    no_policies = [] if not tenant.sharing_policies else None
    lines += _table(
        "[tenant]",
        {"name": tenant.name, "initial_domain": tenant.initial_domain, "sharing_policies": no_policies},
    )
    for d in tenant.accepted_domains:
        lines += _table(
            "[[tenant.accepted_domains]]", {"name": d.name, "type": d.domain_type, "default": d.default}
        )
    lines += _table(
        "[tenant.settings]",
        {
            "smtp_client_authentication_disabled": s.smtp_client_authentication_disabled,
            "security_defaults": s.security_defaults,
            "reject_direct_send": s.reject_direct_send,
            "allow_legacy_tls_clients": s.allow_legacy_tls_clients,
            "basic_auth_disabled": s.basic_auth_disabled,
        },
    )
    for m in tenant.mailboxes:
        lines += _table(
            "[[tenant.mailboxes]]",
            {
                "address": m.address,
                "display_name": m.display_name,
                "password": m.password,
                "type": m.mailbox_type,
                "smtp_client_authentication_disabled": m.smtp_client_authentication_disabled,
                "send_as_trustees": m.send_as_trustees or None,
                "sharing_policy": m.sharing_policy,
            },
        )
    for c in tenant.inbound_connectors:
        lines += _table(
            "[[tenant.inbound_connectors]]",
            {
                "name": c.name,
                "connector_type": c.connector_type,
                "sender_ip_addresses": [str(n) for n in c.sender_ip_addresses],
                "sender_domains": c.sender_domains,
                "tls_sender_certificate_name": c.tls_sender_certificate_name,
                "require_tls": c.require_tls,
                "restrict_domains_to_ip_addresses": c.restrict_domains_to_ip_addresses,
                "restrict_domains_to_certificate": c.restrict_domains_to_certificate,
                "enabled": c.enabled,
                "ef_skip_last_ip": c.ef_skip_last_ip,
                "ef_skip_ips": [str(n) for n in c.ef_skip_ips],
                "ef_users": c.ef_users,
                "treat_messages_as_internal": c.treat_messages_as_internal,
            },
        )
    for o in tenant.outbound_connectors:
        lines += _table(
            "[[tenant.outbound_connectors]]",
            {
                "name": o.name,
                "connector_type": o.connector_type,
                "recipient_domains": o.recipient_domains,
                "smart_hosts": o.smart_hosts,
                "use_mx_record": o.use_mx_record,
                "tls_settings": o.tls_settings,
                "tls_domain": o.tls_domain,
                "route_all_messages_via_on_premises": o.route_all_messages_via_on_premises,
                "enabled": o.enabled,
            },
        )
    for k in tenant.dkim:
        lines += _table(
            "[[tenant.dkim]]",
            {
                "domain": k.domain,
                "enabled": k.enabled,
                "selector": k.selector,
                "key_domain": k.key_domain or None,
                "keys": keys[k.domain],
            },
        )
    for p in tenant.sharing_policies:
        domains = [sharing_domain_text(d, a) for d, a in p.domains.items()]
        lines += _table(
            "[[tenant.sharing_policies]]",
            {"name": p.name, "domains": domains, "enabled": p.enabled, "default": p.default},
        )
    for r in tenant.organization_relationships:
        lines += _table(
            "[[tenant.organization_relationships]]",
            {
                "name": r.name,
                "domain_names": r.domain_names,
                "enabled": r.enabled,
                "free_busy_access_enabled": r.free_busy_access_enabled,
                "free_busy_access_level": r.free_busy_access_level,
                "mail_tips_access_enabled": r.mail_tips_access_enabled,
                "mail_tips_access_level": r.mail_tips_access_level,
            },
        )
    lines += _table("[network]", {"microsoft365_outbound_ip": MICROSOFT365_OUTBOUND_IP})
    lines += _table("[network.office]", {"name": "Office", "public_ip": OFFICE_IP})
    return "\n".join(lines) + "\n"
