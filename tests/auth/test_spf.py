"""check_spf itself: the verdict's fields, its trace, lab isolation between threads, the fallback."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import spf as pyspf

import mailflow_lab.auth.spf as lab_spf
from mailflow_lab.auth.spf import check_spf
from mailflow_lab.labdns.resolver import LabDNS

ZONE = """
example.com.            TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net a:mail.example.com -all"
mail.example.com.       A   198.51.100.25
_spf.example.net.       TXT "v=spf1 a:relay.example.net mx:example.net -all"
relay.example.net.      A   203.0.113.10
example.net.            MX  10 mx.example.net.
mx.example.net.         A   203.0.113.20
soft.example.com.       TXT "v=spf1 ip4:198.51.100.7 ~all"
neutral.example.com.    TXT "v=spf1 ip4:198.51.100.7"
redirect.example.com.   TXT "v=spf1 redirect=_spf.example.net"
printer.example.com.    TXT "v=spf1 ip4:203.0.113.99 -all"
printer.example.com.    A   203.0.113.99
over.example.com.       TXT ( "v=spf1 include:_spf.example.net include:_spf.example.net "
                              "include:_spf.example.net include:_spf.example.net a" )
broken.example.com.     TXT "v=spf1 a:down.example.org -all"
"""


@pytest.fixture(scope="module")
def lab_dns() -> LabDNS:
    dns = LabDNS.from_zone_text(ZONE, origin=".")
    dns.fail("down.example.org")
    return dns


# -- the mechanism that decided --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ip", "sender", "result", "mechanism"),
    [
        ("192.0.2.77", "alice@example.com", "pass", "ip4:192.0.2.0/24"),
        ("203.0.113.10", "alice@example.com", "pass", "include:_spf.example.net"),
        ("203.0.113.20", "alice@example.com", "pass", "include:_spf.example.net"),
        ("198.51.100.25", "alice@example.com", "pass", "a:mail.example.com"),
        ("198.51.100.1", "alice@example.com", "fail", "-all"),
        ("198.51.100.1", "alice@soft.example.com", "softfail", "~all"),
        ("198.51.100.1", "alice@neutral.example.com", "neutral", None),
        # After a redirect the mechanism is the one that matched in the target's record.
        ("203.0.113.10", "alice@redirect.example.com", "pass", "a:relay.example.net"),
        ("198.51.100.1", "alice@redirect.example.com", "fail", "-all"),
        ("198.51.100.1", "alice@nowhere.example.com", "none", None),
    ],
)
def test_mechanism_reported(
    lab_dns: LabDNS, ip: str, sender: str, result: str, mechanism: str | None
) -> None:
    verdict = check_spf(ip, sender, "mail.example.org", dns=lab_dns)
    assert (verdict.result, verdict.mechanism) == (result, mechanism)
    assert verdict.passed is (result == "pass")
    assert verdict.ip == ip


# -- lookups counted (RFC 7208 §4.6.4) -------------------------------------------------------------
@pytest.mark.parametrize(
    ("ip", "sender", "lookups"),
    [
        ("192.0.2.77", "alice@example.com", 0),  # ip4 queries no DNS
        ("203.0.113.10", "alice@example.com", 2),  # include, then a: inside it
        ("203.0.113.20", "alice@example.com", 3),  # include, a:, mx: inside it
        ("198.51.100.25", "alice@example.com", 4),  # ... then a:mail.example.com
        ("198.51.100.1", "alice@example.com", 4),  # every term evaluated, then -all
        ("203.0.113.20", "alice@redirect.example.com", 3),  # redirect, a:, mx:
        ("198.51.100.1", "alice@printer.example.com", 0),
    ],
)
def test_lookups_counted(lab_dns: LabDNS, ip: str, sender: str, lookups: int) -> None:
    verdict = check_spf(ip, sender, "mail.example.org", dns=lab_dns)
    assert verdict.lookups == lookups


def test_eleventh_lookup_is_permerror(lab_dns: LabDNS) -> None:
    # Four includes of three terms each: the eleventh term stops the check.
    verdict = check_spf("198.51.100.1", "alice@over.example.com", "mail.example.org", dns=lab_dns)
    assert verdict.result == "permerror"
    assert verdict.lookups == 11
    assert "Too many DNS lookups" in verdict.trace[-1]


# -- the trace ----------------------------------------------------------------------------------------
def test_trace_names_each_record_and_each_lookup(lab_dns: LabDNS) -> None:
    verdict = check_spf("198.51.100.25", "alice@example.com", "mail.example.org", dns=lab_dns)
    trace = list(verdict.trace)
    assert trace[0] == (
        'example.com: "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net a:mail.example.com -all"'
    )
    # The included record is named one level deeper, with its own result.
    assert '  _spf.example.net: "v=spf1 a:relay.example.net mx:example.net -all"' in trace
    assert "  _spf.example.net -> fail" in trace
    counted = [int(m.group(1)) for line in trace if (m := re.search(r"lookup (\d+) of 10", line))]
    assert counted == list(range(1, verdict.lookups + 1)) == [1, 2, 3, 4]
    assert trace[-2:] == ["example.com -> pass", "matched a:mail.example.com: pass"]


def test_trace_names_a_redirect_target(lab_dns: LabDNS) -> None:
    verdict = check_spf("198.51.100.1", "alice@redirect.example.com", "x.example.org", dns=lab_dns)
    assert verdict.trace[0] == 'redirect.example.com: "v=spf1 redirect=_spf.example.net"'
    assert any(line.strip().startswith("_spf.example.net: ") for line in verdict.trace)


def test_trace_of_a_missing_record(lab_dns: LabDNS) -> None:
    verdict = check_spf("198.51.100.1", "alice@nowhere.example.com", "mail.example.org", dns=lab_dns)
    assert verdict.trace == (
        "nowhere.example.com: no SPF record",
        "nowhere.example.com -> none",
        "no mechanism matched: none",
    )


def test_servfail_is_temperror_and_traced(lab_dns: LabDNS) -> None:
    verdict = check_spf("198.51.100.1", "alice@broken.example.com", "mail.example.org", dns=lab_dns)
    assert verdict.result == "temperror"
    assert "DNS A down.example.org: server failure" in [line.strip() for line in verdict.trace]
    assert verdict.trace[-1].startswith("temperror: ")


# -- identities (RFC 7208 §2.3, §2.4) -----------------------------------------------------------------
def test_mailfrom_identity(lab_dns: LabDNS) -> None:
    verdict = check_spf("203.0.113.99", "alice@example.com", "printer.example.com", dns=lab_dns)
    assert (verdict.identity, verdict.domain, verdict.result) == ("mailfrom", "example.com", "fail")


def test_helo_identity_when_mailfrom_is_empty(lab_dns: LabDNS) -> None:
    verdict = check_spf("203.0.113.99", "", "printer.example.com", dns=lab_dns)
    assert verdict.identity == "helo"
    assert verdict.domain == "printer.example.com"
    assert verdict.result == "pass"
    assert verdict.mechanism == "ip4:203.0.113.99"


def test_helo_identity_fails_other_addresses(lab_dns: LabDNS) -> None:
    verdict = check_spf("198.51.100.1", "", "printer.example.com", dns=lab_dns)
    assert (verdict.identity, verdict.result) == ("helo", "fail")


# -- a closed world --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contoso() -> LabDNS:
    """A lab holding only the contoso.com zone."""
    return LabDNS.from_zone_text(
        """
@       SOA ns1 hostmaster 1 3600 600 86400 300
@       NS  ns1
ns1     A   192.0.2.53
@       TXT "v=spf1 include:spf.example.org ip4:192.0.2.0/24 -all"
app     TXT "v=spf1 a:relay.example.org ip4:192.0.2.0/24 -all"
""",
        origin="contoso.com.",
    )


def test_sender_outside_every_zone_has_no_record(contoso: LabDNS) -> None:
    verdict = check_spf("192.0.2.10", "alice@example.org", "mail.example.org", dns=contoso)
    assert verdict.result == "none"
    assert "TXT example.org: outside the lab zones, taken as not existing" in verdict.trace[0]


def test_include_outside_every_zone_is_permerror(contoso: LabDNS) -> None:
    # RFC 7208 §5.2: an included domain without a record is a permanent error.
    verdict = check_spf("192.0.2.10", "alice@contoso.com", "mail.contoso.com", dns=contoso)
    assert verdict.result == "permerror"
    assert any("spf.example.org: outside the lab zones" in line for line in verdict.trace)


def test_a_outside_every_zone_does_not_match(contoso: LabDNS) -> None:
    assert check_spf("192.0.2.10", "bob@app.contoso.com", "x", dns=contoso).result == "pass"
    verdict = check_spf("198.51.100.1", "bob@app.contoso.com", "x", dns=contoso)
    assert (verdict.result, verdict.mechanism) == ("fail", "-all")


# -- two labs in one process ------------------------------------------------------------------------
def _lab_answering(client: str, relay: str) -> LabDNS:
    """A lab where shared.example.com allows `client` and, through an include, `relay`."""
    return LabDNS.from_zone_text(
        f"""
shared.example.com.        TXT "v=spf1 ip4:{client} include:_spf.shared.example.com -all"
_spf.shared.example.com.   TXT "v=spf1 a:relay.shared.example.com -all"
relay.shared.example.com.  A   {relay}
""",
        origin=".",
    )


def test_two_labs_in_many_threads_never_mix() -> None:
    labs = {
        "first": (_lab_answering("192.0.2.1", "192.0.2.11"), "192.0.2"),
        "second": (_lab_answering("198.51.100.1", "198.51.100.11"), "198.51.100"),
    }
    addresses = ["192.0.2.1", "192.0.2.11", "198.51.100.1", "198.51.100.11"]

    def work(seed: int) -> list[str]:
        rng = random.Random(seed)
        problems = []
        for _ in range(200):
            name = rng.choice(list(labs))
            dns, own_prefix = labs[name]
            ip = rng.choice(addresses)
            verdict = check_spf(ip, "alice@shared.example.com", "mail.example.org", dns=dns)
            expected = "pass" if ip.startswith(own_prefix + ".") else "fail"
            if verdict.result != expected or own_prefix not in verdict.trace[0]:
                problems.append(f"{name} {ip}: {verdict.result} {verdict.trace}")
        return problems

    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = [p for batch in pool.map(work, range(8)) for p in batch]
    assert problems == []


def test_check_inside_a_check_uses_each_own_lab() -> None:
    # Nested sessions (a check started while another is running in the same thread) restore
    # the outer lab afterwards.
    outer = _lab_answering("192.0.2.1", "192.0.2.11")
    inner = _lab_answering("198.51.100.1", "198.51.100.11")
    original_resolve = outer.resolve
    seen: list[str] = []

    def resolve(name: Any, rdtype: Any, follow_cname: bool = True) -> Any:
        if not seen:
            seen.append(check_spf("198.51.100.1", "a@shared.example.com", "x", dns=inner).result)
        return original_resolve(name, rdtype, follow_cname)

    outer.resolve = resolve  # type: ignore[method-assign]
    verdict = check_spf("192.0.2.11", "a@shared.example.com", "x", dns=outer)
    assert seen == ["pass"]
    assert (verdict.result, verdict.mechanism) == ("pass", "include:_spf.shared.example.com")


# -- pyspf outside a lab check --------------------------------------------------------------------------
@pytest.fixture
def fake_original(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Stand in for pyspf's own DNS lookup, which the adapter saved and falls back to."""
    calls: list[tuple[str, str]] = []
    records = {
        ("example.com", "TXT"): [(("example.com", "TXT"), [b"v=spf1 ip4:192.0.2.1 -all"])],
    }

    def lookup(name: str, qtype: str, strict: Any = True, timeout: Any = None) -> list[tuple]:
        calls.append((name, qtype))
        return records.get((name, qtype), [])

    monkeypatch.setattr(lab_spf, "_pyspf_lookup", lookup)
    yield calls


def test_adapter_is_installed_once() -> None:
    assert pyspf.DNSLookup is lab_spf._lab_lookup
    assert lab_spf._pyspf_lookup is not lab_spf._lab_lookup


def test_pyspf_outside_a_lab_check_uses_the_original_lookup(
    fake_original: list[tuple[str, str]],
) -> None:
    assert pyspf.check2(i="192.0.2.1", s="alice@example.com", h="mail.example.com")[0] == "pass"
    assert pyspf.check2(i="192.0.2.2", s="alice@example.com", h="mail.example.com")[0] == "fail"
    assert fake_original == [("example.com", "TXT"), ("example.com", "TXT")]


def test_lab_check_does_not_use_the_original_lookup(
    lab_dns: LabDNS, fake_original: list[tuple[str, str]]
) -> None:
    assert check_spf("192.0.2.77", "alice@example.com", "x", dns=lab_dns).result == "pass"
    assert fake_original == []
    # ... and after the check, pyspf on its own is back on the original lookup.
    pyspf.check2(i="192.0.2.1", s="alice@example.com", h="mail.example.com")
    assert fake_original == [("example.com", "TXT")]
