"""Live DNS: real lookups answered as lab Answers, opt-in, for checking a real domain."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset

from .resolver import CACHE_SIZE, MAX_NEGATIVE_TTL, Answer, AnswerCache, NameLike, RdType

# DNS Flag Day 2020: an EDNS UDP size that avoids IP fragmentation; larger answers come over TCP.
EDNS_PAYLOAD = 1232
DEFAULT_TIMEOUT = 5.0  # seconds for one lookup, all servers and retries included


class LiveDNS:
    """The LabDNS lookup interface backed by a real resolver; answers cached for their TTL."""

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        # No nameservers: the system's configuration (/etc/resolv.conf, or the registry on Windows).
        resolver = dns.resolver.Resolver(configure=nameservers is None)
        if nameservers is not None:
            resolver.nameservers = list(nameservers)
        resolver.port = port
        resolver.lifetime = timeout
        resolver.timeout = min(resolver.timeout, timeout)
        resolver.use_edns(0, 0, EDNS_PAYLOAD)
        self._resolver = resolver
        self._cache = AnswerCache(cache_size)  # bounded LRU, each answer kept for its TTL
        self._lock = threading.Lock()
        self.queries = 0  # lookups that missed the cache, as LabDNS counts them

    @property
    def nameservers(self) -> list[str]:
        return [str(server) for server in self._resolver.nameservers]

    def __repr__(self) -> str:
        return f"<LiveDNS {', '.join(self.nameservers)} port {self._resolver.port}>"

    def resolve(self, name: NameLike, rdtype: str | RdType) -> Answer:
        """Look a name up for real: CNAMEs as the resolver returns them, failures as SERVFAIL."""
        qname = _absolute(name)
        kind = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
        key = (qname, kind)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            self.queries += 1
        answer, ttl = self._lookup(qname, kind)
        if answer.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):  # REFUSED, SERVFAIL: never kept
            self._cache.put(key, answer, ttl if answer.rrset is not None else min(ttl, MAX_NEGATIVE_TTL))
        return answer

    @property
    def cached_answers(self) -> int:
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forget every answer, e.g. after changing a record at the DNS host."""
        with self._lock:
            self._cache.flush()

    def _lookup(self, qname: dns.name.Name, kind: RdType) -> tuple[Answer, int]:
        """The answer and how long it may be cached (0: not at all, as for failures)."""
        try:
            result = self._resolver.resolve(qname, kind, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            responses = exc.responses()
            response = responses.get(qname) or next(iter(responses.values()), None)
            if response is None:
                return Answer(qname, kind, dns.rcode.NXDOMAIN), 0
            return _from_response(qname, kind, dns.rcode.NXDOMAIN, response)
        except dns.resolver.NoAnswer as exc:  # only when raise_on_no_answer is left True
            return _from_response(qname, kind, dns.rcode.NOERROR, exc.response())
        except dns.resolver.NoNameservers as exc:
            return Answer(qname, kind, _failure_rcode(exc)), 0
        except dns.exception.DNSException:  # Timeout, YXDOMAIN, a malformed reply, ...
            return Answer(qname, kind, dns.rcode.SERVFAIL), 0
        return _from_response(qname, kind, dns.rcode.NOERROR, result.response)


def _from_response(
    qname: dns.name.Name, kind: RdType, rcode: dns.rcode.Rcode, response: dns.message.Message
) -> tuple[Answer, int]:
    try:
        chaining = response.resolve_chaining()
    except dns.exception.DNSException:  # a chain too long, records beside NXDOMAIN
        return Answer(qname, kind, dns.rcode.SERVFAIL), 0
    authority = None
    if chaining.answer is None:
        authority = next((r for r in response.authority if r.rdtype == dns.rdatatype.SOA), None)
    answer = Answer(qname, kind, rcode, tuple(chaining.cnames), chaining.answer, authority)
    return answer, chaining.minimum_ttl


def _failure_rcode(exc: dns.resolver.NoNameservers) -> dns.rcode.Rcode:
    """REFUSED when every server said so (a name outside the lab's zones); else SERVFAIL."""
    # Each error is (server, tcp, port, what went wrong, the response if one came).
    responses = [error[-1] for error in exc.kwargs.get("errors", [])]
    rcodes = {r.rcode() if isinstance(r, dns.message.Message) else None for r in responses}
    return dns.rcode.REFUSED if rcodes == {dns.rcode.REFUSED} else dns.rcode.SERVFAIL


def _absolute(name: NameLike) -> dns.name.Name:
    if isinstance(name, dns.name.Name):
        return name if name.is_absolute() else name.concatenate(dns.name.root)
    return dns.name.from_text(name.strip())
