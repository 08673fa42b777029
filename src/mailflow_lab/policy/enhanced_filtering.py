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
# receiving hop saw, RFC 5321 §4.4 (TCP-info inside the comment after the "from" domain).
_FROM_CLAUSE = re.compile(r"^\s*from\s+\S+\s*\(([^)]*)\)", re.IGNORECASE)
_ADDRESS = re.compile(r"\[?(?:IPv6:)?([0-9A-Fa-f:.]*[0-9A-Fa-f])\]?")


def received_sources(received: list[str]) -> list[str]:
    """The sending address of each Received header, newest (top) first; headers without one are left out."""
    sources: list[str] = []
    for value in received:
        match = _FROM_CLAUSE.match(" ".join(value.split()))
        if match is None:
            continue
        for candidate in _ADDRESS.findall(match.group(1)):
            try:
                sources.append(str(ipaddress.ip_address(candidate)))
                break
            except ValueError:
                continue
    return sources


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
