"""DMARC: record parsing, organisational domains, alignment, policy discovery and dispositions."""

from __future__ import annotations

from typing import Any

import pytest

from mailflow_lab.auth.dmarc import (
    DmarcRecord,
    aligned,
    evaluate_dmarc,
    lookup_policy,
    organizational_domain,
    parse_record,
    sample_for,
)
from mailflow_lab.labdns.resolver import LabDNS

ZONE = """
. IN SOA ns1.lab. hostmaster.lab. 1 3600 600 1209600 300
_dmarc.contoso.com.             IN TXT "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@contoso.com"
_dmarc.contoso.com.             IN TXT "some-verification=abc123"
_dmarc.fabrikam.com.            IN TXT "v=DMARC1; p=quarantine"
_dmarc.own.fabrikam.com.        IN TXT "v=DMARC1; p=none"
_dmarc.strict.example.          IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.half.example.            IN TXT "v=DMARC1; p=reject; pct=50"
_dmarc.quarter.example.         IN TXT "v=DMARC1; p=quarantine; pct=25"
_dmarc.never.example.           IN TXT "v=DMARC1; p=reject; pct=0"
_dmarc.twice.example.           IN TXT "v=DMARC1; p=reject"
_dmarc.twice.example.           IN TXT "v=DMARC1; p=none"
_dmarc.sub.twice.example.       IN TXT "v=DMARC1; p=none"
_dmarc.bad.example.             IN TXT "v=DMARC1; p=always"
_dmarc.lenient.example.         IN TXT "v=DMARC1; p=always; rua=mailto:r@lenient.example"
_dmarc.notdmarc.example.        IN TXT "v=spf1 -all"
_dmarc.split.example.           IN TXT "v=DMARC1; " "p=reject"
_dmarc.contoso.co.uk.           IN TXT "v=DMARC1; p=reject"
_dmarc.contoso.onmicrosoft.com. IN TXT "v=DMARC1; p=quarantine"
_dmarc.target.example.          IN TXT "v=DMARC1; p=reject"
_dmarc.alias.example.           IN CNAME _dmarc.target.example.
nodmarc.example.                IN A 192.0.2.1
"""


@pytest.fixture
def lab_dns() -> LabDNS:
    return LabDNS.from_zone_text(ZONE)


# -- record parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=none", {"p": "none", "sp": None, "pct": 100, "adkim": "r", "aspf": "r"}),
        ("v=DMARC1;p=reject", {"p": "reject", "subdomain_policy": "reject"}),
        ("v=DMARC1; p=quarantine;", {"p": "quarantine"}),
        ("  v = DMARC1 ;  p = Reject ; ", {"p": "reject"}),
        ("v=DMARC1; p=reject; sp=none", {"sp": "none", "subdomain_policy": "none"}),
        ("v=DMARC1; p=none; pct=0", {"pct": 0}),
        ("v=DMARC1; p=none; pct=100", {"pct": 100}),
        ("v=DMARC1; p=quarantine; pct=25", {"pct": 25}),
        ("v=DMARC1; p=none; adkim=s; aspf=S", {"adkim": "s", "aspf": "s"}),
        ("v=DMARC1; p=none; adkim=r", {"adkim": "r"}),
        (
            "v=DMARC1; p=none; rua=mailto:a@contoso.com,mailto:b@ext.example!10m",
            {"rua": ("mailto:a@contoso.com", "mailto:b@ext.example!10m"), "ruf": ()},
        ),
        ("v=DMARC1; p=none; ruf=mailto:f@contoso.com", {"ruf": ("mailto:f@contoso.com",)}),
        ("v=DMARC1; p=none; fo=1", {"fo": ("1",)}),
        ("v=DMARC1; p=none; fo=d:s", {"fo": ("d", "s")}),
        ("v=DMARC1; p=none", {"fo": ("0",), "rf": "afrf", "ri": 86400}),
        ("v=DMARC1; p=none; ri=3600; rf=afrf", {"ri": 3600}),
        ("v=DMARC1; p=none; future=tag", {"p": "none"}),  # RFC 7489 §6.3: unknown tags ignored
        ("v=DMARC1; p=bogus; rua=mailto:r@x.example", {"p": "none", "sp": None}),
        ("v=DMARC1; rua=mailto:r@x.example", {"p": "none"}),
        ("v=DMARC1; p=reject; sp=bogus; rua=mailto:r@x.example", {"p": "none", "sp": None}),
    ],
)
def test_parse_record(text: str, expected: dict[str, Any]) -> None:
    record = parse_record(text)
    assert record.text == text
    assert record.v == "DMARC1"
    for name, value in expected.items():
        assert getattr(record, name) == value, name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'must start with "v=DMARC1"'),
        ("p=reject; v=DMARC1", 'must start with "v=DMARC1"'),
        ("v=spf1 -all", 'unknown DMARC version "v=spf1'),
        ("v=dmarc1; p=none", 'unknown DMARC version "v=dmarc1"'),
        ("v=DMARC2; p=none", 'unknown DMARC version "v=DMARC2"'),
        ("v=DMARC1", 'no "p=" tag'),
        ("v=DMARC1; sp=reject", 'no "p=" tag'),
        ("v=DMARC1; p=always", '"p=always" is not none, quarantine or reject'),
        ("v=DMARC1; p=", '"p=" is not none, quarantine or reject'),
        ("v=DMARC1; p=none; sp=hard", '"sp=hard" is not none, quarantine or reject'),
        ("v=DMARC1; p=none; pct=101", '"pct=101" must be a whole number from 0 to 100'),
        ("v=DMARC1; p=none; pct=-1", '"pct=-1" must be a whole number'),
        ("v=DMARC1; p=none; pct=50%", '"pct=50%" must be a whole number'),
        ("v=DMARC1; p=none; adkim=relaxed", '"adkim=relaxed" must be r .relaxed. or s'),
        ("v=DMARC1; p=none; aspf=x", '"aspf=x" must be r'),
        ("v=DMARC1; p=none; fo=2", '"fo=2" may only hold 0, 1, d and s'),
        ("v=DMARC1; p=none; rua=dmarc@contoso.com", '"dmarc@contoso.com" in rua= is not a URI'),
        ("v=DMARC1; p=none; ruf=mailto:", '"mailto:" in ruf= is not a URI'),
        ("v=DMARC1; p=none; ri=daily", '"ri=daily" must be a whole number'),
        ("v=DMARC1; p=none; p=reject", 'the tag "p=" appears more than once'),
        ("v=DMARC1; p=none; reject", '"reject" is not a tag=value pair'),
        ("v=DMARC1; p=none; 1x=y", '"1x=y" is not a tag=value pair'),
    ],
)
def test_parse_record_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_record(text)


def test_forgiven_p_is_noted() -> None:
    record = parse_record("v=DMARC1; p=bogus; rua=mailto:r@x.example")
    assert record.notes == (
        '"p=bogus" is not none, quarantine or reject; '
        "treated as p=none because rua= is present (RFC 7489 §6.6.3)",
    )
    assert parse_record("v=DMARC1; p=none").notes == ()


def test_record_defaults() -> None:
    assert parse_record("v=DMARC1; p=none") == DmarcRecord(p="none", text="v=DMARC1; p=none")


# -- organisational domain and alignment ----------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("contoso.com", "contoso.com"),
        ("mail.contoso.com", "contoso.com"),
        ("a.b.c.contoso.com", "contoso.com"),
        ("Mail.Contoso.COM.", "contoso.com"),
        ("com", "com"),
        ("contoso.co.uk", "contoso.co.uk"),
        ("mail.contoso.co.uk", "contoso.co.uk"),
        ("co.uk", "co.uk"),
        ("shop.contoso.com.au", "contoso.com.au"),
        ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        ("fabrikam.onmicrosoft.com", "fabrikam.onmicrosoft.com"),
        ("contoso.mail.onmicrosoft.com", "contoso.mail.onmicrosoft.com"),
        ("onmicrosoft.com", "onmicrosoft.com"),
        ("contoso-com.mail.protection.outlook.com", "contoso-com.mail.protection.outlook.com"),
        ("outlook.com", "outlook.com"),
        ("spf.protection.outlook.com", "outlook.com"),
        ("uk", "uk"),
        ("x.uk", "x.uk"),
    ],
)
def test_organizational_domain(domain: str, org: str) -> None:
    assert organizational_domain(domain) == org


@pytest.mark.parametrize(
    ("identifier", "from_domain", "mode", "expected"),
    [
        ("contoso.com", "contoso.com", "r", True),
        ("contoso.com", "contoso.com", "s", True),
        ("CONTOSO.com.", "contoso.COM", "s", True),
        ("mail.contoso.com", "contoso.com", "r", True),
        ("mail.contoso.com", "contoso.com", "s", False),
        ("contoso.com", "news.contoso.com", "r", True),
        ("contoso.com", "news.contoso.com", "s", False),
        ("a.contoso.com", "b.contoso.com", "r", True),
        ("a.contoso.com", "b.contoso.com", "s", False),
        ("fabrikam.com", "contoso.com", "r", False),
        ("contoso.com.evil.example", "contoso.com", "r", False),
        ("contoso.onmicrosoft.com", "contoso.com", "r", False),
        ("fabrikam.onmicrosoft.com", "contoso.onmicrosoft.com", "r", False),
        ("bounce.contoso.co.uk", "contoso.co.uk", "r", True),
        ("fabrikam.co.uk", "contoso.co.uk", "r", False),
        (None, "contoso.com", "r", False),
        ("", "contoso.com", "r", False),
    ],
)
def test_aligned(identifier: str | None, from_domain: str, mode: str, expected: bool) -> None:
    assert aligned(identifier, from_domain, mode) is expected


# -- policy discovery ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_domain", "status", "policy_domain", "queried"),
    [
        ("contoso.com", "found", "contoso.com", ["_dmarc.contoso.com"]),
        ("mail.contoso.com", "found", "contoso.com", ["_dmarc.mail.contoso.com", "_dmarc.contoso.com"]),
        ("own.fabrikam.com", "found", "own.fabrikam.com", ["_dmarc.own.fabrikam.com"]),
        ("split.example", "found", "split.example", ["_dmarc.split.example"]),
        ("alias.example", "found", "alias.example", ["_dmarc.alias.example"]),
        ("nodmarc.example", "none", None, ["_dmarc.nodmarc.example"]),
        ("a.nodmarc.example", "none", None, ["_dmarc.a.nodmarc.example", "_dmarc.nodmarc.example"]),
        ("unknown.test", "none", None, ["_dmarc.unknown.test"]),
        ("notdmarc.example", "none", None, ["_dmarc.notdmarc.example"]),
        ("twice.example", "none", None, ["_dmarc.twice.example"]),
        ("x.twice.example", "none", None, ["_dmarc.x.twice.example", "_dmarc.twice.example"]),
        ("sub.twice.example", "found", "sub.twice.example", ["_dmarc.sub.twice.example"]),
        ("bad.example", "permerror", None, ["_dmarc.bad.example"]),
        ("mail.contoso.co.uk", "found", "contoso.co.uk",
         ["_dmarc.mail.contoso.co.uk", "_dmarc.contoso.co.uk"]),
    ],
)  # fmt: skip
def test_lookup_policy(
    lab_dns: LabDNS, from_domain: str, status: str, policy_domain: str | None, queried: list[str]
) -> None:
    found = lookup_policy(from_domain, lab_dns)
    assert found.status == status
    assert found.policy_domain == policy_domain
    assert list(found.queried) == queried
    assert (found.record is not None) is (status == "found")


def test_lookup_reasons(lab_dns: LabDNS) -> None:
    assert lookup_policy("contoso.com", lab_dns).reason == "DMARC record found at _dmarc.contoso.com"
    assert lookup_policy("a.nodmarc.example", lab_dns).reason == (
        "no DMARC record at _dmarc.a.nodmarc.example or _dmarc.nodmarc.example"
    )
    assert lookup_policy("twice.example", lab_dns).reason == (
        "2 DMARC records at _dmarc.twice.example: DMARC is not applied (RFC 7489 §6.6.3)"
    )
    bad = lookup_policy("bad.example", lab_dns)
    assert bad.text == "v=DMARC1; p=always"
    assert bad.reason == (
        'the DMARC record at _dmarc.bad.example is not valid: "p=always" is not none, quarantine or reject'
    )


def test_split_record_strings_are_joined(lab_dns: LabDNS) -> None:
    found = lookup_policy("split.example", lab_dns)
    assert found.record is not None and found.record.p == "reject"


@pytest.mark.parametrize("failing", ["_dmarc.contoso.com", "_dmarc.mail.contoso.com"])
def test_servfail_is_temperror(lab_dns: LabDNS, failing: str) -> None:
    lab_dns.fail(failing)
    verdict = evaluate_dmarc("mail.contoso.com", "fail", "contoso.com", [], lab_dns)
    assert verdict.result == "temperror"
    assert verdict.policy is None
    assert verdict.disposition == "none"
    assert verdict.reason == f"DNS lookup of TXT {failing} failed (SERVFAIL)"


# -- evaluation ------------------------------------------------------------------------------------

P, F, N = "pass", "fail", "none"
R, Q = "reject", "quarantine"

EVALUATIONS = [
    # from, spf result, spf domain, dkim results, sample -> result, policy, disposition, spf al., dkim al.
    # SPF and DKIM, pass and fail, aligned and not (contoso.com: p=reject, relaxed).
    ("contoso.com", P, "contoso.com", [], None, P, R, N, True, False),
    ("contoso.com", P, "bounce.contoso.com", [], None, P, R, N, True, False),
    ("contoso.com", P, "mailer.example", [], None, F, R, R, False, False),
    ("contoso.com", F, "contoso.com", [], None, F, R, R, False, False),
    ("contoso.com", "softfail", "contoso.com", [], None, F, R, R, False, False),
    ("contoso.com", "neutral", "contoso.com", [], None, F, R, R, False, False),
    ("contoso.com", "temperror", "contoso.com", [], None, F, R, R, False, False),
    ("contoso.com", N, None, [], None, F, R, R, False, False),
    ("contoso.com", F, "contoso.com", [(P, "contoso.com")], None, P, R, N, False, True),
    ("contoso.com", F, "x.example", [(P, "mail.contoso.com")], None, P, R, N, False, True),
    ("contoso.com", F, "x.example", [(F, "contoso.com")], None, F, R, R, False, False),
    ("contoso.com", F, "x.example", [(P, "contoso.onmicrosoft.com")], None, F, R, R, False, False),
    ("contoso.com", F, "x.example", [("permerror", "contoso.com")], None, F, R, R, False, False),
    ("contoso.com", F, "x.example", [(N, None)], None, F, R, R, False, False),
    ("contoso.com", P, "contoso.com", [(P, "contoso.com")], None, P, R, N, True, True),
    ("contoso.com", P, "x.example", [(P, "y.example"), (P, "contoso.com")], None, P, R, N, False, True),
    ("contoso.com", P, "contoso.com", [(F, "contoso.com")], None, P, R, N, True, False),
    # Subdomains: sp= from the organisational domain's record, unless they publish their own.
    ("mail.contoso.com", F, "x.example", [], None, F, Q, Q, False, False),
    ("mail.contoso.com", P, "contoso.com", [], None, P, Q, N, True, False),
    ("mail.fabrikam.com", F, "x.example", [], None, F, Q, Q, False, False),
    ("own.fabrikam.com", F, "x.example", [], None, F, N, N, False, False),
    ("own.fabrikam.com", P, "fabrikam.com", [], None, P, N, N, True, False),
    ("fabrikam.com", F, "x.example", [], None, F, Q, Q, False, False),
    # Strict alignment.
    ("strict.example", P, "strict.example", [], None, P, R, N, True, False),
    ("strict.example", P, "bounce.strict.example", [], None, F, R, R, False, False),
    ("strict.example", F, None, [(P, "strict.example")], None, P, R, N, False, True),
    ("strict.example", F, None, [(P, "s1.strict.example")], None, F, R, R, False, False),
    ("a.strict.example", P, "a.strict.example", [], None, P, R, N, True, False),
    ("a.strict.example", P, "strict.example", [], None, F, R, R, False, False),
    # pct sampling both ways (RFC 7489 §6.6.4): not sampled = the next milder action.
    ("half.example", F, None, [], 0.0, F, R, R, False, False),
    ("half.example", F, None, [], 49.99, F, R, R, False, False),
    ("half.example", F, None, [], 50.0, F, R, Q, False, False),
    ("half.example", F, None, [], 99.9, F, R, Q, False, False),
    ("half.example", F, None, [], None, F, R, R, False, False),
    ("quarter.example", F, None, [], 24.0, F, Q, Q, False, False),
    ("quarter.example", F, None, [], 25.0, F, Q, N, False, False),
    ("never.example", F, None, [], None, F, R, Q, False, False),
    ("never.example", F, None, [], 0.0, F, R, Q, False, False),
    ("half.example", P, "half.example", [], 99.0, P, R, N, True, False),
    ("contoso.com", F, None, [], 99.9, F, R, R, False, False),
    # No policy, several policies, a broken policy.
    ("nodmarc.example", F, None, [], None, N, None, N, False, False),
    ("a.nodmarc.example", P, "a.nodmarc.example", [], None, N, None, N, False, False),
    ("notdmarc.example", F, None, [], None, N, None, N, False, False),
    ("twice.example", F, None, [], None, N, None, N, False, False),
    ("x.twice.example", F, None, [], None, N, None, N, False, False),
    ("bad.example", F, None, [], None, "permerror", None, N, False, False),
    ("lenient.example", F, None, [], None, F, N, N, False, False),
    # Multi-label public suffixes and Microsoft 365 initial domains.
    ("mail.contoso.co.uk", F, None, [], None, F, R, R, False, False),
    ("mail.contoso.co.uk", P, "contoso.co.uk", [], None, P, R, N, True, False),
    ("contoso.onmicrosoft.com", F, "contoso.com", [(P, "contoso.onmicrosoft.com")], None,
     P, Q, N, False, True),
    ("contoso.onmicrosoft.com", P, "contoso.com", [], None, F, Q, Q, False, False),
    ("alias.example", F, None, [], None, F, R, R, False, False),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "from_domain",
        "spf_result",
        "spf_domain",
        "dkim",
        "sample",
        "result",
        "policy",
        "disposition",
        "spf_aligned",
        "dkim_aligned",
    ),
    EVALUATIONS,
)
def test_evaluate_dmarc(
    lab_dns: LabDNS,
    from_domain: str,
    spf_result: str,
    spf_domain: str | None,
    dkim: list[tuple[str, str | None]],
    sample: float | None,
    result: str,
    policy: str | None,
    disposition: str,
    spf_aligned: bool,
    dkim_aligned: bool,
) -> None:
    verdict = evaluate_dmarc(from_domain, spf_result, spf_domain, dkim, lab_dns, sample=sample)
    got = (verdict.result, verdict.policy, verdict.disposition)
    assert got == (result, policy, disposition), verdict.reason
    assert (verdict.spf_aligned, verdict.dkim_aligned) == (spf_aligned, dkim_aligned)
    assert verdict.passed is (result == "pass")
    assert verdict.header_from == from_domain
    assert verdict.reason


def test_verdict_details(lab_dns: LabDNS) -> None:
    passed = evaluate_dmarc("mail.contoso.com", P, "contoso.com", [(P, "contoso.com")], lab_dns)
    assert passed.reason == "SPF and DKIM passed with a domain aligned with mail.contoso.com"
    assert passed.record == "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@contoso.com"
    assert passed.policy_domain == "contoso.com"

    failed = evaluate_dmarc("contoso.com", P, "mailer.example", [(F, "contoso.com")], lab_dns)
    assert failed.reason == (
        "neither SPF nor DKIM passed with a domain aligned with contoso.com "
        "(SPF pass for mailer.example, not aligned (relaxed); DKIM fail for contoso.com); "
        "policy reject applies"
    )

    unsampled = evaluate_dmarc("half.example", F, "half.example", [], lab_dns, sample=75.0)
    assert unsampled.sampled is False
    assert unsampled.reason.endswith("policy reject, but not sampled (pct=50): quarantine instead")

    reported = evaluate_dmarc("own.fabrikam.com", F, None, [], lab_dns)
    assert reported.reason.endswith("the policy is none, so the message is only reported")
    assert "DKIM none" in reported.reason

    missing = evaluate_dmarc("nodmarc.example", P, "nodmarc.example", [], lab_dns)
    assert missing.record is None
    assert missing.reason == "no DMARC record at _dmarc.nodmarc.example"

    broken = evaluate_dmarc("bad.example", P, "bad.example", [], lab_dns)
    assert broken.record == "v=DMARC1; p=always"


@pytest.mark.parametrize("sample", [-0.1, 100.0, 150.0])
def test_sample_out_of_range(lab_dns: LabDNS, sample: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 100\)"):
        evaluate_dmarc("contoso.com", P, "contoso.com", [], lab_dns, sample=sample)


def test_sample_for_is_stable_and_in_range() -> None:
    samples = [sample_for(f"<msg-{i}@contoso.com>") for i in range(200)]
    assert all(0.0 <= s < 100.0 for s in samples)
    assert sample_for("<msg-1@contoso.com>") == sample_for(b"<msg-1@contoso.com>")
    assert len(set(samples)) > 150  # spread out, not constant
    assert 20 < sum(s < 50 for s in samples) < 180
