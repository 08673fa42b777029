"""An SPF record and the office IP: does an ip4: mechanism list it, and the record with or without it."""

from __future__ import annotations

import ipaddress

from ..world.hosts import M365_SPF_RECORD


def _ip4_lists(token: str, ip: str) -> bool:
    mechanism = token.removeprefix("+").lower()
    if not mechanism.startswith("ip4:"):
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(mechanism[4:], strict=False)
    except ValueError:
        return False


def spf_lists(record: str, ip: str) -> bool:
    """True when an ip4: mechanism of the SPF record passes `ip` (includes are not followed)."""
    return any(_ip4_lists(token, ip) for token in record.split()[1:])


def spf_with(record: str | None, ip: str, listed: bool) -> str:
    """The SPF record with `ip4:<ip>` first after v=spf1, or with every ip4: mechanism covering it removed.

    No record yet: Microsoft 365's own (M365_SPF_RECORD) is the one changed.
    """
    tokens = (record or M365_SPF_RECORD).split()
    rest = [t for t in tokens[1:] if not _ip4_lists(t, ip)]
    return " ".join(["v=spf1", *([f"ip4:{ip}"] if listed else []), *rest])


__all__ = ["spf_lists", "spf_with"]
