"""What the real-client tests share: the world's endpoints and mailboxes, and the reply suffix they see."""

from __future__ import annotations

SUBMISSION = ("smtp.office365.com", 587)
MX = ("contoso-com.mail.protection.outlook.com", 25)
SCANNER = ("scanner@contoso.com", "Scan#2026")
ALEX = ("alex@contoso.com", "Alex#2026")
RUN_TIMEOUT_S = 30  # one client run
# The diagnostic suffix every Microsoft 365 error reply ends with: [<host> <UTC time> <session id>].
SUFFIX = r" \[\S+\.(?:PROD\.OUTLOOK\.COM|prod\.protection\.outlook\.com) \S+Z [0-9A-F]{16}\]"
