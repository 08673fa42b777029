"""The world loader: the default world as specified, and one clear error for each kind of mistake."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.world.loader import data_dir, load_world

WORLD = data_dir() / "worlds" / "contoso.toml"


def test_default_world_matches_the_course() -> None:
    world = load_world()
    tenant = world.tenant
    assert tenant.initial_domain == "contoso.onmicrosoft.com"
    assert [(d.name, d.domain_type) for d in tenant.accepted_domains] == [
        ("contoso.com", "Authoritative"),
        ("contoso.onmicrosoft.com", "Authoritative"),
    ]
    assert tenant.settings.smtp_client_authentication_disabled is True
    assert not tenant.settings.security_defaults
    assert not tenant.settings.reject_direct_send
    assert not tenant.settings.allow_legacy_tls_clients
    alex, scanner, helpdesk = tenant.mailboxes
    assert (alex.address, alex.password, alex.smtp_client_authentication_disabled) == (
        "alex@contoso.com",
        "Alex#2026",
        None,
    )
    assert (scanner.address, scanner.password, scanner.smtp_client_authentication_disabled) == (
        "scanner@contoso.com",
        "Scan#2026",
        False,
    )
    assert helpdesk.mailbox_type == "Shared" and not helpdesk.can_sign_in
    assert not any(m.send_as_trustees for m in tenant.mailboxes)
    assert tenant.inbound_connectors == []
    dkim = tenant.dkim_for("contoso.com")
    assert dkim is not None and dkim.enabled and dkim.selector == "selector1"
    assert world.network.office.public_ip == ipaddress.ip_address("203.0.113.10")
    assert not world.network.office.dynamic and not world.network.office.shared
    assert world.network.sites[0].public_ip == ipaddress.ip_address("198.51.100.23")
    assert world.network.sites[0].dynamic
    fabrikam = world.outside_for("fabrikam.com")
    assert fabrikam is not None and fabrikam.mailboxes == ["pat@fabrikam.com"]
    assert fabrikam.mail_server == "mail.fabrikam.com"


def test_passwords_stay_out_of_reprs() -> None:
    world = load_world()
    assert "Scan#2026" not in repr(world)


def test_default_world_zones() -> None:
    dns = load_world_dns(load_world())
    assert dns.mx("contoso.com") == [(0, "contoso-com.mail.protection.outlook.com")]
    assert sorted(dns.txt("contoso.com")) == [
        "MS=ms48123456",
        "v=spf1 include:spf.protection.outlook.com -all",
    ]
    assert dns.resolve("autodiscover.contoso.com", "CNAME").records[0].target.to_text() == (
        "autodiscover.outlook.com."
    )
    assert dns.txt("_dmarc.contoso.com") == ["v=DMARC1; p=none; rua=mailto:dmarc@contoso.com"]
    spf = dns.txt("spf.protection.outlook.com")[0]
    for term in (
        "ip4:40.92.0.0/15",
        "ip4:40.107.0.0/16",
        "ip4:52.100.0.0/15",
        "ip4:52.102.0.0/16",
        "ip4:104.47.0.0/17",
        "ip6:2a01:111:f400::/48",
    ):
        assert term in spf.split()
    assert spf.endswith("-all")
    for selector in ("selector1", "selector2"):
        name = f"{selector}._domainkey.contoso.com"
        target = f"{selector}-contoso-com._domainkey.contoso.onmicrosoft.com."
        assert dns.resolve(name, "CNAME").records[0].target.to_text() == target
        assert dns.txt(name)[0].startswith("v=DKIM1; k=rsa; p=")
    assert dns.mx("fabrikam.com") == [(10, "mail.fabrikam.com")]
    assert dns.txt("fabrikam.com") == ["v=spf1 ip4:192.0.2.25 -all"]
    assert dns.txt("_dmarc.fabrikam.com")[0].startswith("v=DMARC1; p=reject")
    for host in (
        "smtp.office365.com",
        "contoso-com.mail.protection.outlook.com",
        "mail.fabrikam.com",
    ):
        assert dns.addresses(host), host
    assert dns.addresses("mail.fabrikam.com") == ["192.0.2.25"]


def test_dkim_keys_match_the_published_records() -> None:
    from cryptography.hazmat.primitives import serialization

    world = load_world()
    dns = load_world_dns(world)
    for config in world.tenant.dkim:
        for selector, key_file in config.keys.items():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            import base64

            record = dns.txt(config.public_key_name(selector))[0]
            assert record.endswith("p=" + base64.b64encode(der).decode())


def _broken_world(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    """A copy of the default world with one edit, zone and key paths pointing at the real data."""
    text = WORLD.read_text()
    assert old in text, old
    text = text.replace(old, new, count)
    text = text.replace('"../', f'"{data_dir().as_posix()}/')
    path = tmp_path / "broken.toml"
    path.write_text(text)
    return path


MISTAKES = [
    pytest.param(
        'name = "Contoso"',
        'name = "Contoso"\ncolour = "blue"',
        "tenant.colour",
        "unknown key",
        id="unknown-key",
    ),
    pytest.param(
        'public_ip = "203.0.113.10"',
        'public_ip = "203.0.113.300"',
        "network.office.public_ip",
        "expected an IPv4 or IPv6 address",
        id="bad-address",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        '[[tenant.inbound_connectors]]\nname = "Printers"\n'
        'sender_ip_addresses = ["203.0.113.10/33"]\n\n[[tenant.dkim]]',
        "tenant.inbound_connectors[0].sender_ip_addresses[0]",
        "expected an address range in CIDR",
        id="bad-cidr",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        '[[tenant.inbound_connectors]]\nname = "Printers"\n'
        'sender_ip_addresses = ["203.0.113.10/16"]\n\n[[tenant.dkim]]',
        "tenant.inbound_connectors[0].sender_ip_addresses[0]",
        "expected an address range in CIDR",
        id="cidr-host-bits",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        '[[tenant.inbound_connectors]]\nname = "Printers"\n'
        'sender_ip_addresses = ["203.0.0.0/16"]\n\n[[tenant.dkim]]',
        "tenant.inbound_connectors[0].sender_ip_addresses[0]",
        "from /24 to /32",
        id="cidr-too-wide-for-a-connector",
    ),
    pytest.param(
        'address = "scanner@contoso.com"',
        'address = "alex@contoso.com"',
        "tenant.mailboxes[1].address",
        "duplicate mailbox alex@contoso.com (first at tenant.mailboxes[0])",
        id="duplicate-mailbox",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        '[[tenant.inbound_connectors]]\nname = "Copiers"\n'
        'tls_sender_certificate_name = "printers.northwind.example"\n\n[[tenant.dkim]]',
        "tenant.inbound_connectors[0].tls_sender_certificate_name",
        "printers.northwind.example is not in an accepted domain",
        id="connector-unknown-domain",
    ),
    pytest.param(
        'address = "alex@contoso.com"',
        'address = "alex@northwind.example"',
        "tenant.mailboxes[0].address",
        "northwind.example is not an accepted domain",
        id="mailbox-outside-accepted-domains",
    ),
    pytest.param(
        "send_as_trustees = []",
        'send_as_trustees = ["ghost@contoso.com"]',
        "tenant.mailboxes[2].send_as_trustees[0]",
        "no mailbox ghost@contoso.com",
        id="send-as-unknown-trustee",
    ),
    pytest.param(
        "security_defaults = false",
        'security_defaults = "no"',
        "tenant.settings.security_defaults",
        "expected true or false, got a string ('no')",
        id="wrong-type",
    ),
    pytest.param(
        'initial_domain = "contoso.onmicrosoft.com"',
        "",
        "tenant.initial_domain",
        "missing",
        id="missing-key",
    ),
    pytest.param(
        'tls = "starttls"',
        'tls = "ssl"',
        "devices[0].tls",
        "expected one of none, starttls, implicit",
        id="bad-choice",
    ),
    pytest.param(
        "port = 587",
        "port = 70000",
        "devices[0].port",
        "expected a port",
        id="bad-port",
    ),
    pytest.param(
        'address = "alex@contoso.com"',
        'address = "alex"',
        "tenant.mailboxes[0].address",
        "expected an email address",
        id="bad-email",
    ),
    pytest.param(
        '"../zones/fabrikam.com.zone",',
        '"../zones/northwind.zone",',
        "zones[5]",
        "does not exist",
        id="missing-zone-file",
    ),
    pytest.param(
        "[network.office]",
        "[network.office\n",
        "line",
        "TOML syntax error",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), MISTAKES)
def test_world_mistakes_name_file_key_and_expectation(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    path = _broken_world(tmp_path, old, new)
    with pytest.raises(LabDataError) as caught:
        load_world(path)
    error = caught.value
    assert error.file == str(path)
    assert error.where.startswith(where), error
    assert problem in error.problem, error
    assert str(error).startswith(f"{path}: {error.where}")


def test_zone_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.com.zone").write_text(
        "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN MX 10\nwww IN A 192.0.2.1\n"
    )
    world = _broken_world(
        tmp_path, '"../zones/fabrikam.com.zone",', f'"{zones.as_posix()}/example.com.zone",'
    )
    with pytest.raises(LabDataError) as caught:
        load_world_dns(load_world(world))
    assert caught.value.file.endswith("example.com.zone")
    assert caught.value.where == "line 3"
    assert "zone syntax error" in caught.value.problem


def test_unknown_world_name_lists_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("known: contoso")):
        load_world("atlantis")
