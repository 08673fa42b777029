"""Replies of SMTP AUTH client submission on smtp.office365.com."""

from __future__ import annotations

from ..reply import Reply
from .hosts import SUBMISSION_DIAG, _r

# -- SMTP AUTH client submission ([AUTHSMTP], [NDR], transcripts) ---------------------------------------
AUTH_OK = _r(235, "2.7.0", "Authentication successful")
AUTH_LOGIN_USERNAME = "334 VXNlcm5hbWU6"
AUTH_LOGIN_PASSWORD = "334 UGFzc3dvcmQ6"
AUTH_UNRECOGNIZED = _r(504, "5.7.4", "Unrecognized authentication type")
AUTH_BAD_CREDENTIALS = _r(535, "5.7.3", "Authentication unsuccessful")
AUTH_DISABLED_TENANT = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.",
)
AUTH_DISABLED_MAILBOX = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
    "Visit https://aka.ms/smtp_auth_disabled for more information.",
)
AUTH_SECURITY_DEFAULTS = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, user is locked by your organization's security defaults policy. "
    "Contact your administrator.",
)
AUTH_BASIC_DISABLED = _r(535, "5.7.139", "Authentication unsuccessful, basic authentication is disabled.")
AUTH_CONDITIONAL_ACCESS = _r(
    535,
    "5.7.139",
    "Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. "
    "Contact your administrator.",
)
# Entra ID Smart Lockout (AADSTS50053, "the account is locked") as SMTP AUTH shows it, in the 5.7.139 family
# that carries Entra's sign-in refusals. Inferred: Microsoft documents no SMTP text for it; this wording is
# the one a mail-probe classifier's test table gives for smtp.office365.com (no first-hand transcript found).
AUTH_ACCOUNT_LOCKED = _r(535, "5.7.139", "Authentication unsuccessful, account locked.")
# After the final retirement of basic authentication for SMTP AUTH ([AUTHSMTP]; not yet in force in the lab).
BASIC_AUTH_RETIRED = _r(550, "5.7.30", "Basic authentication is not supported for Client Submission.")
AUTH_ALREADY = _r(503, "5.5.2", "Already authenticated")  # RFC 4954 §4: AUTH after AUTH is refused
AUTH_ABORTED = _r(501, "5.7.0", "Auth aborted")
AUTH_BAD_BASE64 = _r(501, "5.5.2", "Cannot decode base64")
# XOAUTH2 data that decodes but is not user=...^Aauth=Bearer ...^A^A (tarickb/sasl-xoauth2#110, seen on the
# HVE front end; inferred for smtp.office365.com).
XOAUTH2_BAD_DATA = _r(501, "5.5.124", "Invalid XOAUTH2 auth data - User address provided is not valid.")
STARTTLS_REQUIRED = _r(451, "5.7.3", "STARTTLS is required to send mail")
TLS_LEGACY_REFUSED = _r(
    421,
    "4.7.66",
    "TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
    "Visit https://aka.ms/smtp_auth_tls",
)


def not_authenticated(after_failure: Reply | None) -> Reply:
    """MAIL FROM without a successful AUTH; quotes the AUTH failure when there was one."""
    if after_failure is not None:
        return _r(530, "5.7.57", f"Client not authenticated to send mail. Error: {after_failure}")
    return _r(
        530,
        "5.7.57",
        "SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
    )


def send_as_denied(login: str, sender: str) -> Reply:
    return _r(
        554,
        "5.2.252",
        f"SendAsDenied; {login} not allowed to send as {sender}; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
        "Failed to process message due to a permanent exception with message "
        "[BeginDiagnosticData]Cannot submit message. [Hostname=" + SUBMISSION_DIAG + "]",
    )


CONCURRENT_CONNECTIONS = _r(
    432,
    "4.3.2",
    "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. "
    f"[Hostname={SUBMISSION_DIAG}]",
)
SUBMISSION_QUOTA_EXCEEDED = _r(554, "5.2.0", "STOREDRV.Submission.Exception:SubmissionQuotaExceededException")
MAILBOX_FULL = _r(
    554,
    "5.2.2",
    "mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
)
SENDER_THROTTLED_MAILBOX_FULL = _r(550, "5.2.251", "Sender throttled due to continuous mailbox full errors.")
# Over the mailbox's MaxSendSize (35 MB by default) but under the advertised SIZE: taken over SMTP, refused
# by the store (pankleks/pm2-health#52; the 554 5.2.0 prefix inferred from the other STOREDRV errors).
MAX_SUBMISSION_EXCEEDED = _r(
    554,
    "5.2.0",
    "STOREDRV.Submission.Exception:MessageSubmissionExceededException.MapiExceptionMaxSubmissionExceeded; "
    "Failed to process message due to a permanent exception with message "
    "[BeginDiagnosticData]Cannot save changes made to an item to store.",
)
TOO_MANY_RECIPIENTS = _r(452, "4.5.3", "Too many recipients")
