"""What an admin knows about a device, and which of the three ways to send those facts allow."""

from __future__ import annotations

from dataclasses import dataclass, fields

from . import replies as R


def _c(reply: R.Reply) -> str:
    """A catalogue reply's code and enhanced code, e.g. "550 5.7.64", quoted in the advice."""
    return f"{reply.code} {reply.enhanced}"


# The questions, in plain words, in the order the wizard asks them.
QUESTIONS: dict[str, str] = {
    "can_sign_in": "Can the device or app sign in with a mailbox user name and password?",
    "supports_oauth": "Can it sign in with OAuth (XOAUTH2, sometimes called modern authentication)?",
    "tls12_starttls_587": (
        "Does it support STARTTLS with TLS 1.2 or later on port 587? "
        "(Answer No if it only offers port 465 / SSL or TLS 1.0.)"
    ),
    "smtp_auth_allowed": "Is SMTP AUTH allowed for a mailbox in your tenant, or may you turn it on?",
    "needs_external": "Must it send to recipients outside your organisation?",
    "static_ip": "Does it send from a static public IP address that is your own (not shared)?",
    "has_certificate": (
        "Can it present a TLS certificate whose name (CN or SAN) is in one of your accepted domains?"
    ),
    "hosted_by_third_party": "Does it run in a provider's cloud, on addresses shared with others?",
}


@dataclass(frozen=True)
class DeviceFacts:
    """What an admin knows about the device or app and the tenant; every answer is yes or no."""

    can_sign_in: bool = False  # as a mailbox, with its user name and password
    supports_oauth: bool = False  # XOAUTH2 for that sign-in instead of the password
    tls12_starttls_587: bool = False  # False for port 465 / implicit TLS only, or TLS 1.0/1.1 only
    smtp_auth_allowed: bool = False  # for a mailbox in the tenant, now or once the admin turns it on
    needs_external: bool = False  # recipients outside the organisation
    static_ip: bool = False  # a static public IP that is the organisation's own, not shared
    has_certificate: bool = False  # CN or SAN in one of the tenant's accepted domains
    hosted_by_third_party: bool = False  # a provider's cloud, on shared addresses

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


# -- what makes each option fit ------------------------------------------------------------------------
def smtp_auth_fits(facts: DeviceFacts) -> bool:
    # [MFD]: a mailbox sign-in, STARTTLS with TLS 1.2+ on 587 (or 25), SMTP AUTH on for the mailbox.
    # OAuth signs in as a mailbox too and needs the same SMTP AUTH switch, so it refines, not replaces.
    return facts.can_sign_in and facts.tls12_starttls_587 and facts.smtp_auth_allowed


def direct_send_fits(facts: DeviceFacts) -> bool:
    # [MFD] comparison table: internal recipients only; works from a provider's cloud (add it to SPF);
    # a static IP is recommended (for SPF), not required.
    return not facts.needs_external


def relay_fits(facts: DeviceFacts) -> bool:
    # [MFD]: the connector knows the device by a static IP that is yours alone, or by its certificate.
    # A provider's shared addresses are never yours, so from a third party's cloud only a certificate
    # connector works (hosted_by_third_party wins over static_ip: those addresses are shared).
    if facts.has_certificate:
        return True
    return facts.static_ip and not facts.hosted_by_third_party


def smtp_auth_blockers(facts: DeviceFacts) -> list[tuple[str, str]]:
    """(short phrase, full sentence) for each reason SMTP AUTH does not fit."""
    found = []
    if not facts.can_sign_in:
        found.append(
            (
                "no mailbox sign-in",
                "It needs to sign in as a mailbox (user name and password, or OAuth for that mailbox), "
                "and this device cannot.",
            )
        )
    if not facts.tls12_starttls_587:
        found.append(
            (
                "no STARTTLS with TLS 1.2 on port 587",
                "It needs STARTTLS with TLS 1.2 or later on port 587 (or 25): Microsoft 365 offers no "
                f"port 465 (implicit TLS), and answers TLS 1.0 and 1.1 with {_c(R.TLS_LEGACY_REFUSED)}.",
            )
        )
    if not facts.smtp_auth_allowed:
        found.append(
            (
                "it may not be turned on",
                "SMTP AUTH is off for the tenant or the mailbox "
                f"({_c(R.AUTH_DISABLED_TENANT)}) and may not be turned on.",
            )
        )
    return found


def relay_blocker(facts: DeviceFacts) -> tuple[str, str]:
    """(short phrase, full sentence): why no inbound connector can recognise this device."""
    if facts.hosted_by_third_party:
        return (
            "a provider's shared addresses are not yours",
            "A connector recognises your mail by a static public IP that is yours alone, or by a "
            "certificate in one of your accepted domains: a provider's shared addresses are not yours, "
            "and there is no such certificate.",
        )
    return (
        "no static IP of your own and no certificate",
        "A connector needs a static public IP that is yours alone, or a certificate whose CN or SAN is "
        "in one of your accepted domains; this device has neither (a dynamic address cannot go in a "
        "connector).",
    )


DIRECT_SEND_BLOCKED = (
    "Direct send only delivers to mailboxes in your Microsoft 365 organisation: a message to an outside "
    f"recipient is refused with {_c(R.RELAY_DENIED)} TenantAttribution; Relay Access Denied."
)
