"""LiveDNS asking the lab's own DNS server on loopback: the same answers as LabDNS."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import dns.rcode
import dns.rdatatype
import pytest

from mailflow_lab.labdns.live import LiveDNS
from mailflow_lab.labdns.resolver import LabDNS
from mailflow_lab.labdns.server import DNSServer
from mailflow_lab.labdns.zones import zone_from_text

ZONES = {  # one zone per origin: dnspython keeps an SOA only at a zone's origin
    "contoso.com.": """
contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 1 3600 600 86400 300
contoso.com. MX 0 contoso-com.mail.protection.outlook.com.
contoso.com. TXT "v=spf1 include:spf.protection.outlook.com -all"
contoso.com. TXT "MS=ms48123456"
autodiscover.contoso.com. CNAME autodiscover.outlook.com.
leaving.contoso.com. CNAME www.example.org.
short.contoso.com. 0 TXT "not cached"
""",
    "outlook.com.": """
outlook.com. 3600 IN SOA ns1.outlook.com. hostmaster.outlook.com. 1 3600 600 86400 300
autodiscover.outlook.com. CNAME autod.ms-acdc.office.com.
contoso-com.mail.protection.outlook.com. A 52.101.68.10
""",
    "office.com.": """
office.com. 3600 IN SOA ns1.office.com. hostmaster.office.com. 1 3600 600 86400 300
autod.ms-acdc.office.com. A 52.96.1.1
""",
}


@pytest.fixture
def lab_dns() -> LabDNS:
    lab_dns = LabDNS(zone_from_text(text, origin=origin) for origin, text in ZONES.items())
    lab_dns.set_records("big.contoso.com", "TXT", [f'"{"x" * 200} {i}"' for i in range(12)])
    return lab_dns


@pytest.fixture
def server(lab_dns: LabDNS) -> Iterator[DNSServer]:
    with DNSServer(lab_dns) as running:
        yield running


@pytest.fixture
def live(server: DNSServer) -> LiveDNS:
    return LiveDNS(nameservers=["127.0.0.1"], port=server.port, timeout=2)


@pytest.mark.parametrize(
    ("name", "rdtype", "rcode"),
    [
        ("contoso.com", "MX", dns.rcode.NOERROR),
        ("contoso.com", "TXT", dns.rcode.NOERROR),
        ("contoso-com.mail.protection.outlook.com", "A", dns.rcode.NOERROR),
        ("autodiscover.contoso.com", "A", dns.rcode.NOERROR),  # two CNAMEs then the A
        ("autodiscover.contoso.com", "CNAME", dns.rcode.NOERROR),
        ("autodiscover.contoso.com", "AAAA", dns.rcode.NOERROR),  # chain, then no data
        ("contoso.com", "AAAA", dns.rcode.NOERROR),  # no data: SOA in authority
        ("nothere.contoso.com", "A", dns.rcode.NXDOMAIN),
        ("www.example.org", "A", dns.rcode.REFUSED),
        ("leaving.contoso.com", "A", dns.rcode.NOERROR),  # a CNAME out of the lab stops there
        ("big.contoso.com", "TXT", dns.rcode.NOERROR),  # truncated over UDP, retried over TCP
    ],
)
def test_same_answers_as_the_lab(
    live: LiveDNS, lab_dns: LabDNS, name: str, rdtype: str, rcode: dns.rcode.Rcode
) -> None:
    expected = lab_dns.resolve(name, rdtype)
    got = live.resolve(name, rdtype)
    assert expected.rcode == rcode
    assert got == expected  # qname, type, rcode, CNAME chain, records and authority SOA
    assert [r.name for r in got.rrsets] == [r.name for r in expected.rrsets]


def test_servfail_where_the_lab_fails_a_name(live: LiveDNS, lab_dns: LabDNS) -> None:
    lab_dns.fail("contoso.com")
    assert live.resolve("contoso.com", "MX") == lab_dns.resolve("contoso.com", "MX")
    assert live.resolve("contoso.com", "MX").rcode == dns.rcode.SERVFAIL
    lab_dns.fail("contoso.com", failing=False)
    assert live.resolve("contoso.com", "MX").rcode == dns.rcode.NOERROR  # failures not cached


def test_servfail_inside_a_cname_chain(live: LiveDNS, lab_dns: LabDNS) -> None:
    lab_dns.fail("autod.ms-acdc.office.com")
    got = live.resolve("autodiscover.contoso.com", "A")
    assert got.rcode == lab_dns.resolve("autodiscover.contoso.com", "A").rcode == dns.rcode.SERVFAIL
    assert got.records == []  # a resolver reports no partial chain on SERVFAIL


def test_answers_are_cached_per_instance(live: LiveDNS, server: DNSServer, lab_dns: LabDNS) -> None:
    first = live.resolve("contoso.com", "MX")
    asked = server.stats.udp_queries
    assert live.resolve("contoso.com.", dns.rdatatype.MX) is first
    assert live.resolve("nothere.contoso.com", "A") is live.resolve("nothere.contoso.com", "A")
    assert server.stats.udp_queries == asked + 1
    assert live.queries == 2
    lab_dns.set_records("contoso.com", "MX", ["10 mx.contoso.com."])
    assert live.resolve("contoso.com", "MX") is first  # until the TTL runs out, or...
    live.clear_cache()
    assert [r.preference for r in live.resolve("contoso.com", "MX").records] == [10]
    other = LiveDNS(nameservers=["127.0.0.1"], port=server.port)
    assert other.resolve("contoso.com", "MX") is not first


def test_zero_ttl_is_not_cached(live: LiveDNS, server: DNSServer) -> None:
    live.resolve("short.contoso.com", "TXT")
    asked = server.stats.udp_queries
    live.resolve("short.contoso.com", "TXT")
    assert server.stats.udp_queries == asked + 1


def test_a_silent_server_is_servfail_after_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        live = LiveDNS(nameservers=["127.0.0.1"], port=silent.getsockname()[1], timeout=0.3)
        began = time.monotonic()
        answer = live.resolve("contoso.com", "MX")
    assert answer.rcode == dns.rcode.SERVFAIL and answer.rrsets == []
    assert time.monotonic() - began < 2


def test_no_server_at_all_is_servfail() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed: nothing listens there
    live = LiveDNS(nameservers=["127.0.0.1"], port=port, timeout=0.3)
    assert live.resolve("contoso.com", "MX").rcode == dns.rcode.SERVFAIL


def test_repr_names_the_servers(live: LiveDNS, server: DNSServer) -> None:
    assert live.nameservers == ["127.0.0.1"]
    assert f"port {server.port}" in repr(live)
