"""Serving real devices: the standard ports when the system allows them, and the lab DNS naming the lab."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from .labdns.resolver import LabDNS


@dataclass(frozen=True)
class PortChoice:
    """The port to bind (0: any free one) and, when the standard one could not be had, why."""

    port: int
    wanted: int
    problem: str | None = None


def choose_port(host: str, wanted: int, *, udp_too: bool = False) -> PortChoice:
    """`wanted` if this process may bind it on `host` now (TCP, and UDP for DNS), else 0 and the reason.

    The probe socket is closed at once and the lab binds the port a moment later (with SO_REUSEADDR), so
    another program could take it in between: the lab then fails to start with that error.
    """
    kinds = [socket.SOCK_STREAM, *([socket.SOCK_DGRAM] if udp_too else [])]
    try:
        family = socket.getaddrinfo(host, None)[0][0]
    except socket.gaierror as error:
        return PortChoice(0, wanted, f"cannot use the address {host!r}: {error.strerror}")
    for kind in kinds:
        probe = socket.socket(family, kind)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, wanted))
            if kind == socket.SOCK_STREAM:
                probe.listen(1)
        except PermissionError:
            why = f"port {wanted} needs root (or CAP_NET_BIND_SERVICE)"
            return PortChoice(0, wanted, why)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return PortChoice(0, wanted, f"port {wanted} is in use by another program")
            return PortChoice(0, wanted, f"port {wanted} cannot be bound: {error.strerror}")
        finally:
            probe.close()
    return PortChoice(wanted, wanted)


def is_unspecified(host: str) -> bool:
    """0.0.0.0 or :: (every interface): no single address to give out in DNS answers."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def point_names_at(dns: LabDNS, names: Iterable[str], address: str) -> list[str]:
    """Make the lab DNS answer these names with the lab's listening address; returns the names changed.

    A device (or a laptop) that uses the lab DNS then finds smtp.office365.com and the tenant MX at the lab,
    as it will find Microsoft 365 in production. Names in no lab zone are left alone.
    """
    kind = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
    changed = []
    for name in names:
        try:
            dns.set_records(name + ".", kind, [address], ttl=60)
        except KeyError:
            continue
        changed.append(name)
    return changed
