"""Exchange Online cmdlets for mail flow: inbound and outbound connectors, and the message trace."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from ..store.trace import TraceRecord
from ..world.model import InboundConnector, OutboundConnector
from ..world.rules import connector_problem, outbound_connector_problem
from .binder import Cmdlet, CmdletError, Context, Param, add_remove
from .objects import PSObject
from .tenant_cmdlets import IDENTITY, IDENTITY_MANDATORY, PROPAGATION, find_named, not_found, tenant

CONNECTOR_FIELDS = {
    "ConnectorType": "connector_type",
    "SenderIPAddresses": "sender_ip_addresses",
    "SenderDomains": "sender_domains",
    "TlsSenderCertificateName": "tls_sender_certificate_name",
    "RequireTls": "require_tls",
    "RestrictDomainsToIPAddresses": "restrict_domains_to_ip_addresses",
    "RestrictDomainsToCertificate": "restrict_domains_to_certificate",
    "Enabled": "enabled",
    "EFSkipLastIP": "ef_skip_last_ip",
    "EFSkipIPs": "ef_skip_ips",
    "EFUsers": "ef_users",
    "TreatMessagesAsInternal": "treat_messages_as_internal",
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
        "TreatMessagesAsInternal": connector.treat_messages_as_internal,
        "EFSkipLastIP": connector.ef_skip_last_ip,
        "EFSkipIPs": [str(n).removesuffix("/32") for n in connector.ef_skip_ips],
        "EFUsers": list(connector.ef_users),
    }
    return PSObject("InboundConnector", props, ("Name", "Enabled", "ConnectorType", "SenderIPAddresses"))


def _find(ctx: Context, identity: str) -> InboundConnector:
    return find_named(tenant(ctx).inbound_connectors, identity)


def _apply(ctx: Context, connector: InboundConnector, p: dict[str, Any]) -> None:
    for param, field_name in CONNECTOR_FIELDS.items():
        if param not in p:
            continue
        value = p[param]
        if isinstance(value, dict):  # @{Add=...; Remove=...} on a multi-valued property
            value = add_remove(getattr(connector, field_name), value)
        if field_name == "sender_domains":
            value = [str(v).lower().removeprefix("smtp:").split(";")[0] for v in value] or ["*"]
        if field_name == "ef_users":
            value = [str(v).lower() for v in value]
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


# -- outbound connectors ---------------------------------------------------------------------------
OUTBOUND_FIELDS = {
    "ConnectorType": "connector_type",
    "RecipientDomains": "recipient_domains",
    "SmartHosts": "smart_hosts",
    "UseMXRecord": "use_mx_record",
    "TlsSettings": "tls_settings",
    "TlsDomain": "tls_domain",
    "RouteAllMessagesViaOnPremises": "route_all_messages_via_on_premises",
    "Enabled": "enabled",
}
_OUTBOUND_PARAM = {v: k for k, v in OUTBOUND_FIELDS.items()}
# New-OutboundConnector -TlsSettings: these three, or $null (the default).
TLS_SETTINGS = ("EncryptionOnly", "CertificateValidation", "DomainValidation")


def _outbound_object(connector: OutboundConnector) -> PSObject:
    props = {
        "Name": connector.name,
        "Identity": connector.name,
        "Enabled": connector.enabled,
        "ConnectorType": connector.connector_type,
        "ConnectorSource": "Default",
        "RecipientDomains": list(connector.recipient_domains),
        "SmartHosts": list(connector.smart_hosts),
        "UseMXRecord": connector.use_mx_record,
        "TlsSettings": connector.tls_settings,
        "TlsDomain": connector.tls_domain,
        "RouteAllMessagesViaOnPremises": connector.route_all_messages_via_on_premises,
        "CloudServicesMailEnabled": False,
        "IsTransportRuleScoped": False,
    }
    return PSObject("OutboundConnector", props, ("Name", "Enabled", "ConnectorType", "RecipientDomains"))


def _find_outbound(ctx: Context, identity: str) -> OutboundConnector:
    return find_named(tenant(ctx).outbound_connectors, identity)


def _apply_outbound(ctx: Context, connector: OutboundConnector, p: dict[str, Any]) -> None:
    for param, field_name in OUTBOUND_FIELDS.items():
        if param not in p:
            continue
        value = p[param]
        if isinstance(value, dict):  # @{Add=...; Remove=...} on a multi-valued property
            value = add_remove(getattr(connector, field_name), value, str.lower)
        elif isinstance(value, list):
            value = [str(v).lower() for v in value]
        if field_name == "tls_settings" and value is not None:
            match = next((t for t in TLS_SETTINGS if t.lower() == str(value).lower()), None)
            if match is None:
                raise CmdletError(
                    f"Cannot bind parameter 'TlsSettings'. Cannot convert value \"{value}\": Unable to match "
                    f"the identifier name {value} to a valid enumerator name. Specify one of the following "
                    f"enumerator names and try again: {', '.join(TLS_SETTINGS)}"
                )
            value = match
        if field_name == "tls_domain" and value is not None:
            value = str(value).lower()
        setattr(connector, field_name, value)
    problem = outbound_connector_problem(connector)
    if problem is not None:
        raise CmdletError(f"{_OUTBOUND_PARAM.get(problem[0].split('[')[0], problem[0])}: {problem[1]}")
    ctx.warn_once("connector", PROPAGATION)
    ctx.changed = True


def new_outbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    name = p["Name"]
    if any(c.name.lower() == name.lower() for c in tenant(ctx).outbound_connectors):
        raise CmdletError(f"The connector '{name}' already exists.")
    connector = OutboundConnector(name=name)
    _apply_outbound(ctx, connector, p)
    tenant(ctx).outbound_connectors.append(connector)
    return [_outbound_object(connector)]


def set_outbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    connector = _find_outbound(ctx, p["Identity"])
    updated = copy.deepcopy(connector)
    _apply_outbound(ctx, updated, p)
    connector.__dict__.update(updated.__dict__)
    return []


def get_outbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    if "Identity" in p:
        return [_outbound_object(_find_outbound(ctx, p["Identity"]))]
    return [_outbound_object(c) for c in tenant(ctx).outbound_connectors]


def remove_outbound_connector(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    tenant(ctx).outbound_connectors.remove(_find_outbound(ctx, p["Identity"]))
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
    Param("EFSkipLastIP", "bool"),
    Param("EFSkipIPs", "ip-list"),
    Param("EFUsers", "list"),
)
_OUTBOUND_PARAMS = (
    Param("ConnectorType", "choice", choices=("OnPremises", "Partner")),
    Param("RecipientDomains", "list"),
    Param("SmartHosts", "list"),
    Param("UseMXRecord", "bool"),
    Param("TlsSettings"),
    Param("TlsDomain"),
    Param("RouteAllMessagesViaOnPremises", "bool"),
    Param("Enabled", "bool"),
    Param("Comment"),
    Param("CloudServicesMailEnabled", "bool"),
    Param("IsTransportRuleScoped", "bool"),
    Param("AllAcceptedDomains", "bool"),
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
    Cmdlet(
        "New-OutboundConnector",
        (Param("Name", mandatory=True, position=0), *_OUTBOUND_PARAMS),
        new_outbound_connector,
    ),
    Cmdlet("Set-OutboundConnector", (IDENTITY_MANDATORY, *_OUTBOUND_PARAMS), set_outbound_connector, True),
    Cmdlet("Get-OutboundConnector", (IDENTITY,), get_outbound_connector),
    Cmdlet("Remove-OutboundConnector", (IDENTITY_MANDATORY,), remove_outbound_connector, True),
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
