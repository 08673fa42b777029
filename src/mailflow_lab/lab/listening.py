"""Serving real devices: the standard ports when the system allows them, and the lab DNS naming the lab."""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from ..labdns.resolver import LabDNS


@dataclass(frozen=True)
class PortChoice:
    """The port to bind (0: any free one) and, when the standard one could not be had, why."""

    port: int
    wanted: int
    problem: str | None = None


# Text made only of digits and dots, or holding a colon, is meant as an address literal: when it is no valid
# address (127.0.0.300) it is refused as such, not looked up as a host name in DNS.
_LOOKS_LITERAL = re.compile(r"^[0-9.]*$|:")


def listen_address(text: str) -> str:
    """The address for `serve --listen`: an IP address as given, or the one a host name resolves to.

    A host name is resolved once, here, and the lab uses that address from then on (for binding and in
    the lab DNS answers). The address must be one this machine can listen on; ValueError says why not.
    """
    try:
        candidates = [str(ipaddress.ip_address(text))]
    except ValueError:
        if not text or _LOOKS_LITERAL.search(text):
            raise ValueError(f"{text!r} is not a valid IPv4 or IPv6 address") from None
        candidates = _resolve(text)
    problem = ""
    for address in candidates:
        problem = _cannot_listen(address)
        if not problem:
            return address
    where = f"{text!r} ({', '.join(candidates)})" if candidates != [text] else repr(text)
    raise ValueError(f"cannot listen on {where}: {problem}")


def _resolve(name: str) -> list[str]:
    """The addresses a host name has (system resolver: /etc/hosts, then DNS), in the system's order."""
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:  # gaierror; a label too long; a NUL byte
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ValueError(f"{name!r} does not resolve ({why})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _cannot_listen(address: str) -> str:
    """Why this machine cannot listen on `address` ("" when it can): a probe bound to a free port."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            address, 0, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(sockaddr)
    except OSError as error:
        if error.errno == errno.EADDRNOTAVAIL:
            return "not an address of this machine"
        return error.strerror or str(error)
    return ""


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
    ip = ipaddress.ip_address(address)
    kind = "AAAA" if ip.version == 6 else "A"
    plain = str(ip).partition("%")[0]  # a link-local address's zone (fe80::1%eth0) is no part of a record
    changed = []
    for name in names:
        try:
            dns.set_records(name + ".", kind, [plain], ttl=60)
        except KeyError:
            continue
        changed.append(name)
    return changed
