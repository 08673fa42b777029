"""SPF verdicts with pyspf (the reference implementation) reading the lab DNS through one adapter."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.rcode
import spf as pyspf


class Resolver(Protocol):
    """What an SPF check needs of a DNS source: LabDNS, or LiveDNS for a learner's real domain."""

    def resolve(self, name: str, rdtype: str) -> Any: ...


@dataclass
class _Session:
    dns: Resolver
    trace: list[str] = field(default_factory=list)
    depth: int = 0

    def note(self, text: str) -> None:
        self.trace.append("  " * self.depth + text)


# One adapter, installed once for the process: pyspf's lookup function reads the resolver of the
# check that is running in this thread or task. Two labs in one process never see each other's DNS.
_session: contextvars.ContextVar[_Session | None] = contextvars.ContextVar("spf_session", default=None)
_pyspf_lookup = pyspf.DNSLookup


def _lab_lookup(name: str, qtype: str, strict: Any = True, timeout: Any = None) -> list[tuple]:
    session = _session.get()
    if session is None:  # pyspf used by someone else in this process: leave it as it was
        return _pyspf_lookup(name, qtype, strict, timeout)
    answer = session.dns.resolve(name, qtype)
    if answer.rcode == dns.rcode.SERVFAIL:
        session.note(f"DNS {qtype} {name}: server failure")
        raise pyspf.TempError(f"DNS lookup of {qtype} {name} failed (SERVFAIL)")
    if answer.rcode == dns.rcode.REFUSED:
        # The lab is a closed world: a name outside every lab zone does not exist here.
        session.note(f"DNS {qtype} {name}: outside the lab zones, taken as not existing")
        return []
    # As pyspf's own dnspython lookup does: the final records under the name asked for, CNAMEs
    # already followed. Handing pyspf the chain makes it count one void lookup per alias of a
    # dangling CNAME, and owner names in text form (alice\@...) miss its cache.
    return [((name, qtype), _value(qtype, rdata)) for rdata in answer.records]


def _value(kind: str, rdata: Any) -> Any:
    if kind in ("A", "AAAA"):
        return rdata.address
    if kind == "MX":
        return (rdata.preference, rdata.exchange.to_text(omit_final_dot=True))
    if kind in ("CNAME", "PTR"):
        return rdata.target.to_text(omit_final_dot=True)
    if kind in ("TXT", "SPF"):
        return list(rdata.strings)
    return rdata.to_text()


pyspf.DNSLookup = _lab_lookup


class _TracingQuery(pyspf.query):
    """pyspf's query, noting each record it evaluates and each lookup it counts."""

    def __init__(self, session: _Session, *args: Any, **kwargs: Any) -> None:
        self._session = session
        super().__init__(*args, **kwargs)

    def check1(self, spf: str | None, domain: str, recursion: int) -> Any:
        record = f'"{spf}"' if spf else "no SPF record"
        self._session.note(f"{domain}: {record}")
        self._session.depth += 1
        try:
            result = super().check1(spf, domain, recursion)
        finally:
            self._session.depth -= 1
        self._session.note(f"{domain} -> {result[0]}")
        return result

    def check_lookups(self) -> None:
        super().check_lookups()
        self._session.note(f"DNS-querying term, lookup {self.lookups} of {pyspf.MAX_LOOKUP}")


@dataclass(frozen=True)
class SpfVerdict:
    """The outcome of one SPF check (RFC 7208 §2.6)."""

    result: str
    mechanism: str | None
    lookups: int
    trace: tuple[str, ...]
    explanation: str
    ip: str
    domain: str
    identity: str  # "mailfrom" or "helo"

    @property
    def passed(self) -> bool:
        return self.result == "pass"


@contextmanager
def _lab_session(resolver: Resolver) -> Iterator[_Session]:
    session = _Session(resolver)
    token = _session.set(session)
    try:
        yield session
    finally:
        _session.reset(token)


def check_spf(
    ip: str, sender: str, helo: str, *, dns: Resolver, receiver: str = "protection.outlook.com"
) -> SpfVerdict:
    """Evaluate SPF for a client address, envelope sender (empty for bounces) and HELO name."""
    with _lab_session(dns) as session:
        query = _TracingQuery(session, i=ip, s=sender, h=helo, receiver=receiver, strict=True)
        result, _code, explanation = query.check()
        mechanism = query.mechanism
        if result in ("permerror", "temperror"):
            session.note(f"{result}: {getattr(query, 'prob', explanation)}")
        elif mechanism:
            session.note(f"matched {mechanism}: {result}")
        else:
            session.note(f"no mechanism matched: {result}")
    return SpfVerdict(
        result=result,
        mechanism=mechanism,
        lookups=query.lookups,
        trace=tuple(session.trace),
        explanation=explanation,
        ip=ip,
        domain=query.o,
        identity=query.ident,
    )
