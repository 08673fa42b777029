"""Replies of the tenant MX (direct send, connectors, the edge) and of Microsoft 365 relaying out."""

from __future__ import annotations

from ..reply import Reply
from .hosts import _r

# -- the tenant MX: direct send and connectors ([MFD], EOP sheet) ---------------------------------------
RELAY_DENIED = _r(550, "5.7.64", "TenantAttribution; Relay Access Denied")
DIRECT_SEND_REJECTED = _r(
    550,
    "5.7.68",
    "TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
)
PARTNER_CONNECTOR_RESTRICTED = _r(
    550,
    "5.7.51",
    "TenantInboundAttribution; There is a partner connector configured that matched the message's "
    "recipient domain. The connector had either the RestrictDomainsToIPAddresses or "
    "RestrictDomainsToCertificate set",
)
TLS_REQUIRED = _r(454, "4.7.0", "Failed to establish appropriate TLS channel: Access Denied")
# Directory-Based Edge Blocking at the MX: an Authoritative accepted domain's unknown address is refused at
# RCPT (OfficeDocs-Exchange use-directory-based-edge-blocking.md; real Postfix logs). The diagnostic suffix
# [<EOP host> <time> <session id>] is added as the reply goes out (see with_diagnostics).
DBEB_REJECTED = _r(550, "5.4.1", "Recipient address rejected: Access denied. AS(201806281)")
# [NDR] 5.1.10: the recipient's domain is accepted but no mailbox has the address.
RECIPIENT_NOT_FOUND = _r(
    550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
)


def dmarc_reject(domain: str) -> Reply:
    return _r(
        550,
        "5.7.509",
        f"Access denied, sending domain [{domain.upper()}] does not pass DMARC verification "
        "and has a DMARC policy of reject.",
    )


# -- blocking and throttling at the edge ([NDR] and transcripts) ---------------------------------------------
def server_busy(ip: str) -> Reply:
    return _r(451, "4.7.500", f"Server busy. Please try again later from [{ip}]. (AS843)")


def banned_ip(ip: str) -> Reply:
    return _r(
        550,
        "5.7.606",
        f"Access denied, banned sending IP [{ip}]. To request removal from this list please visit "
        "https://sender.office.com/ and follow the directions.",
    )


TRAFFIC_NOT_ACCEPTED = _r(
    550, "5.7.708", "Service unavailable. Access denied, traffic not accepted from this IP."
)
UNREGISTERED_DOMAIN = _r(550, "5.7.750", "Client blocked from sending from unregistered domain")


# Exchange Online's transient failure [observed in real transcripts]; the lab answers it when a handler fails.
TEMPORARY_SERVER_ERROR = _r(451, "4.7.0", "Temporary server error. Please try again later. PRX4")


# -- Microsoft 365 relaying out to the next hop (lab wording where no sheet gives one) -------------------
def domain_unreachable(domain: str) -> Reply:
    """[NDR] 5.4.310 (DNS domain does not exist): the lab is closed, so a domain without a lab server."""
    return _r(550, "5.4.310", f"DNS domain {domain} does not exist or has no lab mail server")


def hand_off_failed(server: str, why: str) -> Reply:
    """[NDR] 4.4.0 family (a transient routing failure): the next hop could not be talked to."""
    return _r(451, "4.4.0", f"Message delivery to {server} failed: {why}")


# What the trace quotes when the next hop took the message (smtplib's sendmail gives no per-recipient 250).
RELAY_DELIVERED = _r(250, "2.0.0", "Delivered")
