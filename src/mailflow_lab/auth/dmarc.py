"""DMARC (RFC 7489) by hand: records, organisational domains, alignment, policy and pct sampling."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dns.rcode

POLICIES = ("none", "quarantine", "reject")  # RFC 7489 §6.3 p=
FAILURE_OPTIONS = ("0", "1", "d", "s")  # RFC 7489 §6.3 fo=

# RFC 7489 §3.2 finds the organisational domain with the Public Suffix List. The lab is a closed
# world, so it carries a short built-in list instead: every single label (com, net, uk, ...) is a
# public suffix, plus the multi-label suffixes below. onmicrosoft.com and
# mail.protection.outlook.com are listed so that each tenant's initial domain and each customer's
# EOP host name is its own organisation, as Microsoft 365 treats them.
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "org.au",
        "co.nz",
        "co.jp",
        "com.br",
        "co.za",
        "onmicrosoft.com",
        "mail.onmicrosoft.com",
        "mail.protection.outlook.com",
    }
)

_SERVFAIL = dns.rcode.SERVFAIL

# RFC 7489 §6.6.3 step 2: records not starting with the DMARC version tag are discarded.
_VERSION_FIRST = re.compile(r"^\s*v\s*=\s*DMARC1\s*(;|$)")


class Resolver(Protocol):
    """What a DMARC check needs of a DNS source: an answer with `rcode` and TXT `records`."""

    def resolve(self, name: str, rdtype: str) -> Any: ...


# -- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DmarcRecord:
    """One parsed DMARC policy record (RFC 7489 §6.3); defaults as the RFC gives them."""

    p: str
    sp: str | None = None  # as published; None means subdomains get p
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    fo: tuple[str, ...] = ("0",)
    rf: str = "afrf"
    ri: int = 86400
    v: str = "DMARC1"
    text: str = ""
    notes: tuple[str, ...] = ()  # what the parser forgave, e.g. a missing p= with rua=

    @property
    def subdomain_policy(self) -> str:
        return self.sp if self.sp is not None else self.p


def parse_record(text: str) -> DmarcRecord:
    """Parse a DMARC TXT value; raise ValueError saying what is wrong with a bad one."""
    pairs = _tag_list(text)
    if not pairs or pairs[0][0] != "v":
        raise ValueError('a DMARC record must start with "v=DMARC1"')
    if pairs[0][1] != "DMARC1":  # RFC 7489 §6.4: the version is case-sensitive
        raise ValueError(f'unknown DMARC version "v={pairs[0][1]}" (only "v=DMARC1" exists)')
    tags = dict(pairs)
    notes: list[str] = []
    rua = _uris(tags, "rua")
    ruf = _uris(tags, "ruf")
    p = tags.get("p", "").lower()
    sp = tags["sp"].lower() if "sp" in tags else None
    if p not in POLICIES or (sp is not None and sp not in POLICIES):
        bad = "sp" if p in POLICIES else "p"
        problem = (
            'no "p=" tag (it is required)'
            if bad == "p" and "p" not in tags
            else f'"{bad}={tags.get(bad)}" is not none, quarantine or reject'
        )
        if not rua:  # RFC 7489 §6.6.3 step 6
            raise ValueError(problem)
        notes.append(f"{problem}; treated as p=none because rua= is present (RFC 7489 §6.6.3)")
        p, sp = "none", None
    return DmarcRecord(
        p=p,
        sp=sp,
        pct=_integer(tags, "pct", 100, 0, 100),
        adkim=_mode(tags, "adkim"),
        aspf=_mode(tags, "aspf"),
        rua=rua,
        ruf=ruf,
        fo=_failure_options(tags),
        rf=tags.get("rf", "afrf").lower(),
        ri=_integer(tags, "ri", 86400, 0, 2**32 - 1),
        text=text,
        notes=tuple(notes),
    )


def _tag_list(text: str) -> list[tuple[str, str]]:
    """RFC 6376 §3.2 tag=value list, as RFC 7489 §6.4 uses it."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in text.split(";"):
        if not part.strip():
            continue  # an empty element, e.g. after a trailing ";"
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f'"{part.strip()}" is not a tag=value pair')
        if name in seen:  # RFC 6376 §3.2: a repeated tag makes the whole list invalid
            raise ValueError(f'the tag "{name}=" appears more than once')
        seen.add(name)
        pairs.append((name, value.strip()))
    return pairs


def _uris(tags: dict[str, str], name: str) -> tuple[str, ...]:
    if name not in tags:
        return ()
    uris = tuple(u.strip() for u in tags[name].split(",") if u.strip())
    for uri in uris:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", uri):  # RFC 7489 §6.2: a URI with a scheme
            raise ValueError(f'"{uri}" in {name}= is not a URI such as mailto:dmarc@example.com')
    return uris


def _integer(tags: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in tags:
        return default
    value = tags[name]
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f'"{name}={value}" must be a whole number from {low} to {high}')
    return int(value)


def _mode(tags: dict[str, str], name: str) -> str:
    value = tags.get(name, "r").lower()
    if value not in ("r", "s"):
        raise ValueError(f'"{name}={tags[name]}" must be r (relaxed) or s (strict)')
    return value


def _failure_options(tags: dict[str, str]) -> tuple[str, ...]:
    options = tuple(o.strip().lower() for o in tags.get("fo", "0").split(":"))
    for option in options:
        if option not in FAILURE_OPTIONS:
            raise ValueError(f'"fo={tags["fo"]}" may only hold 0, 1, d and s separated by ":"')
    return options


# -- organisational domain and alignment ----------------------------------------------------------


def _norm(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def organizational_domain(domain: str) -> str:
    """The registered domain (RFC 7489 §3.2): public suffix plus one label, by the lab's list."""
    labels = _norm(domain).split(".")
    suffix_labels = 1
    for n in range(len(labels), 1, -1):  # the longest listed suffix wins (§3.2 step 3)
        if ".".join(labels[-n:]) in MULTI_LABEL_SUFFIXES:
            suffix_labels = n
            break
    return ".".join(labels[-(suffix_labels + 1) :])  # a bare suffix stays itself


def aligned(identifier: str | None, from_domain: str, mode: str = "r") -> bool:
    """Identifier alignment (RFC 7489 §3.1): strict = same name, relaxed = same organisation."""
    if not identifier:
        return False
    a, b = _norm(identifier), _norm(from_domain)
    if mode == "s":
        return a == b
    return organizational_domain(a) == organizational_domain(b)


# -- policy discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyLookup:
    """Where policy discovery (RFC 7489 §6.6.3) ended and what it found."""

    status: str  # found | none | temperror | permerror
    from_domain: str
    org_domain: str
    queried: tuple[str, ...]  # the _dmarc names looked up, in order
    record: DmarcRecord | None = None
    text: str | None = None  # the record as published, also when it could not be parsed
    policy_domain: str | None = None  # the domain whose _dmarc record was used
    reason: str = ""

    @property
    def for_subdomain(self) -> bool:
        """True when the organisational domain's record applies to a subdomain (sp= then)."""
        return self.policy_domain is not None and self.policy_domain != self.from_domain


def lookup_policy(from_domain: str, dns: Resolver) -> PolicyLookup:
    """Find the DMARC record for an RFC5322.From domain, falling back to its organisation's."""
    domain = _norm(from_domain)
    org = organizational_domain(domain)
    candidates = [domain] if domain == org else [domain, org]
    queried: list[str] = []
    for candidate in candidates:
        name = f"_dmarc.{candidate}"
        queried.append(name)
        answer = dns.resolve(name, "TXT")
        if answer.rcode == _SERVFAIL:
            reason = f"DNS lookup of TXT {name} failed (SERVFAIL)"
            return PolicyLookup("temperror", domain, org, tuple(queried), reason=reason)
        # NXDOMAIN, no TXT, or outside the lab zones (REFUSED): an empty set.
        texts = [b"".join(r.strings).decode("utf-8", "replace") for r in answer.records]
        texts = [t for t in texts if _VERSION_FIRST.match(t)]  # §6.6.3 steps 2 and 4
        if not texts:
            continue
        if len(texts) > 1:  # §6.6.3 step 5
            reason = f"{len(texts)} DMARC records at {name}: DMARC is not applied (RFC 7489 §6.6.3)"
            return PolicyLookup("none", domain, org, tuple(queried), reason=reason)
        text = texts[0]
        try:
            record = parse_record(text)
        except ValueError as exc:
            reason = f"the DMARC record at {name} is not valid: {exc}"
            return PolicyLookup("permerror", domain, org, tuple(queried), text=text, reason=reason)
        return PolicyLookup(
            "found",
            domain,
            org,
            tuple(queried),
            record=record,
            text=text,
            policy_domain=candidate,
            reason=f"DMARC record found at {name}",
        )
    reason = f"no DMARC record at {' or '.join(queried)}"
    return PolicyLookup("none", domain, org, tuple(queried), reason=reason)


# -- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DmarcVerdict:
    """The DMARC outcome for one message (RFC 7489 §11.2 results) and what to do with it."""

    result: str  # pass | fail | none | temperror | permerror
    policy: str | None  # the p= or sp= that applies (none | quarantine | reject), None without one
    disposition: str  # after pct sampling (RFC 7489 §6.6.4): none | quarantine | reject
    spf_aligned: bool
    dkim_aligned: bool
    record: str | None  # the record text used (or found but invalid)
    reason: str
    header_from: str = ""
    policy_domain: str | None = None
    sampled: bool = True

    @property
    def passed(self) -> bool:
        return self.result == "pass"


def sample_for(key: str | bytes) -> float:
    """A stable sample in [0, 100) from e.g. a Message-ID: the same message, the same fate."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big") % 10000 / 100


def evaluate_dmarc(
    header_from_domain: str,
    spf_result: str,
    spf_domain: str | None,
    dkim_results: Sequence[tuple[str, str | None]],
    dns: Resolver,
    sample: float | None = None,
) -> DmarcVerdict:
    """DMARC for a message from its RFC5322.From domain, SPF verdict and DKIM verdicts."""
    # Lab choice for pct (RFC 7489 §6.6.4 leaves the sampling method to the receiver): `sample` is a
    # number in [0, 100) and a failing message is sampled when sample < pct. Without one the lab
    # uses 0.0, so every failing message is sampled unless pct=0, and a lesson never flickers;
    # callers wanting a realistic spread pass sample_for(message_id).
    if sample is None:
        sample = 0.0
    if not 0.0 <= sample < 100.0:
        raise ValueError(f"sample must be in [0, 100), not {sample}")
    from_domain = _norm(header_from_domain)
    found = lookup_policy(from_domain, dns)
    if found.status != "found" or found.record is None:
        return DmarcVerdict(
            result=found.status,
            policy=None,
            disposition="none",
            spf_aligned=False,
            dkim_aligned=False,
            record=found.text,
            reason=found.reason,
            header_from=from_domain,
        )
    record = found.record
    policy = record.subdomain_policy if found.for_subdomain else record.p
    spf_ok = spf_result == "pass" and aligned(spf_domain, from_domain, record.aspf)
    dkim_ok = any(r == "pass" and aligned(d, from_domain, record.adkim) for r, d in dkim_results)
    if spf_ok or dkim_ok:
        how = " and ".join(w for w, ok in (("SPF", spf_ok), ("DKIM", dkim_ok)) if ok)
        reason = f"{how} passed with a domain aligned with {from_domain}"
        return DmarcVerdict(
            result="pass",
            policy=policy,
            disposition="none",
            spf_aligned=spf_ok,
            dkim_aligned=dkim_ok,
            record=record.text,
            reason=reason,
            header_from=from_domain,
            policy_domain=found.policy_domain,
        )
    # RFC 7489 §6.6.4: a failing message not sampled gets the next milder policy.
    sampled = sample < record.pct
    disposition = policy if sampled else {"reject": "quarantine"}.get(policy, "none")
    reason = (
        f"neither SPF nor DKIM passed with a domain aligned with {from_domain} "
        f"({_describe(spf_result, spf_domain, dkim_results, from_domain, record)})"
    )
    if policy == "none":
        reason += "; the policy is none, so the message is only reported"
    elif sampled:
        reason += f"; policy {policy} applies"
    else:
        reason += f"; policy {policy}, but not sampled (pct={record.pct}): {disposition} instead"
    return DmarcVerdict(
        result="fail",
        policy=policy,
        disposition=disposition,
        spf_aligned=spf_ok,
        dkim_aligned=dkim_ok,
        record=record.text,
        reason=reason,
        header_from=from_domain,
        policy_domain=found.policy_domain,
        sampled=sampled,
    )


def _describe(
    spf_result: str,
    spf_domain: str | None,
    dkim_results: Sequence[tuple[str, str | None]],
    from_domain: str,
    record: DmarcRecord,
) -> str:
    def one(kind: str, result: str, domain: str | None, mode: str) -> str:
        if result != "pass" or not domain:
            return f"{kind} {result}" + (f" for {domain}" if domain else "")
        mode_name = "strict" if mode == "s" else "relaxed"
        return f"{kind} pass for {domain}, not aligned ({mode_name})"

    parts = [one("SPF", spf_result, spf_domain, record.aspf)]
    parts += [one("DKIM", r, d, record.adkim) for r, d in dkim_results] or ["DKIM none"]
    return "; ".join(parts)
