"""Rules of the tenant MX on port 25: connector attribution, connector relay and direct send."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from ..world.model import InboundConnector, Tenant
from . import replies as R
from .decision import Decision
from .submission import RECIPIENTS_PER_MESSAGE

Route = Literal["connector", "direct-send", "inbound"]


@dataclass(frozen=True)
class InboundFacts:
    """What the MX knows when a recipient is named."""

    client_ip: str
    cert_names: tuple[str, ...]
    tls_active: bool
    mail_from: str
    rcpt: str
    recipients_so_far: int = 0


@dataclass(frozen=True)
class RcptDecision:
    """The RCPT reply, and how the message will be treated: by a connector, as direct send, or inbound."""

    decision: Decision
    route: Route | None = None
    connector: str | None = None


@dataclass(frozen=True)
class ConnectorMail:
    """How mail relayed through an inbound connector is stamped: its direction and who it counts as from."""

    internal_only: bool  # every recipient is in an accepted domain: DIR:INT, else DIR:OUT
    treat_as_internal: bool  # TreatMessagesAsInternal: AuthAs Internal, else Anonymous


def connector_mail(tenant: Tenant, connector: str, recipients: list[str]) -> ConnectorMail:
    """Whether a message relayed through the named connector counts as the organisation's internal mail.

    New-InboundConnector -TreatMessagesAsInternal $true: messages from the connector are internal (hybrid
    mail between the on-premises server and the tenant). Sheet "Inbound connectors": relayed mail is
    `DIR:OUT` [observed]; the lab says `DIR:INT` when no recipient leaves the organisation.
    """
    internal_only = all(tenant.is_accepted(domain_of(r)) for r in recipients)
    treat = any(c.name == connector and c.treat_messages_as_internal for c in tenant.inbound_connectors)
    return ConnectorMail(internal_only, treat)


def ehlo_extensions() -> list[str]:
    """The MX offers no AUTH; STARTTLS stays optional ([MFD] direct send details)."""
    return list(R.EHLO_EXTENSIONS_BEFORE_TLS)


def ehlo_extensions_after_tls() -> list[str]:
    return [e for e in R.EHLO_EXTENSIONS_BEFORE_TLS if e != "STARTTLS"]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def certificate_matches(pattern: str, names: tuple[str, ...]) -> bool:
    """TlsSenderCertificateName against the certificate's CN/SAN.

    New-InboundConnector: wildcards indicate a domain and all its subdomains, so *.contoso.com covers
    contoso.com, relay.contoso.com and copier.branch.contoso.com.
    """
    pattern = pattern.lower()
    base = pattern.removeprefix("*.")
    for name in names:
        if name == pattern:
            return True
        if pattern.startswith("*.") and (name == base or name.endswith("." + base)):
            return True
    return False


def ip_matches(connector: InboundConnector, client_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in connector.sender_ip_addresses)


def matching_onpremises_connector(tenant: Tenant, facts: InboundFacts) -> InboundConnector | None:
    """An enabled OnPremises connector that recognises the sender: certificate first, then IP.

    MC1226222 (Feb 2026): attribution goes by the certificate domain, then MAIL FROM, then RCPT TO.
    """
    enabled = [c for c in tenant.inbound_connectors if c.enabled and c.connector_type == "OnPremises"]
    if facts.cert_names:
        for connector in enabled:
            name = connector.tls_sender_certificate_name
            if name and certificate_matches(name, facts.cert_names):
                return connector
    for connector in enabled:
        if ip_matches(connector, facts.client_ip):
            return connector
    return None


def partner_connector_for(tenant: Tenant, sender_domain: str) -> InboundConnector | None:
    """An enabled Partner connector whose SenderDomains cover the sender's domain."""
    for connector in tenant.inbound_connectors:
        if not connector.enabled or connector.connector_type != "Partner":
            continue
        for domain in connector.sender_domains:
            if domain == "*" or sender_domain == domain or sender_domain.endswith("." + domain):
                return connector
    return None


def rcpt_to(tenant: Tenant, facts: InboundFacts) -> RcptDecision:
    """Decide a recipient at the MX: relay by connector, direct send, or plain inbound mail."""
    if facts.recipients_so_far >= RECIPIENTS_PER_MESSAGE:
        # Lab choice: Exchange Online documents its recipient limit for senders (500 by default); the MX
        # applies the same number to one anonymous message, with Exchange's reply.
        why = f"at most {RECIPIENTS_PER_MESSAGE} recipients per message"
        return RcptDecision(Decision(R.TOO_MANY_RECIPIENTS, "mx.limit.recipients-per-message", why))
    sender_domain = domain_of(facts.mail_from) if facts.mail_from else ""
    rcpt_domain = domain_of(facts.rcpt)
    internal = tenant.is_accepted(rcpt_domain)

    connector = matching_onpremises_connector(tenant, facts)
    if connector is not None and tenant.is_accepted(sender_domain):
        # RequireTls applies only to Partner connectors (EOP sheet; New-InboundConnector): not checked here.
        if internal and tenant.find_mailbox(facts.rcpt) is None:
            return RcptDecision(_not_found(tenant, facts.rcpt))
        why = f"connector {connector.name!r} recognised this device; relaying to any recipient is allowed"
        return RcptDecision(Decision(R.RECIPIENT_OK, "connector.relay", why), "connector", connector.name)

    partner = partner_connector_for(tenant, sender_domain) if sender_domain else None
    if partner is not None and internal:
        restricted = partner.restrict_domains_to_ip_addresses or partner.restrict_domains_to_certificate
        by_ip = partner.restrict_domains_to_ip_addresses and ip_matches(partner, facts.client_ip)
        cert = partner.tls_sender_certificate_name
        by_cert = bool(
            partner.restrict_domains_to_certificate and cert and certificate_matches(cert, facts.cert_names)
        )
        if restricted and not (by_ip or by_cert):
            why = (
                f"Partner connector {partner.name!r} accepts {sender_domain} only from its listed "
                "IP addresses or certificate, and this connection matches neither"
            )
            return RcptDecision(Decision(R.PARTNER_CONNECTOR_RESTRICTED, "connector.partner-restricted", why))
        if partner.require_tls and not facts.tls_active:
            why = f"Partner connector {partner.name!r} requires TLS from {sender_domain}"
            return RcptDecision(Decision(R.TLS_REQUIRED, "connector.partner-require-tls", why))

    if not internal:
        why = (
            f"{rcpt_domain} is not an accepted domain, and no connector recognised this device "
            "(by IP address or certificate), so Microsoft 365 will not relay: direct send reaches "
            "internal recipients only"
        )
        return RcptDecision(Decision(R.RELAY_DENIED, "mx.relay-denied", why))

    if tenant.is_accepted(sender_domain) and tenant.settings.reject_direct_send:
        why = (
            "RejectDirectSend is on: anonymous mail from your own domain that matches no connector is "
            "refused (Set-OrganizationConfig -RejectDirectSend $false, or add a connector)"
        )
        return RcptDecision(Decision(R.DIRECT_SEND_REJECTED, "mx.reject-direct-send", why))

    if tenant.find_mailbox(facts.rcpt) is None:
        return RcptDecision(_not_found(tenant, facts.rcpt))

    route: Route = "direct-send" if tenant.is_accepted(sender_domain) else "inbound"
    why = (
        "direct send: anonymous mail to an internal recipient; anti-spam decides where it lands"
        if route == "direct-send"
        else "mail from outside to an internal recipient; anti-spam decides where it lands"
    )
    return RcptDecision(Decision(R.RECIPIENT_OK, f"mx.{route}", why), route)


def _not_found(tenant: Tenant, address: str) -> Decision:
    """An address in an accepted domain that no mailbox has, at RCPT on the MX.

    Directory-Based Edge Blocking (on by default for Authoritative domains; OfficeDocs-Exchange
    use-directory-based-edge-blocking.md) refuses it with 550 5.4.1 before any message is taken. Lab choice
    for an InternalRelay or ExternalRelay domain (DBEB is off for them; Microsoft 365 would pass the
    message on through an outbound connector the lab does not model): refused with 5.1.10.
    """
    domain = domain_of(address)
    if any(d.name == domain and d.domain_type == "Authoritative" for d in tenant.accepted_domains):
        why = (
            f"{address} is in {domain}, an Authoritative accepted domain, and no mailbox has this address: "
            "Directory-Based Edge Blocking refuses it at RCPT"
        )
        return Decision(R.DBEB_REJECTED, "mx.directory-based-edge-blocking", why)
    why = f"{address} is in an accepted domain but no mailbox has this address"
    return Decision(R.RECIPIENT_NOT_FOUND, "mx.recipient-not-found", why)
