"""The lab's in-process DNS: authoritative answers from the lab zones, CNAMEs followed, cached."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import dns.node
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.zone

from .zones import txt_zone_value, zone_from_file, zone_from_text

# RFC 1034 §3.6.2 does not fix a limit; resolvers such as BIND stop around 16. The lab stops at 8.
MAX_CNAME_CHAIN = 8
# Answers the lab keeps (LRU): a lab world asks for a few hundred names, so 4096 holds every working set
# with room while random names (issue 18: 100,000 of them took 70 MB) can no longer grow memory.
CACHE_SIZE = 4096
# RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM); capped as BIND's max-ncache-ttl is.
MAX_NEGATIVE_TTL = 3600

RdType = dns.rdatatype.RdataType
NameLike = str | dns.name.Name


@dataclass(frozen=True)
class Answer:
    """One lookup's result: the response code, the CNAMEs followed, and the final records."""

    qname: dns.name.Name
    rdtype: RdType
    rcode: dns.rcode.Rcode
    chain: tuple[dns.rrset.RRset, ...] = ()
    rrset: dns.rrset.RRset | None = None
    authority: dns.rrset.RRset | None = None  # the zone's SOA, for negative answers

    @property
    def rrsets(self) -> list[dns.rrset.RRset]:
        """The answer section: CNAMEs then the records, as a DNS server sends them."""
        return [*self.chain, *([self.rrset] if self.rrset is not None else [])]

    @property
    def records(self) -> list[dns.rdata.Rdata]:
        return list(self.rrset) if self.rrset is not None else []

    @property
    def final_name(self) -> dns.name.Name:
        return self.rrset.name if self.rrset is not None else self.qname


@dataclass(frozen=True)
class _Cached:
    answer: Answer
    expiration: float  # time.time(), as dns.resolver.LRUCache compares it


class AnswerCache:
    """Bounded LRU of answers, each dropped at its TTL (dnspython's LRUCache under a typed face)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        if size < 1:
            raise ValueError(f"a cache holds at least one answer, not {size}")
        self._lru = dns.resolver.LRUCache(size)

    def get(self, key: tuple[dns.name.Name, RdType]) -> Answer | None:
        found: _Cached | None = self._lru.get((*key, dns.rdataclass.IN))  # type: ignore[assignment]
        return found.answer if found is not None else None

    def put(self, key: tuple[dns.name.Name, RdType], answer: Answer, ttl: int) -> None:
        """Keep an answer for ttl seconds; 0 or less: not at all."""
        if ttl > 0:
            entry = _Cached(answer, time.time() + ttl)
            self._lru.put((*key, dns.rdataclass.IN), entry)  # type: ignore[arg-type]

    def flush(self) -> None:
        self._lru.flush()

    def __len__(self) -> int:
        with self._lru.lock:
            return len(self._lru.data)


def cache_ttl(answer: Answer) -> int:
    """How long an answer may be kept: its records' minimum TTL, RFC 2308 for negatives, 0 for failures.

    REFUSED and SERVFAIL are never kept, nor a negative answer without an SOA (RFC 2308 §5).
    """
    if answer.rrset is not None:
        return min(r.ttl for r in answer.rrsets)
    if answer.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or answer.authority is None:
        return 0
    soa = answer.authority
    return min([soa.ttl, MAX_NEGATIVE_TTL, *(r.minimum for r in soa), *(r.ttl for r in answer.chain)])


@dataclass
class _Failing:
    names: set[dns.name.Name] = field(default_factory=set)


class LabDNS:
    """Authoritative resolver over the lab zones, safe to share between threads."""

    def __init__(self, zones: Iterable[dns.zone.Zone] = (), *, cache_size: int = CACHE_SIZE) -> None:
        self._zones: list[dns.zone.Zone] = []
        self._cache = AnswerCache(cache_size)
        self._failing = _Failing()
        self._lock = threading.RLock()
        self.queries = 0  # lookups that missed the cache, for the curious and for benchmarks
        for zone in zones:
            self.add_zone(zone)

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_zone_text(cls, text: str, origin: str = ".") -> LabDNS:
        """BIND zone text -> the lab resolver; any origin, "." included."""
        return cls([zone_from_text(text, origin=origin)])

    @classmethod
    def from_zone_files(cls, paths: Iterable[Path]) -> LabDNS:
        return cls(zone_from_file(Path(p)) for p in paths)

    def add_zone(self, zone: dns.zone.Zone) -> None:
        with self._lock:
            if any(z.origin == zone.origin for z in self._zones):
                raise ValueError(f"a zone for {zone.origin} is already loaded")
            self._zones.append(zone)
            # Longest origin first, so the most specific zone answers.
            self._zones.sort(key=lambda z: len(z.origin), reverse=True)
            self._cache.flush()

    def replace_zones(self, zones: Iterable[dns.zone.Zone]) -> None:
        """Serve these zones instead of those loaded (a lab reset): failing names healed, cache emptied."""
        fresh = LabDNS(zones)
        with self._lock:
            self._zones = fresh._zones
            self._failing.names.clear()
            self._cache.flush()

    @property
    def origins(self) -> list[str]:
        return [z.origin.to_text() for z in self._zones]

    def zone_for(self, name: NameLike) -> dns.zone.Zone | None:
        qname = _name(name)
        return next((z for z in self._zones if qname.is_subdomain(z.origin)), None)

    # -- editing (a learner fixing DNS) ---------------------------------------------------------
    def set_records(self, name: NameLike, rdtype: str, values: Iterable[str], ttl: int = 3600) -> None:
        """Replace the records of one type at a name.

        Example: ``set_records("contoso.com", "TXT", ['"v=spf1 -all"'])``.
        """
        qname, kind = _name(name), dns.rdatatype.from_text(rdtype)
        with self._lock:
            zone = self._zone_or_error(qname)
            rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, kind, ttl=ttl)
            for value in values:
                rdataset.add(
                    dns.rdata.from_text(dns.rdataclass.IN, kind, value, origin=zone.origin, relativize=False)
                )
            with zone.writer() as txn:
                txn.replace(qname, rdataset)
            self._cache.flush()

    def set_txt(self, name: NameLike, values: Iterable[str], ttl: int = 3600) -> None:
        """Publish TXT records given as plain text; long values are split into 255-octet strings."""
        self.set_records(name, "TXT", [txt_zone_value(v) for v in values], ttl=ttl)

    def add_record(self, name: NameLike, rdtype: str, value: str, ttl: int = 3600) -> None:
        """Add one record beside those already there (e.g. a second SPF TXT, a common mistake)."""
        kind = dns.rdatatype.from_text(rdtype)
        existing = [r.to_text() for r in self.resolve(name, kind, follow_cname=False).records]
        self.set_records(name, rdtype, [*existing, value], ttl=ttl)

    def remove_records(self, name: NameLike, rdtype: str | None = None) -> None:
        """Delete the records of one type at a name, or the whole name."""
        qname = _name(name)
        with self._lock:
            zone = self._zone_or_error(qname)
            with zone.writer() as txn:
                if rdtype is None:
                    txn.delete(qname)
                else:
                    txn.delete(qname, dns.rdatatype.from_text(rdtype))
            self._cache.flush()

    def fail(self, name: NameLike, failing: bool = True) -> None:
        """Make lookups of a name answer SERVFAIL (a broken DNS server), or heal it."""
        with self._lock:
            (self._failing.names.add if failing else self._failing.names.discard)(_name(name))
            self._cache.flush()

    def _zone_or_error(self, qname: dns.name.Name) -> dns.zone.Zone:
        zone = self.zone_for(qname)
        if zone is None:
            raise KeyError(f"{qname} is in no lab zone (zones: {', '.join(self.origins)})")
        return zone

    # -- looking up ------------------------------------------------------------------------------
    def resolve(self, name: NameLike, rdtype: str | RdType, follow_cname: bool = True) -> Answer:
        """Look a name up as the lab's authoritative servers would answer it."""
        qname = _name(name)
        kind = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
        key = (qname, kind)
        with self._lock:
            cached = self._cache.get(key) if follow_cname else None
            if cached is not None:
                return cached
            self.queries += 1
            answer = self._resolve(qname, kind, follow_cname)
            if follow_cname:
                self._cache.put(key, answer, cache_ttl(answer))
            return answer

    @property
    def cached_answers(self) -> int:
        """How many answers the cache holds now (expired ones linger until looked up or pushed out)."""
        return len(self._cache)

    def _resolve(self, qname: dns.name.Name, kind: RdType, follow_cname: bool) -> Answer:
        chain: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        current = qname
        while True:
            if current in self._failing.names:
                return Answer(qname, kind, dns.rcode.SERVFAIL)
            zone = self.zone_for(current)
            if zone is None:
                # Outside every zone: REFUSED for the question itself; a CNAME leading out stops there.
                rcode = dns.rcode.NOERROR if chain else dns.rcode.REFUSED
                return Answer(qname, kind, rcode, tuple(chain))
            node = _find_node(zone, current)
            if node is None:
                return Answer(qname, kind, dns.rcode.NXDOMAIN, tuple(chain), None, _soa(zone))
            rdataset = node.get_rdataset(dns.rdataclass.IN, kind)
            if rdataset is not None:
                rrset = dns.rrset.RRset(current, dns.rdataclass.IN, kind)
                rrset.update(rdataset)
                rrset.ttl = rdataset.ttl
                return Answer(qname, kind, dns.rcode.NOERROR, tuple(chain), rrset)
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or not follow_cname:
                return Answer(qname, kind, dns.rcode.NOERROR, tuple(chain), None, _soa(zone))
            rrset = dns.rrset.RRset(current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            rrset.update(cname)
            rrset.ttl = cname.ttl
            chain.append(rrset)
            seen.add(current)
            target = cname[0].target.derelativize(zone.origin)
            if target in seen or len(chain) > MAX_CNAME_CHAIN:
                # A CNAME loop or an over-long chain: SERVFAIL, as a recursive resolver reports it.
                return Answer(qname, kind, dns.rcode.SERVFAIL)
            current = target

    # -- conveniences ---------------------------------------------------------------------------
    def txt(self, name: NameLike) -> list[str]:
        """TXT records at a name, each joined from its strings."""
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self.resolve(name, "TXT").records]

    def addresses(self, name: NameLike) -> list[str]:
        """IPv4 then IPv6 addresses of a host name."""
        return [r.address for kind in ("A", "AAAA") for r in self.resolve(name, kind).records]

    def mx(self, name: NameLike) -> list[tuple[int, str]]:
        """MX records as (preference, host) sorted by preference."""
        found = [
            (r.preference, r.exchange.to_text(omit_final_dot=True)) for r in self.resolve(name, "MX").records
        ]
        return sorted(found)

    def zone_text(self, origin: NameLike) -> str:
        """A zone as BIND text, to show a learner."""
        with self._lock:
            zone = next((z for z in self._zones if z.origin == _name(origin)), None)
            if zone is None:
                raise KeyError(f"no lab zone {origin}")
            return zone.to_text(relativize=False)


def _name(name: NameLike) -> dns.name.Name:
    if isinstance(name, dns.name.Name):
        return name if name.is_absolute() else name.concatenate(dns.name.root)
    return dns.name.from_text(name.strip().rstrip(".") + "." if name.strip() != "." else ".")


def _find_node(zone: dns.zone.Zone, qname: dns.name.Name) -> dns.node.Node | None:
    """The node at a name, an empty node for an empty non-terminal, a wildcard match, or None."""
    node = zone.get_node(qname)
    if node is not None:
        return node
    # Empty non-terminal (RFC 8020): a name with descendants exists even without records.
    if _has_descendants(zone, qname):
        return dns.node.Node()
    # Wildcard at the closest encloser (RFC 4592 §3.3.1), which may itself be an empty non-terminal.
    encloser = qname.parent()
    while encloser.is_subdomain(zone.origin):
        if encloser == zone.origin or zone.get_node(encloser) is not None or _has_descendants(zone, encloser):
            return zone.get_node(dns.name.Name((b"*",)).concatenate(encloser))
        encloser = encloser.parent()
    return None


def _has_descendants(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    return any(existing.derelativize(zone.origin).is_subdomain(name) for existing in zone.nodes)


def _soa(zone: dns.zone.Zone) -> dns.rrset.RRset | None:
    rdataset = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
    if rdataset is None:
        return None
    rrset = dns.rrset.RRset(zone.origin, dns.rdataclass.IN, dns.rdatatype.SOA)
    rrset.update(rdataset)
    return rrset
