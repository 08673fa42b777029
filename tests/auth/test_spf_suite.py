"""The SPF suite in data/spf-suite.yml (openspf layout) run through check_spf over a LabDNS."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import spf as pyspf
import yaml

from mailflow_lab.auth.spf import check_spf
from mailflow_lab.labdns.resolver import LabDNS

SUITE = Path(__file__).parent / "data" / "spf-suite.yml"

MAX_STRING = 255  # RFC 1035 §3.3: a <character-string> holds at most 255 octets
CASE_KEYS = {"description", "spec", "helo", "host", "mailfrom", "result", "explanation", "comment", "xfail"}
RESULTS = {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"}  # RFC 7208 §2.6


# -- zonedata -> BIND zone text ------------------------------------------------------------------
def quote_string(text: str | bytes) -> str:
    """One TXT <character-string> in zone-file syntax, escaped (RFC 1035 §5.1)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    out = []
    for byte in raw:
        if byte in (0x22, 0x5C):  # " and \
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def chunks(text: str | bytes, size: int = MAX_STRING) -> list[bytes]:
    """A long string cut into <character-string>s of at most `size` octets (RFC 7208 §3.3)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return [raw[i : i + size] for i in range(0, len(raw), size)] or [b""]


def txt_rdata(value: str | list[str]) -> str:
    """TXT rdata: a list stays as its strings, a single string is cut into 255-octet pieces."""
    strings = [s.encode("utf-8") for s in value] if isinstance(value, list) else chunks(value)
    return " ".join(quote_string(s) for s in strings)


def absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


def rr_lines(owner: str, entry: Mapping[str, Any]) -> Iterator[str]:
    """Zone-file lines for one zonedata entry such as {"SPF": "v=spf1 -all"} or {"MX": [10, h]}."""
    for kind, value in entry.items():
        kind = kind.upper()
        if kind == "SPF":
            # RFC 7208 §3.1: SPF records are published as TXT; a type 99 copy changes nothing.
            yield f"{owner} IN TXT {txt_rdata(value)}"
            yield f"{owner} IN SPF {txt_rdata(value)}"
        elif kind == "TXT":
            yield f"{owner} IN TXT {txt_rdata(value)}"
        elif kind == "MX":
            preference, host = value
            yield f"{owner} IN MX {int(preference)} {absolute(host)}"
        elif kind in ("PTR", "CNAME"):
            yield f"{owner} IN {kind} {absolute(value)}"
        elif kind in ("A", "AAAA"):
            yield f"{owner} IN {kind} {value}"
        else:
            raise ValueError(f"{owner}: record type {kind} is not supported by the suite loader")


def lab_from_zonedata(zonedata: Mapping[str, list[Any]]) -> LabDNS:
    """A LabDNS (one zone at the root) holding the group's records; TIMEOUT names fail."""
    lines: list[str] = []
    failing: list[str] = []
    for name, entries in zonedata.items():
        owner = absolute(name)
        for entry in entries or []:
            if entry == "TIMEOUT":
                failing.append(owner)
            elif isinstance(entry, Mapping):
                lines.extend(rr_lines(owner, entry))
            else:
                raise ValueError(f"{name}: cannot read zonedata entry {entry!r}")
    lab = LabDNS.from_zone_text("\n".join(lines) + "\n", origin=".")
    for owner in failing:
        lab.fail(owner)
    return lab


# -- the suite ------------------------------------------------------------------------------------
def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def expected_results(case: Mapping[str, Any]) -> set[str]:
    result = case["result"]
    return set(result) if isinstance(result, list) else {result}


def load_suite(path: Path = SUITE) -> list[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as stream:
        return [(slug(group["description"]), group) for group in yaml.safe_load_all(stream) if group]


GROUPS = load_suite()
_LABS: dict[str, LabDNS] = {}


def lab_for(group_slug: str, group: Mapping[str, Any]) -> LabDNS:
    """One LabDNS per group, built on first use (tests of a group share their zonedata)."""
    if group_slug not in _LABS:
        _LABS[group_slug] = lab_from_zonedata(group.get("zonedata") or {})
    return _LABS[group_slug]


def cases() -> list[Any]:
    params = []
    for group_slug, group in GROUPS:
        for name, case in group["tests"].items():
            marks = []
            if "xfail" in case:  # a known pyspf departure from the RFC, kept visible
                marks.append(pytest.mark.xfail(reason=case["xfail"], strict=True))
            params.append(pytest.param(group_slug, group, case, id=f"{group_slug}/{name}", marks=marks))
    return params


@pytest.mark.parametrize(("group_slug", "group", "case"), cases())
def test_spf_suite(group_slug: str, group: Mapping[str, Any], case: Mapping[str, Any]) -> None:
    verdict = check_spf(
        str(case["host"]),
        case.get("mailfrom") or "",
        case.get("helo") or "",
        dns=lab_for(group_slug, group),
    )
    trace = "\n".join(verdict.trace)
    expected = expected_results(case)
    assert verdict.result in expected, f"{case['description']}\n{trace}"
    if "explanation" in case:
        explanation = case["explanation"]
        if explanation == "DEFAULT":  # the checker's own wording, i.e. no exp= text was used
            explanation = pyspf.EXPLANATIONS[verdict.result]
        assert verdict.explanation == explanation, trace


# -- the suite's own consistency ------------------------------------------------------------------
def test_suite_is_well_formed() -> None:
    slugs = [group_slug for group_slug, _ in GROUPS]
    assert len(slugs) == len(set(slugs)), "two groups share a description"
    for group_slug, group in GROUPS:
        assert set(group) <= {"description", "tests", "zonedata", "comment"}, group_slug
        for name, case in group["tests"].items():
            where = f"{group_slug}/{name}"
            assert {"description", "spec", "helo", "host", "mailfrom", "result"} <= set(case), where
            assert set(case) <= CASE_KEYS, f"{where}: unknown keys {set(case) - CASE_KEYS}"
            assert re.fullmatch(r"\d+(\.\d+)*", str(case["spec"])), f"{where}: spec {case['spec']}"
            assert expected_results(case) <= RESULTS, where
            lab_for(group_slug, group)  # the zonedata parses


@pytest.mark.parametrize(
    ("value", "rdata"),
    [
        ("v=spf1 -all", '"v=spf1 -all"'),
        (["v=spf1 ", "-all"], '"v=spf1 " "-all"'),
        ('say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'),
        ("caf\u00e9", '"caf\\195\\169"'),
    ],
)
def test_txt_rdata_quotes_strings(value: str | list[str], rdata: str) -> None:
    assert txt_rdata(value) == rdata


def test_long_strings_are_cut_into_255_octet_pieces() -> None:
    record = "v=spf1 " + " ".join(f"ip4:198.51.100.{n}" for n in range(1, 40)) + " -all"
    assert len(record) > 2 * MAX_STRING
    lab = lab_from_zonedata({"long.example.com": [{"SPF": record}]})
    (rdata,) = lab.resolve("long.example.com", "TXT").records
    assert [len(s) for s in rdata.strings][:-1] == [MAX_STRING] * (len(rdata.strings) - 1)
    assert b"".join(rdata.strings).decode() == record
