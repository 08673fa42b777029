"""Which of the three ways a device or app should send through Microsoft 365: facts in, advice out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..world.hosts import M365_SPF_INCLUDE, SUBMISSION_SERVER, mx_host_for
from . import replies as R
from .comparison import ACS as ACS
from .comparison import COMPARISON as COMPARISON
from .comparison import HVE as HVE
from .comparison import NOTE_ROWS, TITLES, Option
from .comparison import OPTIONS as OPTIONS
from .option_fit import (
    DIRECT_SEND_BLOCKED,
    DeviceFacts,
    direct_send_fits,
    relay_blocker,
    relay_fits,
    smtp_auth_blockers,
    smtp_auth_fits,
)
from .option_fit import QUESTIONS as QUESTIONS

M365_SPF = M365_SPF_INCLUDE  # the old name, kept for importers


@dataclass(frozen=True)
class Recommendation:
    """The option to use, why, what to type into the device and the tenant, and why not the others."""

    option: Option
    title: str
    reason: str
    device_settings: dict[str, str]
    tenant_steps: tuple[str, ...]  # exact Exchange Online PowerShell lines and DNS zone lines
    blocked: dict[str, str]  # option -> why it does not fit these facts
    alternatives: tuple[str, ...] = ()
    also_possible: dict[str, str] = field(default_factory=dict)  # fits, but not preferred: why not
    notes: tuple[str, ...] = ()
    relay_by: Literal["ip", "certificate"] | None = None
    facts: DeviceFacts = field(default_factory=DeviceFacts)

    def powershell_lines(self) -> tuple[str, ...]:
        """The tenant steps to run in Exchange Online PowerShell (the rest are DNS records)."""
        return tuple(s for s in self.tenant_steps if " IN TXT " not in s)

    def dns_lines(self) -> tuple[str, ...]:
        return tuple(s for s in self.tenant_steps if " IN TXT " in s)

    def text(self) -> str:
        """The whole recommendation as plain text, for print() in a notebook or a terminal."""
        lines = [f"{self.title}: {self.reason}", ""]
        lines += [f"  {k}: {v}" for k, v in self.device_settings.items()]
        lines += ["", *self.tenant_steps] if self.tenant_steps else []
        lines += [f"- {TITLES[k]}: {v}" for k, v in {**self.also_possible, **self.blocked}.items()]
        lines += [f"* {a}" for a in self.alternatives]
        return "\n".join(lines).strip()

    def __str__(self) -> str:
        return self.text()


# -- the recommendation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Names:
    """The tenant's names the advice is written with (the contoso lab's by default)."""

    domain: str
    mailbox: str
    ip: str
    sender: str
    certificate_name: str
    connector_name: str
    provider_spf: str

    @property
    def mx(self) -> str:
        return mx_host_for(self.domain)

    def spf_line(self, mechanism: str) -> str:
        # [MFD] SPF advice for direct send and relay (Microsoft's SPF guidance elsewhere prefers -all).
        return f'{self.domain}. 3600 IN TXT "v=spf1 {mechanism} {M365_SPF} ~all"'


@dataclass
class _Draft:
    """What one option's advice is made of, before it is frozen into a Recommendation."""

    reason: str
    settings: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    relay_by: Literal["ip", "certificate"] | None = None


def recommend(
    facts: DeviceFacts,
    *,
    domain: str = "contoso.com",
    mailbox: str = "scanner@contoso.com",
    ip: str = "203.0.113.10",
    sender: str | None = None,
    certificate_name: str | None = None,
    connector_name: str = "Device relay",
    provider_spf: str = "include:<your provider's SPF domain>",
) -> Recommendation:
    """Recommend one of the three options (or none) for these facts, with settings and tenant steps.

    `domain`, `mailbox` and `ip` default to the contoso lab; `sender` (direct send and relay) defaults to
    printer@<domain>, `certificate_name` to relay.<domain>.
    """
    names = _Names(
        domain,
        mailbox,
        ip,
        sender or f"printer@{domain}",
        certificate_name or f"relay.{domain}",
        connector_name,
        provider_spf,
    )
    blocked: dict[str, str] = {}
    smtp_blockers = smtp_auth_blockers(facts)
    if smtp_blockers:
        blocked["smtp-auth"] = " ".join(sentence for _, sentence in smtp_blockers)
    if not direct_send_fits(facts):
        blocked["direct-send"] = DIRECT_SEND_BLOCKED
    if not relay_fits(facts):
        blocked["relay"] = relay_blocker(facts)[1]
    smtp_short = "; ".join(short for short, _ in smtp_blockers)

    # Preference order ([FIX] lists "SMTP AUTH client submission (recommended)" first):
    #   1. SMTP AUTH whenever it fits: it reaches anyone, bypasses anti-spam for your own mailboxes,
    #      saves to Sent Items, and needs no static IP, connector or SPF change.
    #   2. Else a connector (relay) when outside recipients are needed: the only other way out.
    #   3. Else direct send: internal recipients only, nothing to set up but SPF.
    #   4. Else none of the three: external recipients with neither a sign-in nor a static IP/certificate.
    option: Option
    if smtp_auth_fits(facts):
        option, draft = "smtp-auth", _smtp_auth(facts, names)
    elif facts.needs_external and relay_fits(facts):
        option, draft = "relay", _relay(facts, names, smtp_short)
    elif direct_send_fits(facts):
        option, draft = "direct-send", _direct_send(facts, names, smtp_short)
    else:
        option, draft = "none", _nothing_fits(facts, smtp_short)

    also: dict[str, str] = {}
    if option == "smtp-auth" and direct_send_fits(facts):
        also["direct-send"] = (
            "Direct send would also reach your own mailboxes, but its mail goes through anti-spam (SPF "
            "matters) and is not saved to Sent Items; SMTP AUTH is preferred when the device can sign in."
        )
    if option == "smtp-auth" and relay_fits(facts):
        also["relay"] = (
            "A connector would also work, but it is more to keep right (the connector, the address or "
            "certificate, SPF); SMTP AUTH is preferred when the device can sign in."
        )
    if option == "direct-send" and relay_fits(facts):
        also["relay"] = (
            "A connector would also work, but for internal recipients only direct send needs no connector."
        )
    notes = list(draft.notes)
    if option != "none":
        notes += [f"{row}: {COMPARISON[row][option]}." for row in NOTE_ROWS]
    if any(" IN TXT " in s for s in draft.steps):
        notes.append(
            f"{domain} has one SPF record (RFC 7208 §3.2): replace the existing one, do not add a second."
        )
    return Recommendation(
        option=option,
        title=TITLES[option],
        reason=draft.reason,
        device_settings=draft.settings,
        tenant_steps=tuple(draft.steps),
        blocked=blocked,
        alternatives=tuple(draft.alternatives),
        also_possible=also,
        notes=tuple(notes),
        relay_by=draft.relay_by,
        facts=facts,
    )


def _smtp_auth(facts: DeviceFacts, names: _Names) -> _Draft:
    oauth, mailbox = facts.supports_oauth, names.mailbox
    how = "with OAuth (XOAUTH2)" if oauth else "with its user name and password"
    draft = _Draft(
        reason=(
            f"The device can sign in as {mailbox} {how} over STARTTLS with TLS 1.2 on port 587, and "
            "SMTP AUTH may be turned on for that mailbox. Microsoft 365 then delivers to anyone, inside or "
            "outside, and keeps a copy in Sent Items."
        ),
        settings={
            "Server": SUBMISSION_SERVER,
            "Port": "587",
            "TLS": "STARTTLS (TLS 1.2 or later)",
            "Authentication": "OAuth 2.0 (XOAUTH2)" if oauth else "User name and password (AUTH LOGIN)",
            "User name": mailbox,
            "Password": "an access token (scope SMTP.Send)" if oauth else "the mailbox's password",
            "Sender (From)": mailbox,
        },
        steps=[
            f"Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled $false",
            f"Get-CASMailbox -Identity {mailbox} | Format-List SmtpClientAuthenticationDisabled",
        ],
        notes=[
            "The sender (From) must be the signed-in mailbox, or one it has SendAs on "
            f"(Add-RecipientPermission); otherwise the end of DATA gets {_c(R.send_as_denied('', ''))} "
            "SendAsDenied."
        ],
    )
    if oauth:
        draft.notes.append(
            "Register an app in Microsoft Entra ID with the delegated permission "
            "https://outlook.office.com/SMTP.Send (SMTP.SendAsApp for app-only); the SMTP AUTH switch "
            "above applies to OAuth too."
        )
    else:
        # Exchange Team blog, 27 Jan 2026: the basic auth retirement timeline for SMTP AUTH.
        draft.notes.append(
            "Basic authentication for SMTP AUTH is disabled by default for existing tenants at the end "
            "of December 2026 (admins may turn it back on until a final removal announced for the "
            "second half of 2027): move to OAuth when the device can. Security defaults also block it."
        )
        draft.alternatives.append(ACS)
        if not facts.needs_external:
            draft.alternatives.append(HVE)
    return draft


def _relay(facts: DeviceFacts, names: _Names, smtp_short: str) -> _Draft:
    by_ip = facts.static_ip and not facts.hosted_by_third_party
    cert = names.certificate_name
    identity = f"your static address {names.ip}" if by_ip else f"the certificate for {cert}"
    draft = _Draft(
        reason=(
            "Mail must reach outside recipients, which direct send cannot do, and SMTP AUTH is out "
            f"({smtp_short}). An inbound connector that recognises {identity} lets Microsoft 365 relay "
            "the device's mail to anyone."
        ),
        settings={
            "Server": names.mx,
            "Port": "25",
            "TLS": "STARTTLS" if by_ip else f"STARTTLS with the certificate {cert}",
            "Authentication": f"None: the connector recognises {identity}",
            "User name": "(leave empty)",
            "Sender (From)": names.sender,
        },
        notes=[
            "A connector takes up to 30 minutes to reach every server in Microsoft 365 "
            "(the lab applies it at the next session)."
        ],
        relay_by="ip" if by_ip else "certificate",
    )
    # [MFD]: From "Your organization's email server" (OnPremises), by sender IP or certificate domain.
    new_connector = (
        f'New-InboundConnector -Name "{names.connector_name}" -ConnectorType OnPremises -SenderDomains *'
    )
    if by_ip:
        draft.steps = [f"{new_connector} -SenderIPAddresses {names.ip}", names.spf_line(f"ip4:{names.ip}")]
    else:
        draft.settings["Client certificate"] = cert
        draft.steps = [f"{new_connector} -TlsSenderCertificateName {cert} -RequireTls $true"]
        if facts.hosted_by_third_party:
            draft.steps.append(names.spf_line(names.provider_spf))
        elif facts.static_ip:
            draft.notes.append(f"A connector by the static address {names.ip} would work as well.")
    return draft


def _direct_send(facts: DeviceFacts, names: _Names, smtp_short: str) -> _Draft:
    draft = _Draft(
        reason="",
        settings={
            "Server": names.mx,
            "Port": "25",
            "TLS": "STARTTLS if the device offers it (optional)",
            "Authentication": "None",
            "User name": "(leave empty)",
            "Sender (From)": names.sender,
        },
        steps=["Get-OrganizationConfig | Format-List RejectDirectSend"],
    )
    if facts.static_ip and not facts.hosted_by_third_party:
        draft.steps.append(names.spf_line(f"ip4:{names.ip}"))
        spf = (
            f"Add {names.ip} to {names.domain}'s SPF record so anti-spam does not treat its mail as spoofed."
        )
    elif facts.hosted_by_third_party:
        draft.steps.append(names.spf_line(names.provider_spf))
        spf = f"Add the provider's sending addresses to {names.domain}'s SPF record so its mail passes SPF."
    else:
        spf = "Without a static IP, SPF cannot list the device, so expect some of its mail in Junk Email."
        draft.notes.append(
            "A static public IP is recommended for direct send: with it in SPF, mail passes anti-spam."
        )
    why = f" and SMTP AUTH is out ({smtp_short})" if smtp_short else ""
    draft.reason = (
        f"Every recipient is inside your organisation{why}, so the device can send straight to your MX "
        f"without signing in. {spf}"
    )
    draft.notes.append(
        "RejectDirectSend must stay False (Set-OrganizationConfig -RejectDirectSend $true refuses direct "
        f"send with {_c(R.DIRECT_SEND_REJECTED)})."
    )
    return draft


def _nothing_fits(facts: DeviceFacts, smtp_short: str) -> _Draft:
    draft = _Draft(
        reason=(
            "Mail must reach outside recipients, which direct send cannot do; SMTP AUTH is out "
            f"({smtp_short}), and so is a connector ({relay_blocker(facts)[0]}). "
            "None of the three fits: see the alternatives."
        )
    )
    # The newer ways (reference sheet), each with whether it would carry this device's mail.
    if facts.can_sign_in and facts.tls12_starttls_587:
        draft.alternatives.append(f"{ACS} It fits this device: it signs in with TLS 1.2 on port 587.")
    else:
        draft.alternatives.append(
            f"{ACS} Not for this device as it is: it needs STARTTLS with TLS 1.2 on port 587 and a sign-in."
        )
    draft.alternatives.append(f"{HVE} Not for this device's outside recipients.")
    if not facts.smtp_auth_allowed:
        draft.alternatives.append(
            "Ask for SMTP AUTH on one mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false): "
            "the tenant-wide switch can stay off."
        )
    if not facts.tls12_starttls_587:
        draft.alternatives.append(
            "Update the firmware, or replace the device with one that does STARTTLS with TLS 1.2 on port 587."
        )
    draft.alternatives += [
        "Get a static public IP that is yours alone for the site, or a certificate in one of your accepted "
        "domains, and relay through an inbound connector.",
        "Put a mail server of your own in between (on a static IP): the device sends to it as it can, and it "
        "sends on through SMTP AUTH or a connector.",
    ]
    return draft


def _c(reply: R.Reply) -> str:
    """A catalogue reply's code and enhanced code, e.g. "550 5.7.68", quoted in the advice."""
    return f"{reply.code} {reply.enhanced}"
