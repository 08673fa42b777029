"""The lab DNS bounds its memory and TCP slots: a sized, TTL-aware cache; idle TCP clients closed."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from mailflow_lab.labdns.live import LiveDNS
from mailflow_lab.labdns.resolver import CACHE_SIZE, MAX_NEGATIVE_TTL, LabDNS, cache_ttl
from mailflow_lab.labdns.server import MAX_TCP_CONNECTIONS, TCP_IDLE_TIMEOUT, DNSServer
from mailflow_lab.labdns.zones import zone_from_text

ZONES = {
    "contoso.com.": """
contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 1 3600 600 86400 300
contoso.com. 3600 MX 0 contoso-com.mail.protection.outlook.com.
contoso.com. 3600 TXT "v=spf1 include:spf.protection.outlook.com -all"
short.contoso.com. 1 TXT "kept for one second"
""",
    # A zone whose negative answers live one second (SOA MINIMUM 1, RFC 2308 §5).
    "brief.test.": """
brief.test. 3600 IN SOA ns1.brief.test. hostmaster.brief.test. 1 3600 600 86400 1
brief.test. 3600 TXT "here"
""",
    # Negative TTL asked for a day: the lab caps it.
    "long.test.": """
long.test. 86400 IN SOA ns1.long.test. hostmaster.long.test. 1 3600 600 86400 86400
""",
}


def make_lab(cache_size: int = CACHE_SIZE) -> LabDNS:
    return LabDNS(
        (zone_from_text(text, origin=origin) for origin, text in ZONES.items()), cache_size=cache_size
    )


@pytest.fixture
def small_cache() -> LabDNS:
    return make_lab(cache_size=16)


@pytest.fixture
def server(small_cache: LabDNS) -> Iterator[DNSServer]:
    with DNSServer(small_cache) as running:
        yield running


def udp(server: DNSServer, name: str, rdtype: str = "TXT") -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, "127.0.0.1", port=server.port, timeout=3)


def tcp(server: DNSServer, name: str, rdtype: str = "TXT", timeout: float = 3) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=timeout)


# -- the resolver's cache ---------------------------------------------------------------------------------


def test_the_cache_stays_bounded_after_many_distinct_names(server: DNSServer, small_cache: LabDNS) -> None:
    names = [f"random-{i}.contoso.com" for i in range(300)]
    for name in names:
        assert udp(server, name).rcode() == dns.rcode.NXDOMAIN
    assert 0 < small_cache.cached_answers <= 16
    before = small_cache.queries
    udp(server, names[0])  # pushed out long ago: looked up again
    assert small_cache.queries == before + 1
    udp(server, names[-1])  # the most recent: still cached
    assert small_cache.queries == before + 1


def test_the_default_cache_is_bounded_too() -> None:
    lab_dns = make_lab()
    for i in range(CACHE_SIZE + 500):
        lab_dns.resolve(f"n{i}.contoso.com", "A")
    assert lab_dns.cached_answers <= CACHE_SIZE


def test_expired_answers_are_not_served(server: DNSServer, small_cache: LabDNS) -> None:
    first = udp(server, "short.contoso.com")
    assert first.answer and first.answer[0].ttl == 1
    udp(server, "short.contoso.com")
    udp(server, "nothing.brief.test")  # NXDOMAIN, kept for the SOA MINIMUM: one second
    udp(server, "nothing.brief.test")
    assert small_cache.queries == 2  # each asked twice, looked up once
    time.sleep(1.5)
    assert udp(server, "short.contoso.com").answer
    assert udp(server, "nothing.brief.test").rcode() == dns.rcode.NXDOMAIN
    assert small_cache.queries == 4  # both expired, both looked up again
    udp(server, "contoso.com", "MX")
    udp(server, "contoso.com", "MX")
    assert small_cache.queries == 5  # an hour's TTL: still served from the cache


def test_refused_and_servfail_are_never_cached(server: DNSServer, small_cache: LabDNS) -> None:
    for _ in range(3):
        assert udp(server, "elsewhere.example").rcode() == dns.rcode.REFUSED
    assert small_cache.queries == 3
    small_cache.fail("contoso.com")
    for _ in range(3):
        assert udp(server, "contoso.com", "MX").rcode() == dns.rcode.SERVFAIL
    assert small_cache.queries == 6
    assert small_cache.cached_answers == 0


def test_negative_answers_live_for_the_soa_minimum_capped() -> None:
    lab_dns = make_lab()
    assert cache_ttl(lab_dns.resolve("nothing.contoso.com", "A")) == 300  # NXDOMAIN: SOA MINIMUM
    assert cache_ttl(lab_dns.resolve("contoso.com", "AAAA")) == 300  # NODATA: the same
    assert cache_ttl(lab_dns.resolve("nothing.long.test", "A")) == MAX_NEGATIVE_TTL
    assert cache_ttl(lab_dns.resolve("contoso.com", "MX")) == 3600
    assert cache_ttl(lab_dns.resolve("elsewhere.example", "A")) == 0


def test_live_dns_cache_is_bounded_and_keeps_no_refusals(server: DNSServer) -> None:
    live = LiveDNS(["127.0.0.1"], port=server.port, timeout=3, cache_size=8)
    for i in range(60):
        assert live.resolve(f"random-{i}.contoso.com", "A").rcode == dns.rcode.NXDOMAIN
    assert 0 < live.cached_answers <= 8
    before = live.queries
    for _ in range(3):
        assert live.resolve("elsewhere.example", "A").rcode == dns.rcode.REFUSED
    assert live.queries == before + 3


# -- TCP slots ----------------------------------------------------------------------------------------------


def _connect_all(server: DNSServer, count: int) -> list[socket.socket]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(server.address, timeout=5))
        deadline = time.monotonic() + 10
        while server.stats.tcp_connections < count and time.monotonic() < deadline:
            time.sleep(0.02)  # every connection accepted before the test goes on
        assert server.stats.tcp_connections >= count
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _ask_once(sock: socket.socket) -> None:
    sock.sendall(dns.message.make_query("contoso.com", "MX").to_wire(prepend_length=True))
    (length,) = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))
    assert dns.message.from_wire(sock.recv(length, socket.MSG_WAITALL)).answer


def test_silent_tcp_clients_give_way_to_a_new_one(small_cache: LabDNS) -> None:
    with DNSServer(small_cache) as server:
        socks = _connect_all(server, MAX_TCP_CONNECTIONS)
        try:
            assert udp(server, "contoso.com", "MX").answer  # UDP does not wait for TCP
            assert tcp(server, "contoso.com", "MX").answer  # the oldest silent client makes room
            assert server.stats.tcp_evicted >= 1
            assert socks[0].recv(10) == b""  # and sees a clean close
        finally:
            for sock in socks:
                sock.close()


def test_idle_tcp_clients_free_their_slots_at_the_idle_timeout(small_cache: LabDNS) -> None:
    assert TCP_IDLE_TIMEOUT <= 5
    with DNSServer(small_cache) as server:
        socks = _connect_all(server, MAX_TCP_CONNECTIONS)
        try:
            for sock in socks:
                _ask_once(sock)  # each asked once then went quiet: none is pushed out
            full = time.monotonic()
            with pytest.raises((dns.exception.DNSException, OSError, EOFError)):
                tcp(server, "contoso.com", "MX", timeout=2)  # every slot is taken
            assert udp(server, "contoso.com", "MX").answer  # UDP is answered meanwhile
            answered = None
            # The slots free up TCP_IDLE_TIMEOUT (5 s) after the last answers; 10 s would miss this.
            while answered is None and time.monotonic() < full + 9:
                try:
                    answered = tcp(server, "contoso.com", "MX", timeout=2)
                except (dns.exception.DNSException, OSError, EOFError):
                    time.sleep(0.2)
            assert answered is not None and answered.answer
            assert socks[0].recv(10) == b""  # the idle clients were closed
        finally:
            for sock in socks:
                sock.close()
