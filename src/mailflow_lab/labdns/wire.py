"""Answering one DNS query in wire format from a LabDNS: pure bytes in, bytes out, no sockets."""

from __future__ import annotations

import logging
import struct
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from .resolver import Answer

log = logging.getLogger(__name__)

# RFC 1035 §4.2.1: a UDP reply is at most 512 bytes unless the query carries EDNS.
CLASSIC_UDP_SIZE = 512
# RFC 6891 §6.2.5: the UDP size the lab advertises (DNS Flag Day 2020 recommends 1232).
OUR_PAYLOAD = 1232
# RFC 1035 §4.2.2: TCP messages carry a two-byte length, so at most 65535 bytes.
MAX_MESSAGE = 65535
_HEADER = struct.Struct("!HH")


class Resolving(Protocol):
    """Anything that answers like LabDNS, and quickly: the server asks it one query at a time."""

    def resolve(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> Answer: ...


def respond(source: Resolving, wire: bytes, *, udp: bool = True) -> bytes | None:
    """One query in wire format -> the reply in wire format, or None when it must be dropped."""
    if len(wire) < 12:  # RFC 1035 §4.1.1: not even a header, nobody to answer
        return None
    query_id, flags = _HEADER.unpack_from(wire)
    if flags & dns.flags.QR:  # a response: never answer one (no loops, no reflection)
        return None
    try:
        query = dns.message.from_wire(wire)
    except dns.message.UnknownTSIGKey:
        return _header_only(query_id, flags, dns.rcode.NOTAUTH)  # RFC 8945 §5.2
    except Exception:  # any undecodable message; dnspython mostly raises FormError
        return _header_only(query_id, flags, dns.rcode.FORMERR)
    try:
        response = _answer(source, query)
        return _render(response, _size_limit(query, udp), udp)
    except Exception:
        log.exception("lab DNS failed to answer %s", query.question)
        return _header_only(query_id, flags, dns.rcode.SERVFAIL)


def _answer(source: Resolving, query: dns.message.Message) -> dns.message.Message:
    if query.edns > 0:  # RFC 6891 §6.1.3: only EDNS version 0 exists
        response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
        response.set_rcode(dns.rcode.BADVERS)
        return response
    if query.opcode() != dns.opcode.QUERY:  # RFC 1035 §4.1.1: NOTIFY, UPDATE, ... not here
        return _refuse(query, dns.rcode.NOTIMP)
    if len(query.question) != 1:  # RFC 9619: exactly one question
        return _refuse(query, dns.rcode.FORMERR, keep_question=False)
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        return _refuse(query, dns.rcode.REFUSED)
    if question.rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):  # RFC 5936 §4.2: no transfers
        return _refuse(query, dns.rcode.REFUSED)
    if dns.rdatatype.is_metatype(question.rdtype):  # ANY (RFC 8482), OPT, TSIG as a question
        return _refuse(query, dns.rcode.NOTIMP)
    answer = source.resolve(question.name, question.rdtype)
    response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
    response.set_rcode(answer.rcode)
    if answer.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return response  # REFUSED and SERVFAIL carry no records and no AA
    response.flags |= dns.flags.AA
    response.answer.extend(answer.rrsets)
    if answer.rrset is None and answer.authority is not None:
        response.authority.append(_negative_soa(answer.authority))
    return response


def _refuse(
    query: dns.message.Message, rcode: dns.rcode.Rcode, keep_question: bool = True
) -> dns.message.Message:
    response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
    if not keep_question:
        response.question = []
    response.set_rcode(rcode)
    return response


def _negative_soa(soa: dns.rrset.RRset) -> dns.rrset.RRset:
    """RFC 2308 §3: the SOA of a negative answer lives min(its TTL, SOA MINIMUM) seconds."""
    rrset = dns.rrset.RRset(soa.name, soa.rdclass, soa.rdtype)
    rrset.update(soa)
    rrset.ttl = min(soa.ttl, *(rd.minimum for rd in soa))
    return rrset


def _size_limit(query: dns.message.Message, udp: bool) -> int:
    if not udp:
        return MAX_MESSAGE
    if query.edns < 0:
        return CLASSIC_UDP_SIZE
    return min(max(query.payload, CLASSIC_UDP_SIZE), MAX_MESSAGE)  # RFC 6891 §6.2.5


def _render(response: dns.message.Message, limit: int, udp: bool) -> bytes:
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        pass
    response.answer, response.authority, response.additional = [], [], []
    if udp:
        # RFC 2181 §9 / RFC 7766 §5: set TC and keep only the question; the client retries on TCP.
        response.flags |= dns.flags.TC
    else:
        response.flags &= ~dns.flags.AA
        response.set_rcode(dns.rcode.SERVFAIL)
    return response.to_wire(max_size=limit)


def _header_only(query_id: int, flags: int, rcode: dns.rcode.Rcode) -> bytes:
    """A reply built from the query's header alone, for queries that cannot be decoded."""
    message = dns.message.Message(id=query_id)
    message.flags = dns.flags.QR | (flags & dns.flags.RD)
    message.set_opcode(dns.opcode.from_flags(flags))
    message.set_rcode(rcode)
    return message.to_wire()
