"""The Exchange Online server names the lab's replies carry, and the diagnostic suffix's host."""

from __future__ import annotations

from ..reply import Reply

# Made-up but well-formed Exchange Online server names (the sheets show <HOST> placeholders).
SUBMISSION_HOST = "LO2P265CA0123"
SUBMISSION_FQDN = f"{SUBMISSION_HOST}.outlook.office365.com"
SUBMISSION_DIAG = f"{SUBMISSION_HOST}.GBRP265.PROD.OUTLOOK.COM"
MX_HOST = "AM4PEPF00027A6C"
MX_FQDN = f"{MX_HOST}.mail.protection.outlook.com"
MX_DIAG = f"{MX_HOST}.eurprd04.prod.outlook.com"
EOP_DIAG = "AMS0EPF000001A0.eop-EUR02.prod.protection.outlook.com"
FABRIKAM_FQDN = "mail.fabrikam.com"


def _r(code: int, enhanced: str | None, text: str) -> Reply:
    return Reply(code, enhanced, text)


# -- the diagnostic suffix: since about 2023 every error reply ends [<HOST> <UTC time, ms> <session id>]
# (HChaoHui/msOauth2api#3, MailKit#1712); the session id also ends the banner (email-oauth2-proxy#297).
_DIAGNOSTIC_HOSTS = {SUBMISSION_FQDN: SUBMISSION_DIAG, MX_FQDN: EOP_DIAG}


def diagnostic_host(fqdn: str) -> str | None:
    """The host a Microsoft endpoint names in its replies' suffix; None for a server that is no Microsoft
    one (Fabrikam's Postfix, a third-party filter), whose replies carry no suffix."""
    return _DIAGNOSTIC_HOSTS.get(fqdn)


def banner_with_session(banner: str, session_id: str) -> str:
    """Exchange Online ends its greeting with the session id: `... ready at <date> [08DCE8B62813AB2B]`."""
    return f"{banner} [{session_id}]"
