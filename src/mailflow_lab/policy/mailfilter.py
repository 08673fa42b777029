"""Rules of a third-party filter in front of Microsoft 365: the recipients it takes, its Received line."""

from __future__ import annotations

from ..world.model import MailFilter, Tenant
from . import replies as R
from .decision import Decision


def rcpt_to(tenant: Tenant, mail_filter: MailFilter, address: str) -> Decision:
    """The filter takes mail for the tenant's accepted domains only (it is their MX); it relays for nobody."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if not tenant.is_accepted(domain):
        why = f"{mail_filter.host} filters mail for {tenant.name}'s domains only; it relays for nobody"
        return Decision(R.FABRIKAM_RELAY_DENIED, "filter.relay-denied", why)
    why = f"{domain} is a domain {mail_filter.name} filters for: the message will be passed to Microsoft 365"
    return Decision(R.FABRIKAM_OK_RCPT, "filter.rcpt.ok", why)


def received_line(mail_filter: MailFilter, helo: str, client_ip: str, tls: bool, date: str) -> str:
    """The Received header the filter adds (RFC 5321 §4.4): who it received the message from, and when.

    Enhanced Filtering for Connectors reads this line to find the original sender's address.
    """
    with_ = "ESMTPS" if tls else "ESMTP"
    return f"from {helo or 'unknown'} ([{client_ip}]) by {mail_filter.host} with {with_}; {date}"
