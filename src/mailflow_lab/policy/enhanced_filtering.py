"""Enhanced Filtering for Connectors: which address EOP judges a message by when a filter sits in front."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..world.model import InboundConnector, Tenant
from .inbound import certificate_matches, ip_matches


@dataclass(frozen=True)
class Source:
    """The address SPF and the anti-spam verdict use, the connector that decided it, and why."""

    ip: str
    connecting_ip: str
    connector: str | None
    skipped: tuple[str, ...]
    rule: str
    explanation: str

    @property
    def changed(self) -> bool:
        return self.ip != self.connecting_ip


# `Received: from helo (name [192.0.2.25]) by ...` or `from helo (192.0.2.25) by ...`: the address the
# receiving hop saw, RFC 5321 §4.4 (TCP-info in the comment after the "from" domain). Only that comment is
# the receiving host's own words: the domain before it is whatever the client said in EHLO, so a client
# naming itself `x ([192.0.2.25])` must not decide the address. The lab reads the LAST comment before the
# "by" clause and, in it, the last bracketed address literal (sendmail's `(name [ip] (may be forged))`
# too), as real Received parsers do; a `helo=...` note inside the comment is the client's word and skipped.
_FROM = re.compile(r"^\s*from\s+(\S+)", re.IGNORECASE)
_LITERAL = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]", re.IGNORECASE)
_BARE = re.compile(r"(?:IPv6:)?([0-9A-Fa-f:.]*[0-9A-Fa-f])", re.IGNORECASE)
_HELO_NOTE = re.compile(r"\bhelo=\S*", re.IGNORECASE)


def _ip(candidate: str) -> str | None:
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _comments(text: str) -> list[str]:
    """The top-level `(...)` comments at the start of `text`, up to the first word outside one.

    RFC 5322 §3.2.2: comments nest, and a backslash quotes the character after it.
    """
    comments: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            if depth == 0:
                start = index + 1
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                comments.append(text[start:index])
        elif depth == 0 and not char.isspace():
            break  # "by", "with", ";": the from clause is over
        index += 1
    return comments


def received_source(value: str) -> str | None:
    """The address the receiving host recorded in one Received header, or None when it names none."""
    text = " ".join(value.split())
    match = _FROM.match(text)
    if match is None:
        return None
    comments = _comments(text[match.end() :])
    if comments:
        info = _HELO_NOTE.sub(" ", comments[-1])
        for candidate in reversed(_LITERAL.findall(info)):
            if (address := _ip(candidate)) is not None:
                return address
        for candidate in _BARE.findall(info):
            if (address := _ip(candidate)) is not None:
                return address
        return None
    # No TCP-info comment: only an address literal as the from domain (`from [192.0.2.25] by ...`) counts.
    literal = _LITERAL.fullmatch(match.group(1))
    return _ip(literal.group(1)) if literal else None


def received_sources(received: list[str]) -> list[str]:
    """The sending address of each Received header, newest (top) first; headers without one are left out."""
    return [address for value in received if (address := received_source(value)) is not None]


def connector_for(tenant: Tenant, client_ip: str, cert_names: tuple[str, ...]) -> InboundConnector | None:
    """The enabled inbound connector that recognises this connection, by certificate or by address."""
    for connector in tenant.inbound_connectors:
        if not connector.enabled:
            continue
        cert = connector.tls_sender_certificate_name
        if (cert and cert_names and certificate_matches(cert, cert_names)) or ip_matches(
            connector, client_ip
        ):
            return connector
    return None


def original_source(
    tenant: Tenant,
    client_ip: str,
    cert_names: tuple[str, ...],
    received: list[str],
    recipients: list[str],
) -> Source:
    """The address EOP evaluates (SPF, the CIP of X-Forefront-Antispam-Report) for one message.

    New-InboundConnector: EFSkipLastIP $true skips only the last message source (the connecting server);
    $false skips the addresses listed in EFSkipIPs, and with none listed Enhanced Filtering is off.
    EFUsers limits it to some recipients (blank: all). Sheet "Mail-flow scenarios around devices":
    with a third-party filter in front, EF lets SPF be judged on the original sender's address.
    Lab choices: the lab decides once per message, so EF applies when every recipient is in EFUsers; with
    EFSkipIPs the lab walks the Received chain from the connecting server down and stops at the first
    address not listed (all listed: the oldest one it found).
    """
    connector = connector_for(tenant, client_ip, cert_names)
    if connector is None or not connector.enhanced_filtering:
        why = (
            f"no inbound connector with Enhanced Filtering recognises {client_ip}: SPF and anti-spam "
            "judge the connecting server's address"
        )
        return Source(client_ip, client_ip, connector.name if connector else None, (), "ef.off", why)
    users = {u.lower() for u in connector.ef_users}
    if users and not all(r.lower() in users for r in recipients):
        why = (
            f"connector {connector.name!r} applies Enhanced Filtering only to {', '.join(sorted(users))}: "
            f"this message is judged by the connecting address {client_ip}"
        )
        return Source(client_ip, client_ip, connector.name, (), "ef.not-for-recipients", why)
    hops = received_sources(received)
    if connector.ef_skip_last_ip:
        if not hops:
            return _no_received(connector, client_ip)
        why = (
            f"connector {connector.name!r} skips the last hop (EFSkipLastIP): the filter {client_ip} is "
            f"skipped and SPF is judged on {hops[0]}, the address the filter received the message from"
        )
        return Source(hops[0], client_ip, connector.name, (client_ip,), "ef.skip-last-ip", why)
    chain = [client_ip, *hops]
    skipped = _leading_listed(connector, chain)
    if not skipped:
        why = (
            f"connector {connector.name!r} skips {_listed_text(connector)} (EFSkipIPs), and {client_ip} "
            "is not among them: SPF is judged on the connecting address"
        )
        return Source(client_ip, client_ip, connector.name, (), "ef.not-skipped", why)
    if len(skipped) == len(chain):  # every hop listed: the oldest address found is the best there is
        if len(chain) == 1:
            return _no_received(connector, client_ip)
        skipped.pop()
    address = chain[len(skipped)]
    why = (
        f"connector {connector.name!r} skips {_listed_text(connector)} (EFSkipIPs): "
        f"{', '.join(skipped)} skipped, SPF is judged on {address}"
    )
    return Source(address, client_ip, connector.name, tuple(skipped), "ef.skip-ips", why)


def _no_received(connector: InboundConnector, client_ip: str) -> Source:
    why = (
        f"connector {connector.name!r} has Enhanced Filtering on, but the message names no earlier hop in "
        f"a Received header: {client_ip} is used"
    )
    return Source(client_ip, client_ip, connector.name, (), "ef.no-received", why)


def _leading_listed(connector: InboundConnector, chain: list[str]) -> list[str]:
    """The hops from the connecting server down that EFSkipIPs lists, up to the first it does not."""
    listed: list[str] = []
    for address in chain:
        if not _listed(connector, address):
            break
        listed.append(address)
    return listed


def _listed(connector: InboundConnector, address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in connector.ef_skip_ips)


def _listed_text(connector: InboundConnector) -> str:
    return ", ".join(str(n).removesuffix("/32") for n in connector.ef_skip_ips)
