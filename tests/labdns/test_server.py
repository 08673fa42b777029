"""The lab DNS server on loopback, asked by dnspython's resolver, raw queries, asyncio and dig."""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.update
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow_lab.labdns.resolver import LabDNS
from mailflow_lab.labdns.server import DNSServer, respond
from mailflow_lab.labdns.zones import zone_from_text
from real_clients import needs

# The lab's contoso world, one zone per origin: dnspython keeps an SOA only at a zone's origin, and
# a "." zone would hold every name, leaving none outside the lab to be REFUSED.
ZONES = {
    "contoso.com.": """
contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 1 3600 600 86400 300
contoso.com. MX 0 contoso-com.mail.protection.outlook.com.
contoso.com. TXT "v=spf1 include:spf.protection.outlook.com -all"
contoso.com. TXT "MS=ms48123456"
autodiscover.contoso.com. CNAME autodiscover.outlook.com.
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
BIG_TXT = [f'"{"x" * 200} {i}"' for i in range(12)]  # about 2.5 kB: over 512 and over 1232 bytes
MX_HOST = "contoso-com.mail.protection.outlook.com."


def make_lab() -> LabDNS:
    lab_dns = LabDNS(zone_from_text(text, origin=origin) for origin, text in ZONES.items())
    lab_dns.set_records("big.contoso.com", "TXT", BIG_TXT)
    return lab_dns


LAB_FOR_FUZZ = make_lab()


@pytest.fixture
def lab_dns() -> LabDNS:
    return make_lab()


@pytest.fixture
def server(lab_dns: LabDNS) -> Iterator[DNSServer]:
    with DNSServer(lab_dns) as running:
        yield running


def resolver_for(server: DNSServer) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    resolver.lifetime = 3
    return resolver


def udp(server: DNSServer, query: dns.message.Message) -> dns.message.Message:
    return dns.query.udp(query, "127.0.0.1", port=server.port, timeout=2)


def tcp(server: DNSServer, query: dns.message.Message) -> dns.message.Message:
    return dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=2)


def texts(rrset: dns.rrset.RRset) -> set[str]:
    return {b"".join(rd.strings).decode() for rd in rrset}


# -- lifecycle ------------------------------------------------------------------------------------
def test_starts_fast_on_a_free_port_and_stops_cleanly(lab_dns: LabDNS) -> None:
    server = DNSServer(lab_dns)
    began = time.perf_counter()
    server.start()
    started = time.perf_counter() - began
    try:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0 and server.running
        assert started < 0.05
    finally:
        began = time.perf_counter()
        server.stop()
    assert time.perf_counter() - began < 0.5
    assert not server.running
    server.stop()  # twice is fine


def test_port_is_released_after_stop(lab_dns: LabDNS) -> None:
    with DNSServer(lab_dns) as server:
        port = server.port
        with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
            client.sendall(b"\x00")  # a connection left half-spoken when the server stops
        assert resolver_for(server).resolve("contoso.com", "MX")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))
    with DNSServer(lab_dns, port=port) as again:  # TCP and UDP both bindable again
        assert again.port == port
        assert resolver_for(again).resolve("contoso.com", "MX")


def test_a_taken_fixed_port_raises(lab_dns: LabDNS) -> None:
    with DNSServer(lab_dns) as server, pytest.raises(OSError):
        DNSServer(lab_dns, port=server.port).start()


def test_other_interfaces_warn(lab_dns: LabDNS) -> None:
    # 192.0.2.1 (TEST-NET-1) is no local address: the warning comes, then the bind fails.
    with pytest.warns(RuntimeWarning, match="not loopback"), pytest.raises(OSError):
        DNSServer(lab_dns, host="192.0.2.1").start()


def test_ipv6_loopback(lab_dns: LabDNS) -> None:
    try:
        server = DNSServer(lab_dns, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        reply = dns.query.udp(dns.message.make_query("contoso.com", "MX"), "::1", port=server.port)
        assert reply.answer[0][0].exchange.to_text() == MX_HOST


def test_cannot_start_twice(server: DNSServer) -> None:
    with pytest.raises(RuntimeError):
        server.start()


# -- answers --------------------------------------------------------------------------------------
def test_mx(server: DNSServer) -> None:
    answer = resolver_for(server).resolve("contoso.com", "MX")
    assert [(r.preference, r.exchange.to_text()) for r in answer] == [(0, MX_HOST)]


def test_txt_both_records(server: DNSServer) -> None:
    answer = resolver_for(server).resolve("contoso.com", "TXT")
    assert texts(answer.rrset) == {
        "v=spf1 include:spf.protection.outlook.com -all",
        "MS=ms48123456",
    }


def test_a(server: DNSServer) -> None:
    answer = resolver_for(server).resolve(MX_HOST, "A")
    assert [r.address for r in answer] == ["52.101.68.10"]


def test_cname_chain_is_followed(server: DNSServer) -> None:
    query = dns.message.make_query("autodiscover.contoso.com", "A")
    for reply in (udp(server, query), tcp(server, query)):
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.flags & dns.flags.AA
        section = [(r.name.to_text(), r.rdtype, r[0].to_text()) for r in reply.answer]
        assert section == [
            ("autodiscover.contoso.com.", dns.rdatatype.CNAME, "autodiscover.outlook.com."),
            ("autodiscover.outlook.com.", dns.rdatatype.CNAME, "autod.ms-acdc.office.com."),
            ("autod.ms-acdc.office.com.", dns.rdatatype.A, "52.96.1.1"),
        ]
    answer = resolver_for(server).resolve("autodiscover.contoso.com", "A")
    assert answer.canonical_name.to_text() == "autod.ms-acdc.office.com."
    assert [r.address for r in answer] == ["52.96.1.1"]


def test_nxdomain_inside_a_zone_carries_the_soa(server: DNSServer) -> None:
    reply = udp(server, dns.message.make_query("nothere.contoso.com", "A"))
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.flags & dns.flags.AA
    assert reply.answer == []
    [soa] = reply.authority
    assert soa.name.to_text() == "contoso.com." and soa.rdtype == dns.rdatatype.SOA
    assert soa.ttl == 300  # RFC 2308 §3: min(SOA TTL, SOA MINIMUM)
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver_for(server).resolve("nothere.contoso.com", "A")


def test_nodata_is_noerror_with_the_soa(server: DNSServer) -> None:
    reply = udp(server, dns.message.make_query("contoso.com", "AAAA"))
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer == []
    assert [r.rdtype for r in reply.authority] == [dns.rdatatype.SOA]
    with pytest.raises(dns.resolver.NoAnswer):
        resolver_for(server).resolve("contoso.com", "AAAA")


def test_outside_every_zone_is_refused(server: DNSServer) -> None:
    reply = udp(server, dns.message.make_query("www.example.org", "A"))
    assert reply.rcode() == dns.rcode.REFUSED
    assert not reply.flags & dns.flags.AA
    with pytest.raises(dns.resolver.NoNameservers):
        resolver_for(server).resolve("www.example.org", "A")


def test_servfail_where_the_lab_fails_a_name(server: DNSServer, lab_dns: LabDNS) -> None:
    lab_dns.fail("contoso.com")
    reply = udp(server, dns.message.make_query("contoso.com", "MX"))
    assert reply.rcode() == dns.rcode.SERVFAIL and reply.answer == []
    with pytest.raises(dns.resolver.NoNameservers):
        resolver_for(server).resolve("contoso.com", "MX")
    lab_dns.fail("contoso.com", failing=False)
    assert resolver_for(server).resolve("contoso.com", "MX")


def test_edits_to_the_lab_are_served_at_once(server: DNSServer, lab_dns: LabDNS) -> None:
    lab_dns.set_records("contoso.com", "TXT", ['"v=spf1 -all"'])
    assert texts(resolver_for(server).resolve("contoso.com", "TXT").rrset) == {"v=spf1 -all"}


def test_question_case_is_echoed(server: DNSServer) -> None:
    reply = udp(server, dns.message.make_query("CoNtOsO.CoM", "MX"))
    assert reply.question[0].name.to_text() == "CoNtOsO.CoM."
    assert len(reply.answer) == 1


# -- truncation -----------------------------------------------------------------------------------
def test_big_answer_truncated_over_udp_then_complete_over_tcp(server: DNSServer) -> None:
    query = dns.message.make_query("big.contoso.com", "TXT", use_edns=False)
    small = udp(server, query)
    assert small.flags & dns.flags.TC and small.answer == []
    assert len(small.to_wire()) <= 512
    full = tcp(server, query)
    assert not full.flags & dns.flags.TC
    assert len(full.answer[0]) == len(BIG_TXT)
    reply, used_tcp = dns.query.udp_with_fallback(query, "127.0.0.1", port=server.port, timeout=2)
    assert used_tcp and len(reply.answer[0]) == len(BIG_TXT)
    assert server.stats.truncated >= 2


def test_edns_payload_size_is_respected(server: DNSServer) -> None:
    small = udp(server, dns.message.make_query("big.contoso.com", "TXT", use_edns=0, payload=1232))
    assert small.flags & dns.flags.TC
    big = udp(server, dns.message.make_query("big.contoso.com", "TXT", use_edns=0, payload=4096))
    assert not big.flags & dns.flags.TC and len(big.answer[0]) == len(BIG_TXT)
    assert big.edns == 0
    tiny = udp(server, dns.message.make_query("contoso.com", "MX", use_edns=0, payload=100))
    assert not tiny.flags & dns.flags.TC  # RFC 6891: below 512 counts as 512


def test_resolver_retries_over_tcp(server: DNSServer) -> None:
    answer = resolver_for(server).resolve("big.contoso.com", "TXT")
    assert len(answer.rrset) == len(BIG_TXT)
    assert server.stats.truncated == 1 and server.stats.tcp_queries == 1


# -- odd queries ----------------------------------------------------------------------------------
def test_opcodes_other_than_query_are_not_implemented(server: DNSServer) -> None:
    update = dns.update.UpdateMessage("contoso.com")
    update.add("www", 300, "A", "192.0.2.1")
    assert udp(server, update).rcode() == dns.rcode.NOTIMP
    notify = dns.message.make_query("contoso.com", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert udp(server, notify).rcode() == dns.rcode.NOTIMP


@pytest.mark.parametrize(
    ("rdtype", "rdclass", "rcode"),
    [
        ("AXFR", "IN", dns.rcode.REFUSED),
        ("ANY", "IN", dns.rcode.NOTIMP),
        ("TXT", "CH", dns.rcode.REFUSED),
    ],
)
def test_transfers_meta_types_and_other_classes(
    server: DNSServer, rdtype: str, rdclass: str, rcode: dns.rcode.Rcode
) -> None:
    query = dns.message.make_query("contoso.com", rdtype, rdclass)
    wire = query.to_wire()
    reply = dns.message.from_wire(respond(make_lab(), wire, udp=False) or b"")
    assert reply.rcode() == rcode
    if rdtype != "AXFR":  # dnspython's client turns AXFR into a zone transfer
        assert udp(server, query).rcode() == rcode


def test_edns_version_1_gets_badvers(server: DNSServer) -> None:
    reply = udp(server, dns.message.make_query("contoso.com", "MX", use_edns=1))
    assert reply.rcode() == dns.rcode.BADVERS


def test_two_questions_get_formerr(server: DNSServer) -> None:
    query = dns.message.make_query("contoso.com", "MX")
    query.question.append(dns.message.make_query("contoso.com", "TXT").question[0])
    assert udp(server, query).rcode() == dns.rcode.FORMERR


# -- garbage --------------------------------------------------------------------------------------
def raw_udp(server: DNSServer, payload: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(payload, server.address)
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def test_garbage_over_udp_gets_formerr_or_is_dropped(server: DNSServer) -> None:
    assert raw_udp(server, b"") is None
    assert raw_udp(server, b"\x12\x34short") is None  # under a header: dropped
    reply = raw_udp(server, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff\xff")
    assert reply is not None
    message = dns.message.from_wire(reply)
    assert message.id == 0x1234 and message.rcode() == dns.rcode.FORMERR
    assert message.flags & dns.flags.QR and message.flags & dns.flags.RD
    trailing = dns.message.make_query("contoso.com", "MX").to_wire() + b"junk"
    assert dns.message.from_wire(raw_udp(server, trailing) or b"").rcode() == dns.rcode.FORMERR
    response = dns.message.make_response(dns.message.make_query("contoso.com", "MX")).to_wire()
    assert raw_udp(server, response) is None  # a response is never answered
    assert server.stats.malformed == 5
    assert resolver_for(server).resolve("contoso.com", "MX")


def read_tcp_message(sock: socket.socket) -> bytes:
    header = sock.recv(2, socket.MSG_WAITALL)
    (length,) = struct.unpack("!H", header)
    return sock.recv(length, socket.MSG_WAITALL)


def test_garbage_over_tcp_and_the_server_keeps_serving(server: DNSServer) -> None:
    with socket.create_connection(server.address, timeout=2) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not DNS: a huge length, never completed
    with socket.create_connection(server.address, timeout=2) as sock:
        sock.sendall(b"\x00\x03abc")  # a framed message shorter than a header: closed
        assert sock.recv(10) == b""
    with socket.create_connection(server.address, timeout=2) as sock:
        garbage = b"\xab\xcd\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xfe\xfd"
        sock.sendall(struct.pack("!H", len(garbage)) + garbage)
        reply = dns.message.from_wire(read_tcp_message(sock))
        assert reply.id == 0xABCD and reply.rcode() == dns.rcode.FORMERR
        query = dns.message.make_query("contoso.com", "MX")  # the same connection still works
        sock.sendall(query.to_wire(prepend_length=True))
        assert dns.message.from_wire(read_tcp_message(sock)).answer[0][0].preference == 0
    assert tcp(server, dns.message.make_query("contoso.com", "TXT")).answer


def test_several_pipelined_queries_on_one_connection(server: DNSServer) -> None:
    names = ["contoso.com", "autodiscover.contoso.com", "nothere.contoso.com", "big.contoso.com"]
    queries = [dns.message.make_query(name, "TXT") for name in names]
    with socket.create_connection(server.address, timeout=2) as sock:
        sock.sendall(b"".join(q.to_wire(prepend_length=True) for q in queries))
        sock.shutdown(socket.SHUT_WR)  # a half-close after the last query is still answered
        replies = [dns.message.from_wire(read_tcp_message(sock)) for _ in queries]
        assert sock.recv(10) == b""
    assert [r.id for r in replies] == [q.id for q in queries]
    assert replies[2].rcode() == dns.rcode.NXDOMAIN
    assert len(replies[3].answer[0]) == len(BIG_TXT)


def test_idle_tcp_connections_are_closed(lab_dns: LabDNS) -> None:
    with DNSServer(lab_dns, tcp_idle_timeout=0.2) as server:
        with socket.create_connection(server.address, timeout=2) as sock:
            began = time.monotonic()
            assert sock.recv(10) == b""
            assert 0.1 < time.monotonic() - began < 1.5
        with socket.create_connection(server.address, timeout=2) as sock:
            sock.sendall(b"\x00\x40partial")  # a query that never completes does not keep it open
            assert sock.recv(10) == b""


def test_concurrent_tcp_connections_are_bounded(lab_dns: LabDNS) -> None:
    query = dns.message.make_query("contoso.com", "MX")
    with DNSServer(lab_dns, max_tcp_connections=2) as server:
        first = socket.create_connection(server.address, timeout=2)
        second = socket.create_connection(server.address, timeout=2)
        try:
            for sock in (first, second):
                sock.sendall(query.to_wire(prepend_length=True))
                assert dns.message.from_wire(read_tcp_message(sock)).answer
            with socket.create_connection(server.address, timeout=2) as third:
                assert third.recv(10) == b""  # closed at once: over the limit
            assert server.stats.tcp_refused == 1
        finally:
            first.close()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # the freed slot is noticed once the close arrives
            try:
                assert tcp(server, query).answer
                break
            except (EOFError, ConnectionError):
                time.sleep(0.02)
        else:
            pytest.fail("no connection accepted after one was closed")
        second.close()


def test_many_threads_at_once(server: DNSServer) -> None:
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(20):
                assert resolver_for(server).resolve("autodiscover.contoso.com", "A")
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_answers_asyncio_clients(server: DNSServer) -> None:
    async def ask() -> list[dns.message.Message]:
        queries = [dns.message.make_query(n, "A") for n in ("autodiscover.contoso.com", MX_HOST)]
        return list(
            await asyncio.gather(
                *(dns.asyncquery.udp(q, "127.0.0.1", port=server.port, timeout=2) for q in queries)
            )
        )

    replies = asyncio.run(ask())
    assert [r.answer[-1][0].address for r in replies] == ["52.96.1.1", "52.101.68.10"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_get_a_reply_or_nothing(wire: bytes) -> None:
    reply = respond(LAB_FOR_FUZZ, wire)
    if reply is not None:
        message = dns.message.from_wire(reply)
        assert message.flags & dns.flags.QR and message.id == int.from_bytes(wire[:2])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mangled_queries_get_a_reply_or_nothing(data: st.DataObject) -> None:
    wire = bytearray(dns.message.make_query("autodiscover.contoso.com", "A").to_wire())
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    reply = respond(LAB_FOR_FUZZ, bytes(wire), udp=data.draw(st.booleans()))
    if reply is not None:
        assert dns.message.from_wire(reply).flags & dns.flags.QR


# -- a real client --------------------------------------------------------------------------------
@needs("dig")
def test_dig(server: DNSServer) -> None:
    def dig(*args: str) -> str:
        command = ["dig", "@127.0.0.1", "-p", str(server.port), "+time=2", "+tries=1", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout

    assert dig("contoso.com", "MX", "+short").split() == ["0", MX_HOST]
    assert dig("contoso.com", "MX", "+short", "+tcp").split() == ["0", MX_HOST]
    assert dig("autodiscover.contoso.com", "A", "+short").split() == [
        "autodiscover.outlook.com.",
        "autod.ms-acdc.office.com.",
        "52.96.1.1",
    ]
    spf = dig("contoso.com", "TXT", "+short")
    assert '"v=spf1 include:spf.protection.outlook.com -all"' in spf
    assert "status: NXDOMAIN" in dig("nothere.contoso.com", "A")
    assert "flags: qr aa" in dig("contoso.com", "MX", "+norecurse")
    assert "status: REFUSED" in dig("www.example.org", "A")
    big = dig("big.contoso.com", "TXT", "+ignore", "+noedns")
    [flags] = [line for line in big.splitlines() if line.startswith(";; flags:")]
    assert {"qr", "aa", "tc"} <= set(flags.split(";")[2].split(":")[1].split())
    assert len(dig("big.contoso.com", "TXT", "+short").splitlines()) == len(BIG_TXT)
