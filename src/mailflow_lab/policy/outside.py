"""Rules of an outside organisation's own mail server (Fabrikam): its recipients, and its DMARC verdict."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.verdicts import AuthResults
from ..world.model import OutsideOrganisation
from . import replies as R
from .decision import Decision


@dataclass(frozen=True)
class Filing:
    """Where the outside server files a message: a folder, or a refusal."""

    folder: str | None
    decision: Decision


def rcpt_to(org: OutsideOrganisation, address: str) -> Decision:
    """Only the organisation's own mailboxes; it relays for nobody."""
    domain = address.rpartition("@")[2].lower()
    if domain not in org.domains:
        why = f"{org.mail_server} takes mail for {', '.join(org.domains)} only"
        return Decision(R.FABRIKAM_RELAY_DENIED, "outside.relay-denied", why)
    if address.lower() not in org.mailboxes:
        return Decision(
            R.FABRIKAM_UNKNOWN_USER, "outside.unknown-user", f"{org.name} has no mailbox {address}"
        )
    return Decision(R.FABRIKAM_OK_RCPT, "outside.rcpt.ok", f"{address} is a {org.name} mailbox")


def file_message(
    org: OutsideOrganisation, *, spf: str, dkim: str, dmarc: str, disposition: str | None, from_domain: str
) -> Filing:
    """A receiver honouring DMARC: reject on p=reject, Junk on p=quarantine or a failing unaligned message."""
    if dmarc == "fail" and disposition == "reject":
        why = (
            f"{from_domain} fails DMARC (SPF {spf}, DKIM {dkim}) and publishes p=reject: "
            f"{org.name} refuses it"
        )
        return Filing(None, Decision(R.fabrikam_dmarc_reject(from_domain), "outside.dmarc-reject", why))
    if dmarc == "fail" and disposition == "quarantine":
        why = f"{from_domain} fails DMARC and publishes p=quarantine: {org.name} files it in Junk"
        return Filing("Junk Email", Decision(R.fabrikam_queued("<id>"), "outside.dmarc-quarantine", why))
    if dmarc != "pass" and spf in ("fail", "softfail"):
        why = f"SPF {spf} for {from_domain} and no passing DMARC: {org.name} files it in Junk"
        return Filing("Junk Email", Decision(R.fabrikam_queued("<id>"), "outside.spf-fail", why))
    why = f"SPF {spf}, DKIM {dkim}, DMARC {dmarc}: {org.name} delivers it to the Inbox"
    return Filing("Inbox", Decision(R.fabrikam_queued("<id>"), "outside.inbox", why))


def stamp(fqdn: str, results: AuthResults, filing: Filing) -> list[tuple[str, str]]:
    """The headers the outside server adds to what it files: its Authentication-Results (RFC 8601) and the
    lab's note of the folder and why."""
    auth = (
        f"{fqdn}; spf={results.spf} smtp.mailfrom={results.mail_from_domain}; "
        f"dkim={results.dkim} header.d={results.dkim_domain or 'none'}; "
        f"dmarc={results.dmarc} header.from={results.header_from_domain}"
    )
    return [
        ("Authentication-Results", auth),
        ("X-MailflowLab-Filing", f"{filing.folder}; {filing.decision.explanation}"),
    ]
