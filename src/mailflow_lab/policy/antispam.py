"""Exchange Online Protection's verdict on anonymous mail: composite authentication to a folder or a reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..auth.verdicts import AuthResults
from . import replies as R

__all__ = ["AuthResults", "Verdict", "evaluate", "headers", "connector_headers"]

Action = Literal["inbox", "junk", "quarantine", "reject"]


@dataclass(frozen=True)
class Verdict:
    """Where the message goes, how the trace shows it, and the X-Forefront-Antispam-Report fields."""

    action: Action
    status: str  # message trace status
    scl: int
    sfv: str
    cat: str
    compauth: str
    reason: str
    rule: str
    explanation: str
    reply: R.Reply | None = None  # set when the message is refused in the SMTP session


def evaluate(results: AuthResults, *, via_connector: bool = False) -> Verdict:
    """The EOP sheet's table: DMARC decides what a composite-authentication failure costs.

    Defaults of the anti-phishing policy: HonorDmarcPolicy on, DmarcQuarantineAction Quarantine,
    DmarcRejectAction Reject, AuthenticationFailAction MoveToJmf.
    """
    if via_connector:
        why = "the connector recognised the sender as your organisation's own server: not spoofing"
        return Verdict("inbox", "Delivered", 1, "NSPM", "NONE", "pass", "100", "antispam.connector", why)
    # EOP sheet: when SPF passes the message is delivered to the Inbox, DMARC record or not.
    if results.dmarc == "pass" or (
        results.spf == "pass" and results.dmarc in ("none", "permerror", "temperror")
    ):
        why = f"SPF is {results.spf} and DMARC is {results.dmarc}: composite authentication passes"
        return Verdict("inbox", "Delivered", 1, "NSPM", "NONE", "pass", "100", "antispam.pass", why)
    policy = results.dmarc_disposition or results.dmarc_policy
    if policy == "reject":
        why = (
            f"SPF {results.spf} for {results.mail_from_domain} from {results.client_ip}, and "
            f"{results.header_from_domain} publishes DMARC p=reject: the message is refused"
        )
        return Verdict(
            "reject",
            "Failed",
            9,
            "SPM",
            "SPOOF",
            "fail",
            "010",
            "antispam.dmarc-reject",
            why,
            R.dmarc_reject(results.header_from_domain),
        )
    if policy == "quarantine":
        why = (
            f"SPF {results.spf} and {results.header_from_domain} publishes DMARC p=quarantine: "
            "the message is held in quarantine"
        )
        return Verdict(
            "quarantine", "Quarantined", 9, "SPM", "SPOOF", "fail", "010", "antispam.dmarc-quarantine", why
        )
    why = (
        f"SPF {results.spf}: {results.client_ip} is not allowed to send for {results.mail_from_domain}, "
        "and DMARC does not pass, so composite authentication fails (spoofing) and the message goes to "
        "Junk Email; add the address to the SPF record to fix it"
    )
    return Verdict("junk", "FilteredAsSpam", 5, "SPM", "SPOOF", "fail", "601", "antispam.compauth-fail", why)


_SPF_WORD = {"softfail": "SoftFail", "temperror": "TempError", "permerror": "PermError"}


def connector_headers(
    client_ip: str, helo: str, internal_only: bool, *, treat_as_internal: bool = False
) -> list[tuple[str, str]]:
    """What Microsoft 365 stamps on mail relayed through an OnPremises connector [observed].

    New-InboundConnector -TreatMessagesAsInternal $true: messages from the connector count as internal
    (hybrid mail between the on-premises server and the tenant), so they are stamped AuthAs Internal.
    """
    direction = "INT" if internal_only else "OUT"
    report = (
        f"CIP:{client_ip};CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:{helo};PTR:;CAT:NONE;SFTY:;"
        f"DIR:{direction};"
    )
    return [
        ("X-MS-Exchange-CrossTenant-FromEntityHeader", "HybridOnPrem"),
        ("X-MS-Exchange-Organization-AuthAs", "Internal" if treat_as_internal else "Anonymous"),
        ("X-Forefront-Antispam-Report", report),
        ("X-MS-Exchange-Organization-SCL", "1"),
    ]


def headers(results: AuthResults, verdict: Verdict, *, authenticated: bool = False) -> list[tuple[str, str]]:
    """The headers Microsoft 365 stamps, in the documented syntax (EOP sheet)."""
    ip, domain = results.client_ip, results.mail_from_domain
    spf_comment = f"(sender IP is {ip})"
    dkim = {
        "pass": "dkim=pass (signature was verified)",
        "none": "dkim=none (message not signed)",
    }.get(results.dkim, f"dkim={results.dkim} ({results.dkim_reason})")
    action = (results.dmarc_disposition or "none") if results.dmarc == "fail" else "none"
    auth_results = (
        f"spf={results.spf} {spf_comment} smtp.mailfrom={domain}; "
        f"{dkim} header.d={results.dkim_domain or 'none'};"
        f"dmarc={results.dmarc} action={action} header.from={results.header_from_domain};"
        f"compauth={verdict.compauth} reason={verdict.reason}"
    )
    designates = "designates" if results.spf == "pass" else "does not designate"
    received_spf = (
        f"{_SPF_WORD.get(results.spf, results.spf.capitalize())} (protection.outlook.com: domain of {domain} "
        f"{designates} {ip} "
        f"as permitted sender) receiver=protection.outlook.com; client-ip={ip}; helo={results.helo};"
    )
    report = (
        f"CIP:{ip};CTRY:;LANG:en;SCL:{verdict.scl};SRV:;IPV:NLI;SFV:{verdict.sfv};"
        f"H:{results.helo};PTR:;CAT:{verdict.cat};SFTY:{'9.11' if verdict.cat == 'SPOOF' else ''};DIR:INB;"
    )
    return [
        ("Authentication-Results", auth_results),
        ("Received-SPF", received_spf),
        ("X-MS-Exchange-Organization-AuthAs", "Internal" if authenticated else "Anonymous"),
        ("X-Forefront-Antispam-Report", report),
        ("X-MS-Exchange-Organization-SCL", str(verdict.scl)),
    ]
