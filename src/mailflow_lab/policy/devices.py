"""What a device's recorded sessions show: devices told apart, and the facts the readiness rules read."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from ..world.hosts import LEGACY_SUBMISSION_SERVER, SUBMISSION_SERVER, is_mx_host
from ..world.model import Tenant, World
from .inbound import domain_of
from .observed import SessionRecord

Role = Literal["submission", "legacy", "mx", "other"]
LEGACY_SERVER = LEGACY_SUBMISSION_SERVER  # the old name, kept for importers


@dataclass(frozen=True)
class DeviceKey:
    """A device: its address on the network and the name it gives in EHLO (several may share a NAT)."""

    address: str
    ehlo: str | None

    def __str__(self) -> str:
        return f"{self.ehlo or '(no EHLO name)'} at {self.address}"


# -- telling devices apart -------------------------------------------------------------------------
def role_of(record: SessionRecord, mx_host: str) -> Role:
    """Which Microsoft 365 endpoint a session reached; outside servers and filters are "other"."""
    host = record.endpoint.lower()
    if host == SUBMISSION_SERVER:
        return "submission"
    if host == LEGACY_SERVER:
        return "legacy"
    if host == mx_host.lower() or is_mx_host(host):
        return "mx"
    return "other"


def device_key(record: SessionRecord) -> DeviceKey:
    """A lab client that declared its address (XCLIENT) is known by it; any other by its real address.

    Lab choice: a session that never said EHLO (an implicit TLS attempt) is its own device, even when a
    named device at the same address exists: nothing ties the two together.
    """
    return DeviceKey(record.client_ip if record.xclient else record.peer_ip, record.ehlo)


def group_devices(
    records: Iterable[SessionRecord], mx_host: str, servers: Collection[str] = ()
) -> dict[DeviceKey, list[SessionRecord]]:
    """Sessions at the Microsoft 365 endpoints, by device, in the order devices were first seen.

    `servers` are addresses of the world's own mail servers (a filter in front of the MX): their relays
    into Microsoft 365 are not devices to report on.
    """
    devices: dict[DeviceKey, list[SessionRecord]] = {}
    for record in records:
        key = device_key(record)
        if role_of(record, mx_host) != "other" and key.address not in servers:
            devices.setdefault(key, []).append(record)
    return devices


def world_servers(world: World) -> frozenset[str]:
    """The addresses the world's own relaying servers (mail filters) connect from."""
    return frozenset(str(mail_filter.public_ip) for mail_filter in world.filters)


class DeviceFacts:
    """What a device's sessions show, gathered once."""

    def __init__(self, records: list[SessionRecord], tenant: Tenant, mx_host: str) -> None:
        self.records = records
        self.tenant = tenant
        self.mx_host = mx_host
        self.by_role: dict[str, list[SessionRecord]] = {}
        for record in records:
            self.by_role.setdefault(role_of(record, mx_host), []).append(record)
        transactions = [t for r in records for t in r.transactions]
        self.senders = list(dict.fromkeys(t.mail_from for t in transactions if t.mail_from))
        recipients = list(dict.fromkeys(r.address for t in transactions for r in t.recipients))
        self.internal = [a for a in recipients if tenant.is_accepted(domain_of(a))]
        self.external = [a for a in recipients if not tenant.is_accepted(domain_of(a))]
        self.cert_names = list(dict.fromkeys(n for r in records for n in r.cert_names))
        self.client_ips = list(dict.fromkeys(r.client_ip for r in records))
        self.implicit = [r for r in records if r.implicit_tls]

    def last(self, *roles: str) -> SessionRecord | None:
        """The device's latest session at these endpoints that did something (its current settings)."""
        found = [r for role in roles for r in self.by_role.get(role, []) if r.commands or r.implicit_tls]
        return max(found, key=lambda r: (r.started, self.records.index(r)), default=None)

    def user(self, session: SessionRecord | None) -> str | None:
        if session is None:
            return None
        return session.login or next((a.user for a in reversed(session.auth) if a.user), None)

    def senders_at(self, session: SessionRecord) -> list[str]:
        return list(dict.fromkeys(t.mail_from for t in session.transactions if t.mail_from))

    def delivered(self, session: SessionRecord | None) -> bool:
        return session is not None and any(
            t.data_reply is not None and t.data_reply.code == 250 for t in session.transactions
        )

    def observed(self) -> tuple[str, ...]:
        lines = []
        counts: dict[str, int] = {}
        for r in self.records:
            counts[f"{r.endpoint}:{r.port}"] = counts.get(f"{r.endpoint}:{r.port}", 0) + 1
        lines.append("Sessions: " + ", ".join(f"{k} x{n}" for k, n in counts.items()))
        lines.append("Appears to Microsoft 365 as " + ", ".join(self.client_ips))
        for r in self.implicit:
            lines.append(f"Implicit TLS: a TLS ClientHello as the first bytes on {r.endpoint}:{r.port}")
        versions = list(
            dict.fromkeys(f"{r.tls_version} ({r.tls_cipher})" for r in self.records if r.tls_version)
        )
        asked = any(r.starttls for r in self.records)
        failed = any(r.tls_failed for r in self.records)
        lines.append(
            "STARTTLS: "
            + (
                ", ".join(versions)
                if versions
                else ("asked, handshake failed" if failed else "asked")
                if asked
                else "never asked"
            )
        )
        if self.cert_names:
            lines.append("Client certificate: " + ", ".join(self.cert_names))
        for r in self.records:
            for a in r.auth:
                got = str(a.reply) if a.reply else "no reply"
                lines.append(f"AUTH {a.mechanism}" + (f" as {a.user}" if a.user else "") + f": {got}")
        if self.senders:
            lines.append("Sender (MAIL FROM): " + ", ".join(self.senders))
        if self.internal or self.external:
            lines.append(
                "Recipients: "
                + ", ".join(
                    [*(f"{a} (internal)" for a in self.internal), *(f"{a} (outside)" for a in self.external)]
                )
            )
        for r in self.records:
            for t in r.transactions:
                for reply in [t.mail_reply, *(x.reply for x in t.recipients), t.data_reply]:
                    if reply is not None and reply.code >= 400:
                        lines.append(f"Refused at {r.endpoint}:{r.port}: {reply}")
            if r.closing_reply is not None:
                lines.append(f"Closed by {r.endpoint}:{r.port}: {r.closing_reply}")
        return tuple(dict.fromkeys(lines))
