"""Mail-flow keys in the world file: the filter, EF, outbound connectors, mistakes named, the round trip."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.world.loader import data_dir, load_world
from mailflow_lab.world.model import InboundConnector, MailFilter, OutboundConnector
from mailflow_lab.world.state import tenant_from_dict, tenant_to_dict

WORLD = data_dir() / "worlds" / "contoso.toml"
DKIM = "[[tenant.dkim]]"


def _world(tmp_path: Path, old: str, new: str) -> Path:
    text = WORLD.read_text()
    assert old in text, old
    text = text.replace(old, new, 1).replace('"../', f'"{data_dir().as_posix()}/')
    path = tmp_path / "world.toml"
    path.write_text(text)
    return path


def test_default_world_has_the_litware_filter_and_no_connectors() -> None:
    world = load_world()
    assert world.filters == [
        MailFilter("Litware filter", "filter.litware.com", ipaddress.ip_address("198.51.100.80"))
    ]
    assert world.tenant.outbound_connectors == []
    dns = load_world_dns(world)
    assert dns.addresses("filter.litware.com") == ["198.51.100.80"]
    # Nothing points at the filter until a learner changes the MX.
    assert dns.mx("contoso.com") == [(0, "contoso-com.mail.protection.outlook.com")]


def test_connectors_with_every_new_key_load(tmp_path: Path) -> None:
    added = (
        '[[tenant.inbound_connectors]]\nname = "Litware filter"\nconnector_type = "Partner"\n'
        'sender_ip_addresses = ["198.51.100.80"]\nrestrict_domains_to_ip_addresses = true\n'
        'ef_skip_ips = ["198.51.100.80", "198.51.100.0/24"]\nef_skip_last_ip = false\n'
        'ef_users = ["Alex@Contoso.com"]\n\n'
        '[[tenant.inbound_connectors]]\nname = "From on-premises"\n'
        'tls_sender_certificate_name = "mail.contoso.com"\ntreat_messages_as_internal = true\n\n'
        '[[tenant.outbound_connectors]]\nname = "To on-premises"\nconnector_type = "OnPremises"\n'
        'recipient_domains = ["*"]\nsmart_hosts = ["mail.contoso.com"]\nuse_mx_record = false\n'
        'tls_settings = "domainvalidation"\ntls_domain = "mail.contoso.com"\n'
        "route_all_messages_via_on_premises = true\n\n" + DKIM
    )
    tenant = load_world(_world(tmp_path, DKIM, added)).tenant
    litware, onprem = tenant.inbound_connectors
    assert litware.ef_skip_ips == [
        ipaddress.ip_network("198.51.100.80/32"),
        ipaddress.ip_network("198.51.100.0/24"),
    ]
    assert litware.ef_users == ["alex@contoso.com"] and litware.enhanced_filtering
    assert onprem.treat_messages_as_internal and not onprem.enhanced_filtering
    (outbound,) = tenant.outbound_connectors
    assert outbound == OutboundConnector(
        "To on-premises",
        "OnPremises",
        ["*"],
        ["mail.contoso.com"],
        use_mx_record=False,
        tls_settings="DomainValidation",
        tls_domain="mail.contoso.com",
        route_all_messages_via_on_premises=True,
    )


MISTAKES = [
    pytest.param(
        DKIM,
        '[[tenant.inbound_connectors]]\nname = "F"\nconnector_type = "Partner"\n'
        'ef_skip_ips = ["198.51.0.0/16"]\n\n' + DKIM,
        "tenant.inbound_connectors[0].ef_skip_ips[0]",
        "from /24 to /32",
        id="ef-skip-ips-too-wide",
    ),
    pytest.param(
        DKIM,
        '[[tenant.inbound_connectors]]\nname = "F"\nconnector_type = "Partner"\nef_skip_ips = ["filter"]\n\n'
        + DKIM,
        "tenant.inbound_connectors[0].ef_skip_ips[0]",
        "expected an address range in CIDR",
        id="ef-skip-ips-not-an-address",
    ),
    pytest.param(
        DKIM,
        '[[tenant.inbound_connectors]]\nname = "F"\nconnector_type = "Partner"\nef_users = ["alex"]\n\n'
        + DKIM,
        "tenant.inbound_connectors[0].ef_users[0]",
        "expected an email address",
        id="ef-users-not-an-address",
    ),
    pytest.param(
        DKIM,
        '[[tenant.outbound_connectors]]\nname = "O"\nuse_mx_record = false\n\n' + DKIM,
        "tenant.outbound_connectors[0].smart_hosts",
        "UseMXRecord is $false",
        id="smart-hosts-missing",
    ),
    pytest.param(
        DKIM,
        '[[tenant.outbound_connectors]]\nname = "O"\nroute_all_messages_via_on_premises = true\n\n' + DKIM,
        "tenant.outbound_connectors[0].route_all_messages_via_on_premises",
        "requires ConnectorType OnPremises",
        id="centralized-needs-onpremises",
    ),
    pytest.param(
        DKIM,
        '[[tenant.outbound_connectors]]\nname = "O"\ntls_settings = "Always"\n\n' + DKIM,
        "tenant.outbound_connectors[0].tls_settings",
        "expected one of EncryptionOnly, CertificateValidation, DomainValidation",
        id="tls-settings-unknown",
    ),
    pytest.param(
        DKIM,
        '[[tenant.outbound_connectors]]\nname = "O"\ntls_settings = "EncryptionOnly"\n'
        'tls_domain = "fabrikam.com"\n\n' + DKIM,
        "tenant.outbound_connectors[0].tls_domain",
        "only with TlsSettings DomainValidation",
        id="tls-domain-without-domain-validation",
    ),
    pytest.param(
        DKIM,
        '[[tenant.outbound_connectors]]\nname = "O"\n\n[[tenant.outbound_connectors]]\nname = "o"\n\n' + DKIM,
        "tenant.outbound_connectors[1].name",
        "duplicate connector name",
        id="duplicate-outbound",
    ),
    pytest.param(
        'host = "filter.litware.com"',
        'host = "mail.fabrikam.com"',
        "filters[0].host",
        "already a lab mail server",
        id="filter-host-taken",
    ),
    pytest.param(
        'public_ip = "198.51.100.80"',
        'public_ip = "filter"',
        "filters[0].public_ip",
        "expected an IPv4 or IPv6 address",
        id="filter-bad-address",
    ),
    pytest.param(
        'host = "filter.litware.com"',
        'host = "filter.litware.com"\nport = 2525',
        "filters[0].port",
        "unknown key",
        id="filter-unknown-key",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), MISTAKES)
def test_mistakes_name_the_key(tmp_path: Path, old: str, new: str, where: str, problem: str) -> None:
    with pytest.raises(LabDataError) as caught:
        load_world(_world(tmp_path, old, new))
    assert caught.value.where.startswith(where), caught.value
    assert problem in caught.value.problem, caught.value


def test_tenant_json_round_trip_keeps_ef_and_outbound_connectors() -> None:
    tenant = load_world().tenant
    tenant.inbound_connectors.append(
        InboundConnector(
            "Litware filter",
            "Partner",
            [ipaddress.ip_network("198.51.100.80/32")],
            ef_skip_ips=[ipaddress.ip_network("198.51.100.80/32")],
            ef_skip_last_ip=True,
            ef_users=["alex@contoso.com"],
            treat_messages_as_internal=True,
        )
    )
    tenant.outbound_connectors.append(
        OutboundConnector("To Fabrikam", recipient_domains=["fabrikam.com"], tls_settings="EncryptionOnly")
    )
    again = tenant_from_dict(json.loads(json.dumps(tenant_to_dict(tenant))))
    assert again.inbound_connectors == tenant.inbound_connectors
    assert again.outbound_connectors == tenant.outbound_connectors


def test_tenant_json_saved_before_these_keys_still_loads() -> None:
    data = tenant_to_dict(load_world().tenant)
    data["inbound_connectors"] = [
        {
            k: v
            for k, v in vars(InboundConnector("Old", sender_ip_addresses=[])).items()
            if not k.startswith("ef_")
        }
        | {"sender_ip_addresses": ["203.0.113.10/32"]}
    ]
    del data["outbound_connectors"]
    data["inbound_connectors"][0].pop("treat_messages_as_internal")
    tenant = tenant_from_dict(data)
    (old,) = tenant.inbound_connectors
    assert not old.enhanced_filtering and old.ef_users == [] and tenant.outbound_connectors == []
