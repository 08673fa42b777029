"""Rules of SMTP AUTH client submission on smtp.office365.com (ports 587 and 25)."""

from __future__ import annotations

from dataclasses import dataclass

from ..world.model import Mailbox, Tenant
from . import replies as R
from .decision import Decision

# Limits of SMTP AUTH submission (Exchange Online limits; EOP sheet "SMTP AUTH limits").
MESSAGES_PER_MINUTE = 30
RECIPIENTS_PER_DAY = 10_000
RECIPIENTS_PER_MESSAGE = 500  # default, configurable up to 1,000
MAX_SEND_SIZE = 35 * 1024 * 1024  # default maximum send size, 35 MB
CONCURRENT_CONNECTIONS_PER_MAILBOX = 3
LEGACY_TLS_VERSIONS = ("TLSv1", "TLSv1.1")


@dataclass(frozen=True)
class SubmissionLimits:
    """The sending limits of SMTP AUTH submission; `Lab.start(submission_limits=...)` sets them per lab.

    The defaults are Exchange Online's (constants above); the UI, advice and tests read them from here.
    """

    messages_per_minute: int = MESSAGES_PER_MINUTE
    recipients_per_day: int = RECIPIENTS_PER_DAY
    recipients_per_message: int = RECIPIENTS_PER_MESSAGE
    max_send_size: int = MAX_SEND_SIZE
    concurrent_connections_per_mailbox: int = CONCURRENT_CONNECTIONS_PER_MAILBOX


DEFAULT_LIMITS = SubmissionLimits()


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


OFFERED_MECHANISMS = ("LOGIN", "XOAUTH2")


@dataclass(frozen=True)
class AuthOutcome:
    """The AUTH decision and, on success, the mailbox now signed in."""

    decision: Decision
    identity: str | None = None


def ehlo_extensions(tls_active: bool) -> list[str]:
    """EHLO keywords in Microsoft's order; after STARTTLS the AUTH line takes STARTTLS's place."""
    if not tls_active:
        return list(R.EHLO_EXTENSIONS_BEFORE_TLS)
    return [R.AUTH_EXTENSION if e == "STARTTLS" else e for e in R.EHLO_EXTENSIONS_BEFORE_TLS]


def after_tls_handshake(version: str, *, legacy_endpoint: bool, tenant: Tenant) -> Decision | None:
    """TLS 1.0/1.1 completes the handshake, then is refused unless the legacy endpoint is allowed."""
    if version not in LEGACY_TLS_VERSIONS:
        return None
    if legacy_endpoint and tenant.settings.allow_legacy_tls_clients:
        return None
    why = (
        "this device negotiated "
        + version
        + "; smtp.office365.com accepts TLS 1.2 or newer. The opt-in endpoint smtp-legacy.office365.com "
        "takes older clients once Set-TransportConfig -AllowLegacyTLSClients $true is set."
    )
    return Decision(R.TLS_LEGACY_REFUSED, "submission.tls.legacy-version", why)


def auth_mechanism(mechanism: str, *, tls_active: bool, already: bool) -> Decision | None:
    """Refuse AUTH before STARTTLS and unoffered mechanisms (PLAIN, CRAM-MD5...)."""
    if already:
        return Decision(R.AUTH_ALREADY, "submission.auth.already", "this session is already signed in")
    if not tls_active:
        why = "AUTH is only offered after STARTTLS: the EHLO reply before TLS lists no AUTH"
        return Decision(R.AUTH_UNRECOGNIZED, "submission.auth.before-starttls", why)
    if mechanism.upper() not in OFFERED_MECHANISMS:
        why = f"Microsoft 365 offers AUTH LOGIN and XOAUTH2 only, not {mechanism.upper()}"
        return Decision(R.AUTH_UNRECOGNIZED, "submission.auth.mechanism", why)
    return None


def authenticate_basic(tenant: Tenant, username: str, password: str) -> AuthOutcome:
    """AUTH LOGIN: the password first, then the switches that block basic authentication.

    Lab choice of order (the service does not document one): the credentials are checked first (a wrong
    password always gives 5.7.3), then Entra ID security defaults, then the authentication policy that
    disables basic auth, then the SMTP AUTH switch (mailbox setting wins over the tenant's).
    """
    mailbox = tenant.find_mailbox(username)
    if mailbox is None or not mailbox.can_sign_in or mailbox.password != password:
        why = "the user name or password is wrong (or the mailbox has no sign-in, like a shared mailbox)"
        return AuthOutcome(Decision(R.AUTH_BAD_CREDENTIALS, "submission.auth.bad-credentials", why))
    if tenant.settings.security_defaults:
        why = "security defaults in Entra ID block basic authentication for every legacy protocol"
        return AuthOutcome(Decision(R.AUTH_SECURITY_DEFAULTS, "submission.auth.security-defaults", why))
    if tenant.settings.basic_auth_disabled:
        why = "basic authentication is disabled for SMTP AUTH; sign in with OAuth (XOAUTH2) instead"
        return AuthOutcome(Decision(R.AUTH_BASIC_DISABLED, "submission.auth.basic-disabled", why))
    blocked = smtp_auth_switch(tenant, mailbox)
    if blocked is not None:
        return AuthOutcome(blocked)
    return AuthOutcome(_signed_in(mailbox, "basic"), mailbox.address)


def authenticate_oauth(tenant: Tenant, username: str, token_problem: str | None) -> AuthOutcome:
    """AUTH XOAUTH2: a valid token for SMTP.Send; basic-auth switches do not apply, SMTP AUTH does."""
    mailbox = tenant.find_mailbox(username)
    if token_problem is not None or mailbox is None:
        problem = token_problem or f"no mailbox {username}"
        why = f"the OAuth token was refused: {problem}"
        return AuthOutcome(Decision(R.AUTH_BAD_CREDENTIALS, "submission.auth.oauth-token", why))
    # SmtpClientAuthenticationDisabled turns off SMTP AUTH for OAuth too ([AUTHSMTP]).
    blocked = smtp_auth_switch(tenant, mailbox)
    if blocked is not None:
        return AuthOutcome(blocked)
    return AuthOutcome(_signed_in(mailbox, "OAuth"), mailbox.address)


def smtp_auth_switch(tenant: Tenant, mailbox: Mailbox) -> Decision | None:
    """Set-CASMailbox wins when set; $null follows Set-TransportConfig ([AUTHSMTP])."""
    if mailbox.smtp_client_authentication_disabled is True:
        why = f"SMTP AUTH is disabled on the mailbox {mailbox.address} (Set-CASMailbox)"
        return Decision(R.AUTH_DISABLED_MAILBOX, "submission.auth.mailbox-disabled", why)
    if (
        mailbox.smtp_client_authentication_disabled is None
        and tenant.settings.smtp_client_authentication_disabled
    ):
        why = (
            f"SMTP AUTH is disabled for the tenant and {mailbox.address} follows the tenant "
            "($null); enable it for this mailbox with Set-CASMailbox"
        )
        return Decision(R.AUTH_DISABLED_TENANT, "submission.auth.tenant-disabled", why)
    return None


def _signed_in(mailbox: Mailbox, how: str) -> Decision:
    return Decision(R.AUTH_OK, f"submission.auth.ok-{how.lower()}", f"signed in as {mailbox.address} ({how})")


def concurrent_connections(open_sessions: int, limits: SubmissionLimits = DEFAULT_LIMITS) -> Decision | None:
    """A fourth concurrent signed-in session for one mailbox is refused (EOP sheet)."""
    if open_sessions >= limits.concurrent_connections_per_mailbox:
        why = f"a mailbox may hold {limits.concurrent_connections_per_mailbox} SMTP sessions at once"
        return Decision(R.CONCURRENT_CONNECTIONS, "submission.limit.concurrent", why)
    return None


def mail_from(
    *,
    tls_active: bool,
    identity: str | None,
    auth_failure: R.Reply | None,
    declared_size: int | None,
    limits: SubmissionLimits = DEFAULT_LIMITS,
) -> Decision:
    """MAIL FROM: TLS first, then a signed-in session, then the declared size."""
    if not tls_active:
        why = "smtp.office365.com takes mail only over TLS: send STARTTLS first"
        return Decision(R.STARTTLS_REQUIRED, "submission.mail.starttls-required", why)
    if identity is None:
        why = "client submission needs a signed-in mailbox (AUTH) before MAIL FROM"
        return Decision(R.not_authenticated(auth_failure), "submission.mail.not-authenticated", why)
    if declared_size is not None and declared_size > R.MAX_MESSAGE_SIZE_ADVERTISED:
        # Over the advertised SIZE: refused at MAIL. Over MaxSendSize only: taken, refused after DATA.
        most = _mb(R.MAX_MESSAGE_SIZE_ADVERTISED)
        why = f"the message declares {declared_size} bytes; this server takes up to {most} (EHLO SIZE)"
        return Decision(R.MESSAGE_TOO_BIG, "submission.limit.size", why)
    return Decision(R.SENDER_OK, "submission.mail.ok", "sender accepted; the SendAs check comes after DATA")


def rcpt_to(recipients_so_far: int, limits: SubmissionLimits = DEFAULT_LIMITS) -> Decision:
    """RCPT TO: any recipient, internal or external, up to the per-message limit."""
    if recipients_so_far >= limits.recipients_per_message:
        why = f"at most {limits.recipients_per_message} recipients per message"
        return Decision(R.TOO_MANY_RECIPIENTS, "submission.limit.recipients-per-message", why)
    return Decision(R.RECIPIENT_OK, "submission.rcpt.ok", "internal and external recipients are allowed")


def can_send_as(tenant: Tenant, login: str, address: str) -> bool:
    """The signed-in mailbox itself, or a mailbox that lists it as a SendAs trustee."""
    if address.lower() == login.lower():
        return True
    target = tenant.find_mailbox(address)
    return target is not None and login.lower() in (t.lower() for t in target.send_as_trustees)


def end_of_data(
    tenant: Tenant,
    *,
    login: str,
    senders: list[str],
    size: int,
    recipients: int,
    recipients_last_24h: int,
    limits: SubmissionLimits = DEFAULT_LIMITS,
) -> Decision:
    """After DATA: SendAs on the envelope and From addresses, the daily quota, then the size."""
    for sender in senders:
        if sender and not can_send_as(tenant, login, sender):
            why = (
                f"{login} may send as itself or mailboxes it has SendAs on; grant it with "
                f"Add-RecipientPermission -Identity {sender} -Trustee {login} -AccessRights SendAs"
            )
            return Decision(R.send_as_denied(login, sender), "submission.data.send-as-denied", why)
    if recipients_last_24h + recipients > limits.recipients_per_day:
        why = (
            f"{login} reached {limits.recipients_per_day:,} recipients in 24 hours; "
            "the quota frees up a day later"
        )
        return Decision(R.SUBMISSION_QUOTA_EXCEEDED, "submission.limit.recipients-per-day", why)
    if size > limits.max_send_size:
        # Protocol sheet: under the advertised SIZE the message is taken over SMTP, and the store refuses it
        # as it is submitted from the mailbox (MaxSendSize, 35 MB by default; Set-Mailbox -MaxSendSize).
        why = (
            f"the message is {size:,} bytes; the mailbox's maximum send size is {_mb(limits.max_send_size)}: "
            "the server takes it over SMTP, then the mailbox store refuses it"
        )
        return Decision(R.MAX_SUBMISSION_EXCEEDED, "submission.limit.max-send-size", why)
    return Decision(R.queued("<id>", R.SUBMISSION_DIAG), "submission.data.ok", "accepted for delivery")


def deferral_minutes(messages_last_minute: int, limits: SubmissionLimits = DEFAULT_LIMITS) -> int:
    """More than 30 messages a minute: accepted, then delivered in the following minutes (0 = at once).

    `messages_last_minute` counts this mailbox's messages in the minute before this one. EOP sheet: the 2025
    support article says excess messages are delayed, not rejected; the lab follows it and carries each
    further 30 over to the next minute.
    """
    per_minute = limits.messages_per_minute
    if messages_last_minute < per_minute:
        return 0
    return 1 + (messages_last_minute - per_minute) // per_minute
