"""Replies of the servers that are not Microsoft's: Fabrikam's Postfix and a third-party filter."""

from __future__ import annotations

from ..reply import Reply
from .hosts import _r

# -- Fabrikam's own mail server (not Microsoft: Postfix-style wording, the lab's choice) -------------
FABRIKAM_OK_RCPT = _r(250, "2.1.5", "Ok")
FABRIKAM_OK_SENDER = _r(250, "2.1.0", "Ok")
FABRIKAM_UNKNOWN_USER = _r(550, "5.1.1", "Recipient address rejected: User unknown in local recipient table")
FABRIKAM_RELAY_DENIED = _r(554, "5.7.1", "Relay access denied")
# Postfix without SASL answers AUTH so (smtpd_sasl_auth_enable = no): Fabrikam's server and the filter.
AUTH_NOT_ENABLED = _r(503, "5.5.1", "Error: authentication not enabled")


# Postfix's EHLO keywords and its default message_size_limit (50 MB), for the third-party servers.
POSTFIX_MESSAGE_SIZE_LIMIT = 52428800
POSTFIX_EHLO_EXTENSIONS = (
    "PIPELINING",
    f"SIZE {POSTFIX_MESSAGE_SIZE_LIMIT}",
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    "SMTPUTF8",
)


def postfix_banner_text(date: str) -> str:
    """The text after '220 <host>' in a Postfix greeting (smtpd_banner = $myhostname ESMTP $mail_name).

    Postfix names no date: `date` is taken, and ignored, so every endpoint's banner is chosen alike.
    """
    return "ESMTP Postfix"


def fabrikam_queued(queue_id: str) -> Reply:
    return _r(250, "2.0.0", f"Ok: queued as {queue_id}")


def fabrikam_dmarc_reject(domain: str) -> Reply:
    return _r(550, "5.7.1", f"Rejected by DMARC policy for {domain}")


# -- a third-party filter in front of Microsoft 365 (Postfix wording, the lab's choice) ---------------
# It answers MAIL and RCPT with Fabrikam's Postfix lines above, and passes Microsoft 365's reply to DATA
# back to the sender. Postfix's before-queue proxy answers this when the next hop fails mid-transaction.
FILTER_PROXY_FAILED = _r(451, "4.3.0", "Error: queue file write error")
