"""The tenant's changeable settings saved beside a lab's state, so other processes see cmdlet changes."""

from __future__ import annotations

import ipaddress
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import (
    AcceptedDomain,
    CalendarItem,
    DkimSigningConfig,
    InboundConnector,
    Mailbox,
    OrganizationRelationship,
    OrgSettings,
    OutboundConnector,
    SharingPolicy,
    Tenant,
    default_sharing_policies,
)

TENANT_FILE = "tenant.json"


def tenant_to_dict(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "initial_domain": tenant.initial_domain,
        "accepted_domains": [vars(d).copy() for d in tenant.accepted_domains],
        "settings": vars(tenant.settings).copy(),
        # The world's own credential store: passwords stay in the state folder, never in logs.
        "mailboxes": [_mailbox_to_dict(m) for m in tenant.mailboxes],
        "inbound_connectors": [
            {
                **vars(c),
                "sender_ip_addresses": [str(n) for n in c.sender_ip_addresses],
                "ef_skip_ips": [str(n) for n in c.ef_skip_ips],
                "ef_users": list(c.ef_users),
            }
            for c in tenant.inbound_connectors
        ],
        "outbound_connectors": [
            {**vars(c), "recipient_domains": list(c.recipient_domains), "smart_hosts": list(c.smart_hosts)}
            for c in tenant.outbound_connectors
        ],
        "dkim": [{**vars(d), "keys": {s: str(p) for s, p in d.keys.items()}} for d in tenant.dkim],
        "sharing_policies": [
            {**vars(p), "domains": {d: list(a) for d, a in p.domains.items()}}
            for p in tenant.sharing_policies
        ],
        "organization_relationships": [
            {**vars(r), "domain_names": list(r.domain_names)} for r in tenant.organization_relationships
        ],
    }


def _mailbox_to_dict(mailbox: Mailbox) -> dict[str, Any]:
    return {
        **vars(mailbox),
        "send_as_trustees": list(mailbox.send_as_trustees),
        "calendar": [
            {**vars(i), "start": i.start.isoformat(), "end": i.end.isoformat()} for i in mailbox.calendar
        ],
        "calendar_shared_with": dict(mailbox.calendar_shared_with),
    }


def _mailbox_from_dict(data: dict[str, Any]) -> Mailbox:
    calendar = [
        CalendarItem(
            **{**i, "start": datetime.fromisoformat(i["start"]), "end": datetime.fromisoformat(i["end"])}
        )
        for i in data.get("calendar", [])
    ]
    return Mailbox(**{**data, "calendar": calendar})


def tenant_from_dict(data: dict[str, Any]) -> Tenant:
    return Tenant(
        name=data["name"],
        initial_domain=data["initial_domain"],
        accepted_domains=[AcceptedDomain(**d) for d in data["accepted_domains"]],
        settings=OrgSettings(**data["settings"]),
        mailboxes=[_mailbox_from_dict(m) for m in data["mailboxes"]],
        inbound_connectors=[
            InboundConnector(
                **{
                    **c,
                    "sender_ip_addresses": [ipaddress.ip_network(n) for n in c["sender_ip_addresses"]],
                    "ef_skip_ips": [ipaddress.ip_network(n) for n in c.get("ef_skip_ips", [])],
                }
            )
            for c in data["inbound_connectors"]
        ],
        # A state folder saved before outbound connectors existed has none.
        outbound_connectors=[OutboundConnector(**c) for c in data.get("outbound_connectors", [])],
        dkim=[
            DkimSigningConfig(**{**d, "keys": {s: Path(p) for s, p in d["keys"].items()}})
            for d in data["dkim"]
        ],
        # A state folder saved before sharing existed: the tenant has the Default Sharing Policy only.
        sharing_policies=(
            [SharingPolicy(**p) for p in data["sharing_policies"]]
            if "sharing_policies" in data
            else default_sharing_policies()
        ),
        organization_relationships=[
            OrganizationRelationship(**r) for r in data.get("organization_relationships", [])
        ],
    )


READABLE_MAILBOXES = 500


def save_tenant(tenant: Tenant, state_dir: Path) -> None:
    """Write tenant.json atomically (a reader sees the old file or the new one, never half)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    data = tenant_to_dict(tenant)
    # Indented for a course-sized tenant (people read it); compact for an imported one of thousands of
    # mailboxes, which the C encoder writes some ten times faster (lab start, bench/tenant_scale.py).
    readable = len(tenant.mailboxes) <= READABLE_MAILBOXES
    text = json.dumps(data, indent=2) if readable else json.dumps(data, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=".tenant-", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, state_dir / TENANT_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_tenant(state_dir: Path) -> Tenant | None:
    path = state_dir / TENANT_FILE
    if not path.exists():
        return None
    return tenant_from_dict(json.loads(path.read_text(encoding="utf-8")))


def tenant_mtime(state_dir: Path) -> float:
    try:
        return (state_dir / TENANT_FILE).stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return 0.0
