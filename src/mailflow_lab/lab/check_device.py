"""One device checked against a world: a test message sent in a fresh lab, the reply, verdict and fixes."""

from __future__ import annotations

import ipaddress
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client.device import Device, SendResult
from ..policy.readiness import DeviceReadiness
from ..world.model import World
from .lab import Lab
from .readiness import device_text, lab_readiness

DEVICE_NAME = "Device under test"  # its EHLO name, unless --helo is given: device-under-test.local
TLS_VERSION_NAMES = {"1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}
DELIVERED = "Inbox"


@dataclass(frozen=True)
class Fix:
    """One blocker of one option, with the device settings, cmdlets and DNS lines that remove it."""

    option: str
    why: str
    device: tuple[str, ...] = ()
    tenant: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "why": self.why,
            "device": list(self.device),
            "tenant": list(self.tenant),
        }


@dataclass
class DeviceCheck:
    """What one test message from a device did in a lab of a world, and the readiness verdict on it."""

    world: str
    source: str
    settings: dict[str, Any]
    recipient: str
    result: SendResult
    readiness: DeviceReadiness | None
    fixes: list[Fix] = field(default_factory=list)

    @property
    def reply(self) -> str:
        """The SMTP reply the device got last (or why it got none)."""
        if self.result.reply is not None:
            return str(self.result.reply)
        return self.result.error or "no reply"

    @property
    def landed(self) -> str:
        """Where the message is: a folder, quarantine, pending, "refused" or "not sent"."""
        outcome = self.result.outcome.get(self.recipient)
        if outcome is None or (outcome.where == "rejected" and outcome.reply is None):
            return "not sent"
        return "refused" if outcome.where == "rejected" else outcome.where

    @property
    def step(self) -> str:
        """The SMTP step the refusal came at (RCPT when that recipient alone was refused)."""
        outcome = self.result.outcome.get(self.recipient)
        if outcome is not None and outcome.detail == "at RCPT TO":
            return "RCPT"
        return self.result.step

    @property
    def delivered(self) -> bool:
        return self.result.accepted and self.landed == DELIVERED

    def landing_text(self) -> str:
        if self.landed == "refused":
            return f"refused at {self.step}"
        if self.landed == "not sent":
            return f"not sent: stopped at {self.step}"
        detail = self.result.outcome[self.recipient].detail
        return f"{self.landed} of {self.recipient}" + (f" ({detail})" if detail else "")

    def text(self) -> str:
        device = ", ".join(f"{k}={v}" for k, v in self.settings.items() if v is not None)
        lines = [
            f"Checked in a lab of world {self.world!r} ({self.source}): one test message to {self.recipient}",
            f"Device: {device}",
            f"Reply: {self.reply}",
            f"Landed: {self.landing_text()}",
            f"Result: {'delivered to the Inbox' if self.delivered else 'NOT delivered to the Inbox'}",
            "",
            "Readiness:",
            device_text(self.readiness) if self.readiness else "  (the device never reached an endpoint)",
            "",
        ]
        if self.fixes:
            head = "Blockers of the other options (this one works):" if self.delivered else "Fixes:"
            lines.append(head)
            for fix in self.fixes:
                lines.append(f"  - {fix.option}: {fix.why}")
                lines += [f"      on the device: {s}" for s in fix.device]
                lines += [f"      in the tenant: {s}" for s in fix.tenant]
        else:
            lines.append("Fixes: none needed (no blocker)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        outcome = self.result.outcome.get(self.recipient)
        return {
            "world": self.world,
            "source": self.source,
            "device": self.settings,
            "recipient": self.recipient,
            "accepted": self.result.accepted,
            "reply": self.reply,
            "reply_code": self.result.reply.code if self.result.reply else None,
            "enhanced_code": self.result.reply.enhanced if self.result.reply else None,
            "error": self.result.error,
            "step": self.step,
            "landed": self.landed,
            "landed_detail": outcome.detail if outcome else "",
            "delivered": self.delivered,
            "readiness": self.readiness.to_dict() if self.readiness else None,
            "readiness_text": device_text(self.readiness) if self.readiness else "",
            "fixes": [f.to_dict() for f in self.fixes],
            "transcript": self.result.transcript.text(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def tls_version_name(version: str) -> str:
    """'1.2' (or 'TLSv1.2', 'TLS1.2') as the device field's name 'TLSv1.2'; ValueError for anything else."""
    bare = version.strip().upper().removeprefix("TLSV").removeprefix("TLS").strip()
    bare = {"1": "1.0"}.get(bare, bare)
    if bare not in TLS_VERSION_NAMES:
        raise ValueError(f"--tls-version: expected {', '.join(TLS_VERSION_NAMES)}, got {version!r}")
    return TLS_VERSION_NAMES[bare]


def device_from_options(
    *,
    sender: str,
    server: str = "smtp.office365.com",
    port: int = 587,
    tls: str = "starttls",
    tls_version: str | None = None,
    username: str | None = None,
    password: str | None = None,
    source_ip: str | None = None,
    client_cert: str | None = None,
    helo: str | None = None,
) -> Device:
    """The device under test from check-device's options; ValueError naming the option for a bad value."""
    if "@" not in sender:
        raise ValueError(f"--sender: expected an email address, got {sender!r}")
    if tls not in ("starttls", "none"):
        raise ValueError(f"--tls: expected starttls or none, got {tls!r}")
    try:
        address = ipaddress.ip_address(source_ip) if source_ip else None
    except ValueError:
        raise ValueError(f"--source-ip: expected an IP address, got {source_ip!r}") from None
    version = tls_version_name(tls_version) if tls_version else None
    return Device(
        DEVICE_NAME, server, port, tls,  # type: ignore[arg-type]
        username=username, password=password, sender=sender, source_ip=address, helo=helo,
        tls_min_version=version or "TLSv1.2", tls_max_version=version, client_cert=client_cert,
    )  # fmt: skip


def default_recipient(world: World, sender: str) -> str:
    """A user mailbox of the tenant other than the sender (any mailbox when there is no such one)."""
    mailboxes = world.tenant.mailboxes
    if not mailboxes:
        raise ValueError(f"world {world.name!r} has no mailbox to send to: give --to")
    users = [m for m in mailboxes if m.mailbox_type == "User" and m.address.lower() != sender.lower()]
    return (users or mailboxes)[0].address


def check_device(
    world: str | Path,
    device: Device,
    to: str | None = None,
    *,
    state_dir: str | Path | None = None,
    host: str = "127.0.0.1",
) -> DeviceCheck:
    """Start a lab of `world` (in `state_dir`, else a temporary folder), send one message with `device`."""
    if state_dir is None:
        with tempfile.TemporaryDirectory(prefix="mailflow-lab-check-") as temp:
            return check_device(world, device, to, state_dir=temp, host=host)
    with Lab.start(world, state_dir=state_dir, host=host) as lab:
        recipient = to or default_recipient(lab.world, device.sender)
        result = device.send(lab, recipient, subject="mailflow-lab check-device", body="A test message.")
        lab.settle()
        result.outcome[recipient] = (
            lab.locate(recipient, result.message_id or "") if result.accepted else result.outcome[recipient]
        )
        readiness = _readiness_of(lab, device)
        return DeviceCheck(
            lab.world.name,
            str(lab.world.source or world),
            settings_of(device),
            recipient,
            result,
            readiness,
            fixes_of(readiness) if readiness else [],
        )


def settings_of(device: Device) -> dict[str, Any]:
    """The device's settings as given, the password masked."""
    return {
        "server": device.server,
        "port": device.port,
        "tls": device.tls,
        "tls_min_version": device.tls_min_version,
        "tls_max_version": device.tls_max_version,
        "username": device.username,
        "password": "********" if device.password else None,
        "sender": device.sender,
        "source_ip": str(device.source_ip) if device.source_ip else None,
        "client_cert": device.client_cert,
        "helo": device.helo,
    }


def fixes_of(readiness: DeviceReadiness) -> list[Fix]:
    """Every blocker of every option the device cannot use today, in the report's order."""
    return [
        Fix(verdict.title, blocker.why, blocker.device, blocker.tenant)
        for verdict in readiness.options
        if not verdict.usable_today
        for blocker in verdict.blockers
    ]


def _readiness_of(lab: Lab, device: Device) -> DeviceReadiness | None:
    devices = lab_readiness(lab).devices  # a fresh lab: the device under test is the only one seen
    if len(devices) == 1:
        return devices[0]
    source = str(device.source_ip or lab.world.network.office.public_ip)
    return next((d for d in devices if d.device.address == source), None)
