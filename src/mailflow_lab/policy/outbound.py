"""Where Microsoft 365 would send mail for one recipient: modelled and drawn, not followed on the wire."""

from __future__ import annotations

from dataclasses import dataclass

from ..world.model import OutboundConnector, Tenant

# Lab choice: outbound connectors are modelled (this module) and drawn (ui/topology.py), but the lab's relay
# (relay.py) always delivers by the recipient domain's MX, in clear: no smart host, no centralized mail
# transport, no TlsSettings on the wire. The lab has no on-premises server to deliver to.
NOT_FOLLOWED = (
    "Lab: outbound connectors are modelled and drawn, not followed on the wire: "
    "the lab's relay still delivers by MX."
)


@dataclass(frozen=True)
class OutboundRoute:
    """The next hop Exchange Online would take for one recipient, the connector that chose it, TLS, and why.

    A route is what the tenant's settings say, for learners and diagrams; the lab's own relay does not
    follow a connector's route (see NOT_FOLLOWED and `followed`).
    """

    recipient: str
    kind: str  # "mailbox" | "mx" | "partner" | "on-premises"
    next_hop: str
    connector: str | None
    tls: str | None
    rule: str
    explanation: str

    @property
    def via_on_premises(self) -> bool:
        return self.kind == "on-premises"

    @property
    def followed(self) -> bool:
        """True when the lab delivers the way the route says: to the mailbox, or by MX without a connector."""
        return self.kind in ("mailbox", "mx")


def domain_matches(pattern: str, domain: str) -> bool:
    """RecipientDomains: `*` for every domain, `*.contoso.com` for all subdomains (New-OutboundConnector)."""
    pattern, domain = pattern.lower(), domain.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        base = pattern[2:]
        return domain == base or domain.endswith("." + base)
    return domain == pattern


def _specificity(connector: OutboundConnector, domain: str) -> int:
    """How closely a connector names the domain: exact beats *.parent beats *."""
    best = -1
    for pattern in connector.recipient_domains:
        if domain_matches(pattern, domain):
            best = max(best, 0 if pattern == "*" else (2 if pattern == domain else 1))
    return best


def _next_hop(connector: OutboundConnector, domain: str) -> str:
    if not connector.use_mx_record and connector.smart_hosts:
        return connector.smart_hosts[0]
    return f"MX of {domain}"


def route(tenant: Tenant, recipient: str) -> OutboundRoute:
    """The route of one recipient, as Exchange Online with these outbound connectors would take it.

    Modelled, not followed: the lab's relay delivers by MX whatever this says (NOT_FOLLOWED); the route
    is for explaining and drawing (ui/topology.py draw_outbound).

    Accepted domains are delivered in the tenant. New-OutboundConnector: RouteAllMessagesViaOnPremises
    routes every message the connector services through the on-premises email system first (centralized
    mail transport, sheet "Mail-flow scenarios around devices"); it is effective only for OnPremises
    connectors. Lab choice: centralized transport wins over a Partner connector (the message leaves
    through on-premises, which applies its own routing), then the Partner connector that names the
    domain most closely, then DNS (MX) without a connector.
    """
    domain = recipient.rpartition("@")[2].lower()
    if tenant.is_accepted(domain):
        why = f"{domain} is an accepted domain: the message stays in Microsoft 365 and goes to the mailbox"
        return OutboundRoute(recipient, "mailbox", recipient, None, None, "outbound.mailbox", why)
    enabled = [c for c in tenant.outbound_connectors if c.enabled]
    for connector in enabled:
        if (
            connector.connector_type == "OnPremises"
            and connector.route_all_messages_via_on_premises
            and _specificity(connector, domain) >= 0
        ):
            hop = _next_hop(connector, domain)
            why = (
                f"connector {connector.name!r} has RouteAllMessagesViaOnPremises $true (centralized mail "
                f"transport): mail to {domain} goes to the on-premises server {hop} first"
            )
            return OutboundRoute(
                recipient,
                "on-premises",
                hop,
                connector.name,
                connector.tls_settings,
                "outbound.centralized",
                why,
            )
    partners = [c for c in enabled if c.connector_type == "Partner" and _specificity(c, domain) >= 0]
    if partners:
        connector = max(partners, key=lambda c: _specificity(c, domain))
        hop = _next_hop(connector, domain)
        tls = connector.tls_settings
        demand = f", TLS required ({tls})" if tls else ""
        why = f"Partner connector {connector.name!r} services {domain}: delivered to {hop}{demand}"
        return OutboundRoute(recipient, "partner", hop, connector.name, tls, "outbound.partner", why)
    why = f"no outbound connector services {domain}: Microsoft 365 delivers by DNS, to the MX of {domain}"
    return OutboundRoute(recipient, "mx", f"MX of {domain}", None, None, "outbound.mx", why)
