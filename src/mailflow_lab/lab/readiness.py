"""The device readiness report of a lab's state folder: its recorded sessions judged against its tenant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..auth.spf import check_spf
from ..policy.devices import world_servers
from ..policy.observed import SessionRecord
from ..policy.readiness import DeviceReadiness, assess_all, group_devices
from ..store.sessions import SESSIONS_FILE, SessionsRead, read_sessions
from ..world.hosts import tenant_mx_host

if TYPE_CHECKING:
    from ..store.runtime import LabRuntime
    from .lab import Lab


@dataclass(frozen=True)
class ReadinessReport:
    """Every device seen at the Microsoft 365 endpoints, each with its verdict for the three options."""

    devices: tuple[DeviceReadiness, ...]
    source: str = ""
    skipped_lines: int = 0  # lines of sessions.jsonl that were no record (damaged) and were left out

    def device(self, ehlo: str | None, address: str | None = None) -> DeviceReadiness:
        """The device that gave this EHLO name (and, when given, came from this address)."""
        found = [
            d
            for d in self.devices
            if d.device.ehlo == ehlo and (address is None or d.device.address == address)
        ]
        if len(found) != 1:
            known = "; ".join(str(d.device) for d in self.devices) or "none"
            raise KeyError(f"{len(found)} devices named {ehlo!r} in the report (devices: {known})")
        return found[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "skipped_lines": self.skipped_lines,
            "devices": [d.to_dict() for d in self.devices],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def text(self) -> str:
        parts = [device_text(d) for d in self.devices]
        if not parts:
            parts.append("No device has talked to the lab's Microsoft 365 endpoints yet.")
        if self.skipped_lines:
            lines = f"{self.skipped_lines} line{'s' if self.skipped_lines != 1 else ''}"
            parts.append(
                f"Skipped {lines} of {SESSIONS_FILE} that could not be read (damaged): not in this report."
            )
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.text()


def device_text(device: DeviceReadiness) -> str:
    """One device's report as plain text (the layout only: every sentence comes from the policy)."""
    recommended = device.recommended
    lines = [
        f"== {device.device} ({device.sessions} session{'s' if device.sessions != 1 else ''})",
        "What the lab saw:",
        *(f"  {line}" for line in device.observed),
        "Usable today: "
        + (", ".join(device.option(o).title for o in device.usable_today) or "none of the three options"),
    ]
    for verdict in device.options:
        mark = " (recommended)" if verdict.option == recommended else ""
        lines.append(f"  [{verdict.status}] {verdict.title}{mark}: {verdict.status_text}")
        for blocker in verdict.blockers:
            lines.append(f"      - {blocker.why}")
            lines += [f"        on the device: {s}" for s in blocker.device]
            lines += [f"        in the tenant: {s}" for s in blocker.tenant]
        lines += [f"      note: {n}" for n in verdict.notes]
    chosen = device.option(recommended) if recommended else None
    if chosen is not None:
        lines.append(f"Device settings for {chosen.title}:")
        lines += [f"  {k}: {v}" for k, v in chosen.settings.items()]
    return "\n".join(lines)


def report_for(
    runtime: LabRuntime, records: list[SessionRecord] | SessionsRead, source: str = ""
) -> ReadinessReport:
    """Judge recorded sessions against a runtime's world and tenant (SPF from its lab DNS)."""
    skipped = 0
    if isinstance(records, SessionsRead):
        records, skipped = records.records, records.skipped
    world = runtime.world
    mx_host = tenant_mx_host(world)
    spf: dict[tuple[str, str], str] = {}
    for sessions in group_devices(records, mx_host, world_servers(world)).values():
        for record in sessions:
            for transaction in record.transactions:
                sender = transaction.mail_from
                key = (record.client_ip, sender)
                if sender and key not in spf and world.tenant.is_accepted(sender.rpartition("@")[2]):
                    verdict = check_spf(record.client_ip, sender, record.ehlo or "unknown", dns=runtime.dns)
                    spf[key] = verdict.result
    return ReadinessReport(tuple(assess_all(records, world, mx_host, spf)), source, skipped)


def readiness_report(state: Path | str) -> ReadinessReport:
    """The report of a state folder, read as another process sees it (a running `serve` keeps writing)."""
    from ..store.statedir import open_state

    state = Path(state)
    runtime = open_state(state)
    return report_for(runtime, read_sessions(state / SESSIONS_FILE), str(state))


def lab_readiness(lab: Lab) -> ReadinessReport:
    """The report of a running lab (its tenant as it is now)."""
    lab.settle()  # the session of a send that just returned may still be closing
    runtime = lab.runtime
    read = runtime.session_log.read() if runtime.session_log else SessionsRead([])
    return report_for(runtime, read, str(lab.state_dir))
