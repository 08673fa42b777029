"""Rules of a third-party filter in front of Microsoft 365: recipients, relay answer, Received line."""

from __future__ import annotations

import ipaddress

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


def relay_refusal(refusals: list[R.Reply], recipients: int) -> R.Reply | None:
    """Microsoft 365's answer to pass back before DATA: the first refusal when it refused every recipient.

    With at least one recipient taken the filter sends the message (RFC 5321 §3.3: DATA goes to the
    recipients accepted) and Microsoft 365's DATA reply is the answer; None says so.
    """
    if recipients and len(refusals) >= recipients:
        return refusals[0]
    return None


def received_line(mail_filter: MailFilter, helo: str, client_ip: str, tls: bool, date: str) -> str:
    """The Received header the filter adds (RFC 5321 §4.4): who it received the message from, and when.

    Enhanced Filtering for Connectors reads this line to find the original sender's address, so only the
    TCP-info comment carries an address: the client's EHLO name is reduced to a safe word first.
    """
    with_ = "ESMTPS" if tls else "ESMTP"
    return f"from {helo_word(helo)} ([{client_ip}]) by {mail_filter.host} with {with_}; {date}"


def helo_word(helo: str) -> str:
    """The client's EHLO name as a Received line may carry it: its first word, without ( ) [ ] ; in it.

    RFC 5321 §4.4: the "from" domain is what the client claimed and the comment is what the server saw; a
    client saying `EHLO x ([192.0.2.25])` must not write a comment of its own. An address literal such as
    `[192.0.2.25]` (RFC 5321 §4.1.3) is kept as it is: it is one word and parsers read the comment, not it.
    """
    words = helo.split()
    word = words[0] if words else ""
    literal = word.removeprefix("[").removesuffix("]").removeprefix("IPv6:")
    if word.startswith("[") and word.endswith("]") and _is_address(literal):
        return word
    word = word.translate(_UNSAFE)
    return word or "unknown"


_UNSAFE = str.maketrans("", "", '()[];\\"')


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
