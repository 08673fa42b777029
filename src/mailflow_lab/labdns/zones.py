"""BIND zone files and text read with dnspython, mistakes reported with file and line."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from ..world.datafile import MAX_ZONE_BYTES, LabDataError, read_capped

DEFAULT_TTL = 3600
TXT_STRING_MAX = 255  # octets in one TXT character-string (RFC 1035 §3.3.14)


def split_txt(value: str, limit: int = TXT_STRING_MAX) -> list[str]:
    """Cut a long TXT value into strings of at most `limit` octets (RFC 1035 §3.3.14)."""
    if not 1 <= limit <= TXT_STRING_MAX:
        raise ValueError(f"a TXT string holds 1 to {TXT_STRING_MAX} octets, not {limit}")
    data = value.encode("ascii")
    return [data[i : i + limit].decode("ascii") for i in range(0, len(data), limit)] or [""]


def txt_zone_value(value: str, limit: int = TXT_STRING_MAX) -> str:
    """A TXT value as zone-file text: quoted strings of ≤255 octets, e.g. '"v=DKIM1; ..." "..."'."""
    return " ".join(
        '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in split_txt(value, limit)
    )


# What each record type's value looks like, for a learner who typed one wrong.
VALUE_EXAMPLES = {
    "MX": "a preference and a host name, e.g. 0 contoso-com.mail.protection.outlook.com",
    "CNAME": "one host name, e.g. autodiscover.outlook.com",
    "NS": "one host name, e.g. ns1.contoso.com",
    "A": "one IPv4 address, e.g. 203.0.113.10",
    "AAAA": "one IPv6 address, e.g. 2001:db8::10",
}


def typed_value(rdtype: str, text: str, origin: str | dns.name.Name) -> str:
    """A record value as a DNS host's web form takes it, in zone-file form with absolute names.

    A name with a dot is absolute with or without its final dot (`0 contoso-com.mail.protection.outlook.com`,
    as the Microsoft 365 admin center shows it); a single label, or `@`, is relative to the zone. A value
    that is not a record of the type is a ValueError saying what one looks like.
    """
    zone = dns.name.from_text(origin) if isinstance(origin, str) else origin
    kind = dns.rdatatype.from_text(rdtype)
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, kind, text, origin=None, relativize=False)
    except (dns.exception.DNSException, ValueError) as exc:
        example = VALUE_EXAMPLES.get(rdtype.upper())
        raise ValueError(f"{text!r} is not a valid {rdtype} record: {example or exc}") from None
    names = {}
    for slot in rdata._get_all_slots():
        value = getattr(rdata, slot, None)
        if isinstance(value, dns.name.Name) and not value.is_absolute():
            names[slot] = value.derelativize(dns.name.root if len(value.labels) > 1 else zone)
            if _looks_like_an_address(value):
                raise ValueError(f"{text!r}: a {rdtype} record names a host, not an IP address")
    return str(rdata.replace(**names).to_text()) if names else str(rdata.to_text())


def _looks_like_an_address(name: dns.name.Name) -> bool:
    labels = name.to_text(omit_final_dot=True).split(".")
    return len(labels) == 4 and all(label.isdigit() for label in labels)


def zone_from_text(text: str, origin: str = ".", source: str = "<zone text>") -> dns.zone.Zone:
    """Parse BIND zone text; the origin may be "." so one text can hold any names."""
    try:
        return _parse(text, origin, source)
    except (dns.exception.DNSException, ValueError) as exc:
        # ValueError: e.g. an SOA record below the origin ("add() has non-origin SOA").
        problem = str(exc).removeprefix(f"{source}:").split(": ", 1)[-1]
        line = _first_bad_line(text, lambda part: _parse(part, origin, source))
        raise LabDataError(source, f"line {line}", f"zone syntax error: {problem}") from None


def _parse(text: str, origin: str, source: str) -> dns.zone.Zone:
    # Absolute names throughout, so answers carry full names (relativize=False).
    # Records without a TTL get the lab default (one hour) when the text sets no $TTL.
    if "$TTL" not in text.upper():
        text = f"$TTL {DEFAULT_TTL}\n{text}"
    return dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False, filename=source)


def _first_bad_line(text: str, parse: Callable[[str], object]) -> int:
    """The first line whose inclusion makes the text fail to parse (dnspython may name the next one)."""
    lines = text.splitlines()
    good, bad = 0, len(lines)
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            parse("\n".join(lines[:middle]) + "\n")
            good = middle
        except (dns.exception.DNSException, ValueError):
            bad = middle
    return bad


def zone_from_file(path: Path, origin: str | None = None) -> dns.zone.Zone:
    """Read a zone file of at most MAX_ZONE_BYTES; its origin is `$ORIGIN`, else the given one, else the
    file name (x.com.zone)."""
    if origin is None:
        stem = path.name.removesuffix(".zone")
        origin = stem if stem.endswith(".") else stem + "."
    try:
        text = read_capped(path, MAX_ZONE_BYTES).decode("utf-8")  # refused before parsing when too big
    except UnicodeDecodeError as exc:
        raise LabDataError(path, "", f"is not UTF-8 text (byte {exc.start} cannot be read)") from None
    return copy_zone(_parsed_file(text, origin, str(path)))


# Every lab start reads its world's zone files: parsing them is most of the start-up time (about 15 ms
# for the contoso world), so each text is parsed once per process and every lab gets its own copy.
@functools.lru_cache(maxsize=64)
def _parsed_file(text: str, origin: str, source: str) -> dns.zone.Zone:
    return zone_from_text(text, origin=origin, source=source)


def copy_zone(zone: dns.zone.Zone) -> dns.zone.Zone:
    """A copy that can be changed (records set, removed) without touching the original.

    Nodes and rdatasets are copied; the rdata themselves are immutable in dnspython, so they are shared.
    """
    clone = copy.copy(zone)
    clone.nodes = zone.map_factory()
    for name, node in zone.nodes.items():
        fresh = zone.node_factory()
        fresh.rdatasets.extend(rdataset.copy() for rdataset in node.rdatasets)
        clone.nodes[name] = fresh
    if isinstance(getattr(zone, "unicode", None), set):
        clone.unicode = set(zone.unicode)
    return clone
