"""SPF, DKIM and DMARC of one message combined once: the facts every receiving server of the lab judges."""

from __future__ import annotations

from dataclasses import dataclass

from .dkim import verify_all
from .dmarc import evaluate_dmarc
from .spf import Resolver, check_spf


@dataclass(frozen=True)
class AuthResults:
    """The email-authentication facts EOP (and Fabrikam) combine (results as the auth checks report them)."""

    client_ip: str
    helo: str
    mail_from_domain: str
    header_from_domain: str
    spf: str
    dkim: str  # "pass", "fail", "none", ...
    dkim_domain: str | None
    dkim_reason: str
    dmarc: str  # "pass", "fail", "none", ...
    dmarc_policy: str | None  # the published p= (or sp=) that applies, None without a record
    dmarc_disposition: str | None  # after pct sampling


def mail_from_domain(mail_from: str, helo: str) -> str:
    """The domain SPF checks: MAIL FROM's, or the HELO name for the null sender (RFC 7208 §2.4)."""
    return mail_from.rpartition("@")[2].lower() or helo.lower()


def author_domain(header_from: str, mail_from: str, helo: str) -> str:
    """The domain DMARC judges and DKIM signs for: the From header's (RFC 7489 §3.1).

    Lab choice for a message without a readable From: the domain SPF checked (MAIL FROM, else HELO), so
    the MX, Fabrikam's server and the outbound signer all fall back alike.
    """
    return header_from.rpartition("@")[2].lower() or mail_from_domain(mail_from, helo)


def authenticate(
    content: bytes, *, client_ip: str, mail_from: str, helo: str, header_from: str, dns: Resolver
) -> AuthResults:
    """SPF of the envelope sender from the client's address, each DKIM signature, DMARC of the From domain."""
    spf = check_spf(client_ip, mail_from, helo or "unknown", dns=dns)
    dkim = verify_all(content, dns)
    from_domain = author_domain(header_from, mail_from, helo)
    dmarc = evaluate_dmarc(from_domain, spf.result, spf.domain, [(v.result, v.domain) for v in dkim], dns)
    first = dkim[0] if dkim else None
    return AuthResults(
        client_ip=client_ip,
        helo=helo,
        mail_from_domain=mail_from_domain(mail_from, helo),
        header_from_domain=from_domain,
        spf=spf.result,
        dkim=first.result if first else "none",
        dkim_domain=first.domain if first else None,
        dkim_reason=first.reason if first else "message not signed",
        dmarc=dmarc.result,
        dmarc_policy=dmarc.policy,
        dmarc_disposition=dmarc.disposition,
    )
