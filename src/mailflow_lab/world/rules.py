"""Rules a connector must follow, shared by the world loader and New-/Set-InboundConnector."""

from __future__ import annotations

from .model import InboundConnector, Tenant


def connector_problem(tenant: Tenant, connector: InboundConnector) -> tuple[str, str] | None:
    """(field, problem) for the first rule the connector breaks, or None when it is fine."""
    # New-InboundConnector: SenderIPAddresses takes IPv4 addresses and ranges from /24 to /32.
    for index, network in enumerate(connector.sender_ip_addresses):
        if network.version != 4 or network.prefixlen < 24:
            return (
                f"sender_ip_addresses[{index}]",
                f"expected an IPv4 address or range from /24 to /32, got {network}",
            )
    if connector.connector_type == "OnPremises" and not (
        connector.sender_ip_addresses or connector.tls_sender_certificate_name
    ):
        return (
            "sender_ip_addresses",
            "an OnPremises connector needs sender_ip_addresses or tls_sender_certificate_name "
            "to recognise mail",
        )
    cert = connector.tls_sender_certificate_name
    # [MFD]: an OnPremises certificate connector names a certificate in one of your accepted domains.
    if connector.connector_type == "OnPremises" and cert:
        base = cert.removeprefix("*.")
        if not any(base == d.name or base.endswith("." + d.name) for d in tenant.accepted_domains):
            domains = ", ".join(d.name for d in tenant.accepted_domains)
            return (
                "tls_sender_certificate_name",
                f"{cert} is not in an accepted domain of the tenant ({domains})",
            )
    return None
