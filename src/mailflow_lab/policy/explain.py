"""What a reply (or a send that got none) means for an admin: the SMTP step, one plain line, and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from .explain_table import CONNECTOR_FIX as CONNECTOR_FIX
from .explain_table import ENTRIES, MX_AUTH, NOTHING, SPF_FIX, SUBMISSION_SETTINGS
from .replies import MX_FQDN, Reply, diagnostic_host

STEPS = ("connect", "TLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", "delivered")


@dataclass(frozen=True)
class Explanation:
    """The step a reply belongs to, what it means in one line, what the admin changes, and the rule."""

    step: str
    headline: str
    fix: str
    rule: str

    @property
    def generic(self) -> bool:
        """True when no specific explanation was known (explained by the reply code's class only)."""
        return self.rule.startswith("generic.")

    def filled(self, values: Mapping[str, str]) -> Explanation:
        """Placeholders such as <mailbox> or <office IP> replaced by what the caller knows."""
        headline, fix = self.headline, self.fix
        for key, value in values.items():
            headline = headline.replace(f"<{key}>", value)
            fix = fix.replace(f"<{key}>", value)
        return replace(self, headline=headline, fix=fix)

    def __str__(self) -> str:
        return f"[{self.step}] {self.headline}\nFix: {self.fix}"


_QUOTED = re.compile(r"Error: (\d{3}) (\d\.\d{1,3}\.\d{1,3}) (.*)$", re.DOTALL)
_SEND_AS = re.compile(r"SendAsDenied; (\S+) not allowed to send as (\S+?);")
_DMARC_DOMAIN = re.compile(r"sending domain \[([^\]]+)\]")


def _lookup(reply: Reply) -> Explanation | None:
    for entry in ENTRIES:
        if entry.code != reply.code or entry.enhanced != reply.enhanced:
            continue
        if entry.pattern and not re.search(entry.pattern, reply.text, re.IGNORECASE):
            continue
        return Explanation(entry.step, entry.headline, entry.fix, entry.rule)
    return None


def _not_authenticated(reply: Reply, found: Explanation) -> Explanation:
    """530 5.7.57 quoting the AUTH failure before it: the cause and its fix are the AUTH failure's."""
    quoted = _QUOTED.search(reply.text)
    if quoted is None:
        return found
    cause = explain(Reply(int(quoted[1]), quoted[2], quoted[3]))
    headline = f"MAIL FROM refused because signing in failed first: {cause.headline}"
    return replace(found, headline=headline, fix=cause.fix)


def _send_as(reply: Reply, found: Explanation) -> Explanation:
    names = _SEND_AS.search(reply.text)
    if names is None:
        return found
    login, sender = names[1], names[2]
    return replace(
        found,
        headline=f"{login} signed in, but has no SendAs permission on {sender}, the sender the device uses.",
        fix=f"Add-RecipientPermission -Identity {sender} -Trustee {login} -AccessRights SendAs, "
        f"or set the device's sender to {login}.",
    )


def _dmarc(reply: Reply, found: Explanation) -> Explanation:
    domain = _DMARC_DOMAIN.search(reply.text)
    if domain is None:
        return found
    name = domain[1].lower()
    return replace(
        found, headline=found.headline.replace("its domain", name), fix=found.fix.replace("contoso.com", name)
    )


_REFINE: dict[str, Callable[[Reply, Explanation], Explanation]] = {
    "submission.mail.not-authenticated": _not_authenticated,
    "submission.data.send-as-denied": _send_as,
    "antispam.dmarc-reject": _dmarc,
}

_GENERIC = {
    2: ("delivered", "The server accepted this step.", NOTHING),
    3: ("DATA", "The server waits for more from the device.", NOTHING),
    4: (
        "connect",
        "A temporary refusal: the device may retry later.",
        "Retry later; if it keeps happening, look the code up in Microsoft's list of SMTP errors (NDRs).",
    ),
    5: (
        "connect",
        "A permanent refusal: retrying will not help until something changes.",
        "Look the code up in Microsoft's list of SMTP errors (NDRs) and the message trace.",
    ),
}
_STEP_BY_SUBJECT = {"1": "RCPT TO", "3": "DATA", "6": "DATA"}  # RFC 3463 §3: X.1 addressing, X.3/X.6 content


def _generic(reply: Reply) -> Explanation:
    step, headline, fix = _GENERIC.get(reply.code // 100, _GENERIC[5])
    if reply.enhanced and reply.code >= 400:
        step = _STEP_BY_SUBJECT.get(reply.enhanced.split(".")[1], step)
    return Explanation(
        step,
        f"{reply.code}{' ' + reply.enhanced if reply.enhanced else ''}: {headline}",
        fix,
        f"generic.{reply.code // 100}xx",
    )


def _from_error(error: str | None) -> Explanation:
    """A send that got no reply: nothing answered, TLS failed, or the server hung up."""
    text = error or ""
    if "465" in text and "could not connect" in text:
        return Explanation(
            "connect",
            "Nothing answers on port 465: Microsoft 365 does not offer implicit TLS (SMTPS).",
            f"Set the device to {SUBMISSION_SETTINGS}. A device that can only use port 465 cannot use "
            "SMTP AUTH client submission: use direct send or a relay connector on <tenant MX> port 25.",
            "device.port-465",
        )
    if "could not connect" in text:
        return Explanation(
            "connect",
            "Nothing answers at this server name and port.",
            f"SMTP AUTH: {SUBMISSION_SETTINGS} (or 25). Direct send and relay: <tenant MX> port 25. Use the "
            "DNS name, never an IP address.",
            "device.wrong-endpoint",
        )
    if text.startswith("TLS failed"):
        return Explanation(
            "TLS",
            "The TLS handshake failed: the device and the server share no TLS version or the device expects "
            "implicit TLS where the server starts in plain text.",
            f"Set the device to STARTTLS with TLS 1.2 or newer ({SUBMISSION_SETTINGS}); implicit TLS is not "
            "offered. A TLS 1.0 device: smtp-legacy.office365.com with "
            "Set-TransportConfig -AllowLegacyTLSClients $true",
            "device.tls-failed",
        )
    if "holds a line break" in text:
        return Explanation(
            "connect",
            "Nothing was sent: a field of the device or the message holds a line break (CR or LF), which an "
            "SMTP command or a header line cannot carry.",
            "Remove the line break from the field named (a pasted address or subject often ends with one).",
            "device.line-break",
        )
    if "closed the connection" in text:
        return Explanation(
            "connect",
            "The server closed the connection without a reply the device could read.",
            "Check the device's TLS mode (STARTTLS, not implicit TLS) and port.",
            "device.disconnected",
        )
    return Explanation(
        "connect",
        "The device got no reply from the server.",
        "Check the server name, the port and the network path.",
        "generic.no-reply",
    )


def explain(reply: Reply | None, *, error: str | None = None) -> Explanation:
    """Explain a reply from the catalogue (or any reply, by its code class); without one, the `error`."""
    if reply is None:
        return _from_error(error)
    on_mx = f"[{diagnostic_host(MX_FQDN)} " in reply.text
    reply = reply.without_diagnostics()  # the catalogue's text, without the `[host time id]` it went out with
    found = _lookup(reply)
    if on_mx and found is not None and found.rule == "submission.auth.before-starttls":
        return Explanation(MX_AUTH.step, MX_AUTH.headline, MX_AUTH.fix, MX_AUTH.rule)
    if found is None:
        return _generic(reply)
    refine = _REFINE.get(found.rule)
    return refine(reply, found) if refine else found


_OUTCOMES: dict[str, tuple[str, str, str]] = {
    "Inbox": ("delivery.inbox", "The message reached the Inbox.", NOTHING),
    "Sent Items": ("delivery.sent-items", "A copy is in the sender's Sent Items.", NOTHING),
    "Junk Email": (
        "antispam.compauth-fail",
        "Delivered to Junk Email: SPF failed for the sender's domain from this IP and DMARC did not pass, so "
        "composite authentication treats it as spoofing.",
        SPF_FIX + "; or send through a relay connector or SMTP AUTH.",
    ),
    "quarantine": (
        "antispam.dmarc-quarantine",
        "Held in quarantine: SPF failed and the sender's domain publishes DMARC p=quarantine.",
        SPF_FIX + "; release the message from quarantine in the Defender portal.",
    ),
    "pending": (
        "submission.limit.per-minute",
        "Accepted and delayed: the mailbox sent more than 30 messages a minute.",
        "Nothing to change unless it keeps happening; spread the sends out or use a relay connector.",
    ),
    "failed": (
        "delivery.failed",
        "Accepted, then delivery failed after the session (see the message trace and the bounce).",
        "Read the FAIL event in Get-MessageTraceDetail for the receiving server's reply.",
    ),
}


def explain_outcome(where: str, *, external: bool = False) -> Explanation:
    """Where a message landed for one recipient ("Inbox", "Junk Email", "quarantine", ...), explained."""
    rule, headline, fix = _OUTCOMES.get(
        where, ("delivery.unknown", f"Outcome: {where}.", "Look the message up in the message trace.")
    )
    if external and where == "Junk Email":
        rule = "outside.spf-fail"
        headline = "Fabrikam filed it in Junk Email: SPF failed for the sender's domain and DMARC failed."
    elif external and where == "failed":
        rule = "outside.refused"
        headline = "Microsoft 365 relayed the message, but Fabrikam's server refused it."
    return Explanation("delivered", headline, fix, rule)


__all__ = ["STEPS", "Explanation", "explain", "explain_outcome"]
