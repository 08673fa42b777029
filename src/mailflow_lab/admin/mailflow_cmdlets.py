"""Exchange Online cmdlets for mail flow: inbound connectors and the message trace."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from ..trace import TraceRecord
from ..world.model import InboundConnector
from ..world.rules import connector_problem
from .binder import Cmdlet, CmdletError, Context, Param
from .objects import PSObject
from .tenant_cmdlets import IDENTITY, IDENTITY_MANDATORY, PROPAGATION, not_found, tenant

CONNECTOR_FIELDS = {
    "ConnectorType": "connector_type",
    "SenderIPAddresses": "sender_ip_addresses",
    "SenderDomains": "sender_domains",
    "TlsSenderCertificateName": "tls_sender_certificate_name",
    "RequireTls": "require_tls",
    "RestrictDomainsToIPAddresses": "restrict_domains_to_ip_addresses",
    "RestrictDomainsToCertificate": "restrict_domains_to_certificate",
    "Enabled": "enabled",
}
_FIELD_PARAM = {v: k for k, v in CONNECTOR_FIELDS.items()}


def _connector_object(connector: InboundConnector) -> PSObject:
    props = {
        "Name": connector.name,
        "Identity": connector.name,
        "Enabled": connector.enabled,
        "ConnectorType": connector.connector_type,
        "ConnectorSource": "Default",
        "SenderDomains": [f"smtp:{d};1" if d != "*" else "smtp:*;1" for d in connector.sender_domains],
        "SenderIPAddresses": [str(n).removesuffix("/32") for n in connector.sender_ip_addresses],
        "TlsSenderCertificateName": connector.tls_sender_certificate_name,
        "RequireTls": connector.require_tls,
        "RestrictDomainsToIPAddresses": connector.restrict_domains_to_ip_addresses,
        "RestrictDomainsToCertificate": connector.restrict_domains_to_certificate,
        "CloudServicesMailEnabled": False,
        "TreatMessagesAsInternal": False,
    }
    return PSObject("InboundConnector", props, ("Name", "Enabled", "ConnectorType", "SenderIPAddresses"))


def _find(ctx: Context, identity: str) -> InboundConnector:
    for connector in tenant(ctx).inbound_connectors:
        if connector.name.lower() == identity.lower():
            return connector
    raise not_found(identity)


def _apply(ctx: Context, connector: InboundConnector, p: dict[str, Any]) -> None:
    for param, field_name in CONNECTOR_FIELDS.items():
        if param not in p:
            continue
        value = p[param]
        if isinstance(value, dict):  # @{Add=...; Remove=...} on a multi-valued property
            current = list(getattr(connector, field_name))
            current += [v for v in value.get("add", []) if v not in current]
            current = [v for v in current if v not in value.get("remove", [])]
            value = current
        if field_name == "sender_domains":
            value = [str(v).lower().removeprefix("smtp:").split(";")[0] for v in value] or ["*"]
        if field_name == "tls_sender_certificate_name" and value is not None:
            value = str(value).lower()
        setattr(connector, field_name, value)
    problem = connector_problem(tenant(ctx), connector)
    if problem is not None:
        raise CmdletError(f"{_FIELD_PARAM.get(problem[0].split('[')[0], problem[0])}: {problem[1]}")
    ctx.warn_once("connector", PROPAGATION)
    ctx.changed = True


def new_inbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    name = p["Name"]
    if any(c.name.lower() == name.lower() for c in tenant(ctx).inbound_connectors):
        raise CmdletError(f"The connector '{name}' already exists.")
    # New-InboundConnector's default ConnectorType is Partner (office-docs-powershell).
    connector = InboundConnector(name=name, connector_type="Partner")
    _apply(ctx, connector, p)
    tenant(ctx).inbound_connectors.append(connector)
    return [_connector_object(connector)]


def set_inbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    connector = _find(ctx, p["Identity"])
    updated = copy.deepcopy(connector)
    _apply(ctx, updated, p)
    connector.__dict__.update(updated.__dict__)
    return []


def get_inbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "Identity" in p:
        return [_connector_object(_find(ctx, p["Identity"]))]
    return [_connector_object(c) for c in tenant(ctx).inbound_connectors]


def remove_inbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    connector = _find(ctx, p["Identity"])
    tenant(ctx).inbound_connectors.remove(connector)
    ctx.changed = True
    return []


# -- message trace ---------------------------------------------------------------------------------
def _trace_object(record: TraceRecord) -> PSObject:
    props = {
        "Received": record.received,
        "SenderAddress": record.sender_address,
        "RecipientAddress": record.recipient_address,
        "Subject": record.subject,
        "Status": record.status,
        "ToIP": record.to_ip or None,
        "FromIP": record.from_ip,
        "Size": record.size,
        "MessageId": record.message_id,
        "MessageTraceId": record.message_trace_id,
    }
    return PSObject(
        "MessageTrace", props, ("Received", "SenderAddress", "RecipientAddress", "Subject", "Status")
    )


def get_message_trace(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    runtime = ctx.runtime
    end: datetime = p.get("EndDate") or runtime.clock.now()
    # Without dates, the trace covers the last 48 hours (Get-MessageTrace's default).
    start: datetime = p.get("StartDate") or end - timedelta(hours=48)
    if start > end:
        raise CmdletError("The StartDate value must be earlier than the EndDate value.")
    records = runtime.trace.records(start=start, end=end)
    if "SenderAddress" in p:
        records = [r for r in records if r.sender_address.lower() in [a.lower() for a in p["SenderAddress"]]]
    if "RecipientAddress" in p:
        wanted = [a.lower() for a in p["RecipientAddress"]]
        records = [r for r in records if r.recipient_address.lower() in wanted]
    if "Status" in p:
        records = [r for r in records if r.status.lower() in [s.lower() for s in p["Status"]]]
    if "MessageId" in p:
        records = [r for r in records if r.message_id.strip("<>") in [m.strip("<>") for m in p["MessageId"]]]
    if "Subject" in p:
        records = [r for r in records if p["Subject"].lower() in r.subject.lower()]
    if p.get("ResultSize"):
        records = records[: p["ResultSize"]]
    return [_trace_object(r) for r in records]


def get_message_trace_detail(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    record = ctx.runtime.trace.get(p["MessageTraceId"], p["RecipientAddress"])
    if record is None:
        raise not_found(p["MessageTraceId"])
    out = []
    for event in record.events:
        props = {
            "Date": event.date,
            "Event": event.event,
            "Action": event.action,
            "Detail": event.detail,
            "Rule": event.rule,
            "MessageTraceId": record.message_trace_id,
        }
        out.append(PSObject("MessageTraceDetail", props, ("Date", "Event", "Detail")))
    return out


_CONNECTOR_PARAMS = (
    Param("ConnectorType", "choice", choices=("OnPremises", "Partner")),
    Param("SenderIPAddresses", "ip-list"),
    Param("SenderDomains", "list"),
    Param("TlsSenderCertificateName"),
    Param("RequireTls", "bool"),
    Param("RestrictDomainsToIPAddresses", "bool"),
    Param("RestrictDomainsToCertificate", "bool"),
    Param("Enabled", "bool"),
    Param("Comment"),
    Param("CloudServicesMailEnabled", "bool"),
    Param("TreatMessagesAsInternal", "bool"),
)
_TRACE_PARAMS = (
    Param("SenderAddress", "list"),
    Param("RecipientAddress", "list"),
    Param("Status", "list"),
    Param("StartDate", "datetime"),
    Param("EndDate", "datetime"),
    Param("MessageId", "list"),
    Param("ResultSize", "int"),
    Param("PageSize", "int"),
)

CMDLETS = [
    Cmdlet(
        "New-InboundConnector",
        # SenderDomains is mandatory for New-InboundConnector (office-docs-powershell: Required True).
        (
            Param("Name", mandatory=True, position=0),
            Param("SenderDomains", "list", mandatory=True),
            *[p for p in _CONNECTOR_PARAMS if p.name != "SenderDomains"],
        ),
        new_inbound_connector,
    ),
    Cmdlet("Set-InboundConnector", (IDENTITY_MANDATORY, *_CONNECTOR_PARAMS), set_inbound_connector, True),
    Cmdlet("Get-InboundConnector", (IDENTITY,), get_inbound_connector),
    Cmdlet("Remove-InboundConnector", (IDENTITY_MANDATORY,), remove_inbound_connector, True),
    Cmdlet("Get-MessageTrace", _TRACE_PARAMS, get_message_trace),
    Cmdlet("Get-MessageTraceV2", (*_TRACE_PARAMS, Param("Subject")), get_message_trace),
    Cmdlet(
        "Get-MessageTraceDetailV2",
        (Param("MessageTraceId", mandatory=True), Param("RecipientAddress", mandatory=True)),
        get_message_trace_detail,
    ),
    Cmdlet(
        "Get-MessageTraceDetail",
        (Param("MessageTraceId", mandatory=True), Param("RecipientAddress", mandatory=True)),
        get_message_trace_detail,
    ),
]
