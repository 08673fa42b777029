"""The three ways to send through Microsoft 365 side by side: their titles, the [MFD] table, newer ways."""

from __future__ import annotations

from typing import Literal

from ..world.hosts import SUBMISSION_SERVER, mx_host_for

Option = Literal["smtp-auth", "direct-send", "relay", "none"]
OPTIONS: tuple[Option, ...] = ("smtp-auth", "direct-send", "relay")
TITLES: dict[str, str] = {
    "smtp-auth": "SMTP AUTH client submission",
    "direct-send": "Direct send",
    "relay": "SMTP relay through an inbound connector",
    "none": "None of the three",
}

# [MFD] comparison table, row by row, as shared/reference/m365-device-mail.md gives it.
COMPARISON: dict[str, dict[str, str]] = {
    "Server": {
        "smtp-auth": SUBMISSION_SERVER,
        "direct-send": f"tenant MX, e.g. {mx_host_for('contoso.com')}",
        "relay": "tenant MX",
    },
    "Port": {"smtp-auth": "587 (recommended) or 25", "direct-send": "25", "relay": "25"},
    "TLS": {"smtp-auth": "required, TLS 1.2+", "direct-send": "optional", "relay": "optional"},
    "Authentication": {
        "smtp-auth": "mailbox user name + password (or OAuth XOAUTH2)",
        "direct-send": "none",
        "relay": "connector matches the sender's static public IP, or the domain in the TLS certificate",
    },
    "Sender address": {
        "smtp-auth": "the authenticated mailbox, or one it has SendAs on",
        "direct-send": "any address in an accepted domain, no mailbox needed",
        "relay": "any address in an accepted domain, no mailbox needed",
    },
    "Internal recipients": {"smtp-auth": "yes", "direct-send": "yes", "relay": "yes"},
    "External recipients": {
        "smtp-auth": "yes (relayed through Microsoft 365)",
        "direct-send": "no (mail to recipients whose mailbox is in Microsoft 365 only)",
        "relay": "yes",
    },
    "Anti-spam": {
        "smtp-auth": "bypassed for mail to own mailboxes",
        "direct-send": "applied; SPF matters",
        "relay": "applied",
    },
    "Hosted by a third party": {
        "smtp-auth": "works",
        "direct-send": "works (add to SPF)",
        "relay": "does not work (IP must be yours, unshared)",
    },
    "Saves to Sent Items": {"smtp-auth": "yes", "direct-send": "no", "relay": "no"},
    "Limits": {
        "smtp-auth": "10,000 recipients per day, 30 messages per minute",
        "direct-send": "standard throttling",
        "relay": "reasonable limits",
    },
    "Needs a static IP": {
        "smtp-auth": "no",
        "direct-send": "recommended, not required",
        "relay": "yes, unless a certificate connector is used",
    },
}
# The rows worth repeating beside a recommendation: what the learner lives with after choosing.
NOTE_ROWS = ("Anti-spam", "Saves to Sent Items", "Limits", "Needs a static IP")

# Reference sheet, "Newer ways to send".
ACS = (
    "Azure Communication Services Email: smtp.azurecomm.net port 587 with STARTTLS; the user name is an "
    "Entra app identity and the password a client secret; reaches outside recipients; default limits "
    "30 mails per minute and 100 per hour."
)
HVE = (
    "High Volume Email (HVE): smtp-hve.office365.com port 587 with TLS, signing in as a special HVE mail "
    "user; internal recipients only; up to 100,000 recipients per day per tenant (preview); basic auth "
    "supported longer than for SMTP AUTH."
)
