"""The catalogue of SMTP replies an admin may meet: each reply's step, plain meaning and fix, as data."""

from __future__ import annotations

from dataclasses import dataclass

from ..world.hosts import M365_SPF_INCLUDE, SUBMISSION_SERVER

NOTHING = "Nothing to change."

# The fixes name the real cmdlets ([AUTHSMTP], [MFD], [FIX]); <placeholders> are filled by `filled`.
SPF_FIX = (
    "Add the office's public IP to contoso.com's SPF record: "
    f'"v=spf1 ip4:<office IP> {M365_SPF_INCLUDE} -all" (one SPF record per domain)'
)
CONNECTOR_FIX = (
    "New-InboundConnector -Name 'Office relay' -ConnectorType OnPremises -SenderDomains * "
    "-SenderIPAddresses <office IP>"
)
SUBMISSION_SETTINGS = f"{SUBMISSION_SERVER}, port 587, STARTTLS with TLS 1.2 or newer"


@dataclass(frozen=True)
class Entry:
    """One catalogue line: the reply it matches and what it means for an admin."""

    code: int
    enhanced: str | None
    pattern: str  # searched in the reply text, case-insensitive; "" matches any text
    step: str
    rule: str
    headline: str
    fix: str = NOTHING


def _e(
    code: int, enhanced: str | None, pattern: str, step: str, rule: str, headline: str, fix: str = NOTHING
) -> Entry:
    return Entry(code, enhanced, pattern, step, rule, headline, fix)


# The same 504 5.7.4 from the tenant MX (its diagnostic suffix names the EOP host): the MX offers no AUTH.
MX_AUTH = Entry(
    504, "5.7.4", "", "AUTH", "mx.auth-not-offered",
    "AUTH refused by the MX: the tenant MX (direct send, relay connectors) offers no sign-in at all.",
    "For direct send or a relay connector remove the device's user name and password; to sign in, use "
    "SMTP AUTH client submission instead (" + SUBMISSION_SETTINGS + ").",
)  # fmt: skip


# First match wins: for one code and enhanced code, the entries with a distinguishing pattern come first.
# fmt: off
ENTRIES: tuple[Entry, ...] = (
    # -- session -------------------------------------------------------------------------------------
    _e(220, None, "ESMTP MAIL Service ready", "connect", "session.banner",
       "The server answered and greets the device."),
    _e(220, None, r"ESMTP Postfix$", "connect", "session.banner",
       "The server answered and greets the device."),
    _e(221, "2.0.0", "", "connect", "session.quit",
       "The device said QUIT and the server closed the session."),
    _e(250, "2.0.0", r"^Resetting$", "connect", "session.rset", "The device reset the transaction (RSET)."),
    _e(250, "2.0.0", r"^OK$", "connect", "session.noop", "The server answered NOOP: the session is alive."),
    _e(250, "2.0.0", r"^\d+ bytes received$", "DATA", "chunking.chunk",
       "The server took one chunk of the message (BDAT); the last chunk gets the final answer."),
    _e(501, "5.5.4", "XCLIENT", "connect", "session.xclient",
       "The lab could not read the simulated client address the device declared (XCLIENT ADDR=).",
       "Give the device a valid IPv4 or IPv6 source address."),
    _e(503, "5.5.1", "MAIL transaction in progress", "connect", "session.xclient-in-transaction",
       "The device declared its address (XCLIENT) after MAIL FROM, in the middle of a message.",
       "Send XCLIENT before MAIL FROM (or after RSET), then EHLO again."),
    _e(550, "5.7.0", "insufficient authorization", "connect", "session.xclient-refused",
       "XCLIENT (the lab's way to simulate an address) is accepted only from loopback clients.",
       "Run the client on the same machine as the lab."),
    # -- TLS -----------------------------------------------------------------------------------------
    _e(220, "2.0.0", "SMTP server ready", "TLS", "session.starttls",
       "The server is ready to start TLS (STARTTLS)."),
    _e(421, "4.7.66", "", "TLS", "submission.tls.legacy-version",
       "The device negotiated TLS 1.0 or 1.1; smtp.office365.com accepts TLS 1.2 or newer only.",
       "Update the device firmware to TLS 1.2; or point it to smtp-legacy.office365.com and run "
       "Set-TransportConfig -AllowLegacyTLSClients $true"),
    _e(503, "5.5.1", "TLS already active", "TLS", "session.tls-already",
       "The device sent STARTTLS twice in one session.",
       "Update the device firmware or the app's SMTP library."),
    # -- AUTH ----------------------------------------------------------------------------------------
    _e(235, "2.7.0", "", "AUTH", "submission.auth.ok",
       "Signed in: the mailbox's user name and password were accepted."),
    _e(334, None, r"^VXNlcm5hbWU6$", "AUTH", "submission.auth.ask-username",
       "The server asks for the user name (base64 of 'Username:')."),
    _e(334, None, r"^UGFzc3dvcmQ6$", "AUTH", "submission.auth.ask-password",
       "The server asks for the password (base64 of 'Password:')."),
    _e(504, "5.7.4", "", "AUTH", "submission.auth.before-starttls",
       "AUTH refused: sent before STARTTLS, with a mechanism Microsoft 365 does not offer (only LOGIN and "
       "XOAUTH2), or to the MX, which offers no AUTH at all.",
       f"Turn on STARTTLS in the device and sign in with AUTH LOGIN on {SUBMISSION_SETTINGS}; for direct "
       "send or a relay connector remove the user name and password instead."),
    _e(535, "5.7.3", "", "AUTH", "submission.auth.bad-credentials",
       "The user name or password is wrong, or the mailbox cannot sign in (a shared mailbox has none).",
       "Type the mailbox's full address and current password into the device; to send as a shared mailbox "
       "sign in as a user and grant it Add-RecipientPermission -Identity <shared mailbox> -Trustee <mailbox> "
       "-AccessRights SendAs"),
    _e(535, "5.7.139", "account locked", "AUTH", "submission.auth.locked",
       "Entra ID Smart Lockout: after 10 wrong passwords from this address the mailbox is locked for a "
       "minute (longer each time), and even the right password is refused until the lock lifts.",
       "Wait for the lock to lift, then fix the password stored in the device: a device retrying an old "
       "password keeps the mailbox locked. Other addresses (familiar locations) are not locked."),
    _e(535, "5.7.139", "disabled for the Tenant", "AUTH", "submission.auth.tenant-disabled",
       "SMTP AUTH is off for the whole tenant and this mailbox follows the tenant ($null).",
       "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (this mailbox only; or "
       "Set-TransportConfig -SmtpClientAuthenticationDisabled $false for every mailbox)"),
    _e(535, "5.7.139", "disabled for the Mailbox", "AUTH", "submission.auth.mailbox-disabled",
       "SMTP AUTH is switched off on this mailbox ($true), whatever the tenant setting.",
       "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false"),
    _e(535, "5.7.139", "security defaults", "AUTH", "submission.auth.security-defaults",
       "Entra ID security defaults block basic authentication, so the device's password sign-in is refused.",
       "Turn security defaults off "
       "(Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false) and protect "
       "sign-ins with Conditional Access instead, or move the device to OAuth, direct send or "
       "a relay connector."),
    _e(535, "5.7.139", "basic authentication is disabled", "AUTH", "submission.auth.basic-disabled",
       "Basic authentication (user name and password) is disabled for SMTP AUTH.",
       "Switch the device or app to OAuth (XOAUTH2), or allow it in the authentication policy: "
       "Set-AuthenticationPolicy -Identity <policy> -AllowBasicAuthSmtp:$true"),
    _e(535, "5.7.139", "did not meet the criteria", "AUTH", "submission.auth.conditional-access",
       "A Conditional Access policy (MFA, trusted location) refused the device's sign-in.",
       "Exclude the device's mailbox from that Conditional Access policy, or send by direct send or a "
       "relay connector instead."),
    _e(535, "5.7.139", "", "AUTH", "submission.auth.blocked",
       "The sign-in was correct but a tenant or mailbox setting blocks SMTP AUTH.",
       "Check SmtpClientAuthenticationDisabled in Get-CASMailbox -Identity <mailbox> and "
       "Get-TransportConfig."),
    _e(550, "5.7.30", "", "AUTH", "submission.auth.basic-retired",
       "Basic authentication for SMTP AUTH has been retired: passwords are no longer accepted.",
       "Switch the device or app to OAuth (XOAUTH2), or send by direct send or a relay connector."),
    _e(503, "5.5.2", "Already authenticated", "AUTH", "submission.auth.already",
       "The device tried to sign in twice in one session.",
       "Update the device firmware or the app's SMTP library."),
    _e(501, "5.7.0", "", "AUTH", "submission.auth.aborted",
       "The device gave up half-way through AUTH LOGIN.",
       "Fill in both the user name and the password in the device."),
    _e(501, "5.5.124", "", "AUTH", "submission.auth.xoauth2-malformed",
       "The app's XOAUTH2 sign-in is not in the form user=<address>^Aauth=Bearer <token>^A^A.",
       "Fix how the app builds the XOAUTH2 string (its SMTP library's OAuth2 option), with the mailbox's "
       "address as the user."),
    _e(501, "5.5.2", "", "AUTH", "submission.auth.bad-base64",
       "The device sent its user name or password in a form the server cannot decode (not base64).",
       "Update the device firmware or the app's SMTP library."),
    _e(432, "4.3.2", "", "AUTH", "submission.limit.concurrent",
       "This mailbox already has 3 SMTP sessions open; a fourth is refused.",
       "Let the device or app send over fewer parallel connections (at most 3 per mailbox), or spread "
       "devices over several mailboxes."),
    _e(503, "5.5.1", "authentication not enabled", "AUTH", "outside.auth-not-enabled",
       "This server (Fabrikam's own, or a filter in front of Microsoft 365) takes mail for its domains "
       "and offers no sign-in.",
       f"Send to Fabrikam through Microsoft 365 ({SUBMISSION_SETTINGS}) instead."),
    # -- MAIL FROM -----------------------------------------------------------------------------------
    _e(250, "2.1.0", "Sender OK", "MAIL FROM", "mail.sender-ok", "The sender address was accepted."),
    _e(250, "2.1.0", r"^Ok$", "MAIL FROM", "outside.mail.ok", "Fabrikam's server accepted the sender."),
    _e(451, "5.7.3", "", "MAIL FROM", "submission.mail.starttls-required",
       "The device sent MAIL FROM without STARTTLS: smtp.office365.com takes mail only over TLS.",
       f"Set the device to STARTTLS (TLS 1.2 or newer): {SUBMISSION_SETTINGS}."),
    _e(530, "5.7.57", "", "MAIL FROM", "submission.mail.not-authenticated",
       "The device sent MAIL FROM without signing in: smtp.office365.com takes mail only from a mailbox.",
       "Enter the mailbox's user name and password in the device (SMTP AUTH), or, for a device that cannot "
       "sign in, use direct send or a relay connector on <tenant MX> port 25."),
    _e(550, "5.7.750", "", "MAIL FROM", "edge.unregistered-domain",
       "The tenant sends from a domain it has not registered and verified.",
       "Add and verify the sender's domain (New-AcceptedDomain), or send from an accepted domain."),
    _e(503, "5.5.2", "Sender already specified", "MAIL FROM", "protocol.sender-already-specified",
       "The device sent a second MAIL FROM in one transaction.",
       "Update the device firmware or the app's SMTP library (it must send RSET between messages)."),
    _e(503, "5.5.2", "Need mail command", "MAIL FROM", "protocol.need-mail",
       "The device sent RCPT TO, DATA or BDAT before a MAIL FROM was accepted.",
       "Look at the reply to MAIL FROM just before: fix what refused the sender, or update the device."),
    _e(503, "5.5.2", "Need rcpt command", "RCPT TO", "protocol.need-rcpt",
       "The device sent DATA (or BDAT) although no recipient was accepted: every RCPT TO was refused "
       "(a pipelining client sends DATA without waiting).",
       "Look at the replies to RCPT TO: the first refusal there is the real problem."),
    _e(503, "5.5.2", "Send hello first", "connect", "protocol.hello-first",
       "The device sent a command before EHLO or HELO.",
       "Update the device firmware or the app's SMTP library."),
    _e(503, "5.5.1", "BINARYMIME", "DATA", "chunking.binarymime-data",
       "The device declared a BODY=BINARYMIME message and then sent it with DATA; only BDAT can carry it.",
       "Update the app's SMTP library (it must use BDAT after BODY=BINARYMIME)."),
    _e(503, "5.5.1", "", "MAIL FROM", "protocol.bad-sequence",
       "The device sent its commands out of order (e.g. RCPT TO before MAIL FROM).",
       "Update the device firmware or the app's SMTP library."),
    # -- RCPT TO -------------------------------------------------------------------------------------
    _e(250, "2.1.5", "Recipient OK", "RCPT TO", "rcpt.ok", "The recipient was accepted."),
    _e(250, "2.1.5", r"^Ok$", "RCPT TO", "outside.rcpt.ok", "Fabrikam's server accepted the recipient."),
    _e(452, "4.5.3", "", "RCPT TO", "submission.limit.recipients-per-message",
       "Too many recipients in one message (the default limit is 500).",
       "Split the mailing, or raise the limit: Set-Mailbox -Identity <mailbox> -RecipientLimits 1000"),
    _e(550, "5.7.64", "", "RCPT TO", "mx.relay-denied",
       "Relay refused: the recipient is outside the tenant and no connector recognised this device, and "
       "direct send reaches internal recipients only.",
       f"Create a relay connector for the office IP: {CONNECTOR_FIX}; or sign in with SMTP AUTH "
       f"({SUBMISSION_SETTINGS})."),
    _e(550, "5.7.68", "", "RCPT TO", "mx.reject-direct-send",
       "RejectDirectSend is on: anonymous mail from your own domain that no connector recognises is refused.",
       "Set-OrganizationConfig -RejectDirectSend $false, or keep it on and add a connector: "
       f"{CONNECTOR_FIX}"),
    _e(550, "5.7.51", "", "RCPT TO", "connector.partner-restricted",
       "A Partner connector covers this sender's domain and restricts it to IP addresses or a certificate "
       "this connection does not have (with a filter in front of Microsoft 365: the mail bypassed it).",
       "Send from an address the connector lists: Set-InboundConnector -Identity <connector> "
       "-SenderIPAddresses @{Add='<office IP>'} (or -RestrictDomainsToIPAddresses $false)."),
    _e(451, "4.3.0", "queue file write error", "DATA", "filter.next-hop-failed",
       "The filter in front of Microsoft 365 took the message but could not hand it on to Microsoft 365.",
       "Try again later; check that the filter's next hop is the tenant's MX host "
       "(<tenant>.mail.protection.outlook.com)."),
    _e(454, "4.7.0", "TLS not available", "TLS", "session.tls-not-available",
       "The server offers no STARTTLS (it did not list it in its EHLO reply), yet the device asked for it.",
       "Send to this server without STARTTLS, or send through Microsoft 365 instead."),
    _e(454, "4.7.0", "", "RCPT TO", "connector.partner-require-tls",
       "The connector that recognised this device requires TLS, and the device did not use STARTTLS.",
       "Turn on STARTTLS (TLS 1.2) in the device, or Set-InboundConnector -Identity <connector> "
       "-RequireTls $false"),
    _e(550, "5.4.1", "", "RCPT TO", "mx.directory-based-edge-blocking",
       "No mailbox has this address in the tenant's Authoritative domain, and Directory-Based Edge Blocking "
       "refuses it at the door (no message is taken, no trace entry).",
       "Correct the recipient address in the device (a typo?), or create the mailbox or an alias for it "
       "(Get-Recipient lists every address)."),
    _e(550, "5.1.10", "", "RCPT TO", "mx.recipient-not-found",
       "The recipient's domain belongs to the tenant, but no mailbox has this address.",
       "Correct the recipient address in the device, or create the mailbox (Get-Mailbox lists them)."),
    _e(550, "5.1.1", "", "RCPT TO", "outside.unknown-user",
       "Fabrikam has no mailbox with this address.",
       "Correct the recipient address."),
    _e(554, "5.7.1", "", "RCPT TO", "outside.relay-denied",
       "Fabrikam's server takes mail for fabrikam.com only; it relays for nobody.",
       "Send mail for other domains through Microsoft 365, not to Fabrikam's server."),
    # -- DATA ----------------------------------------------------------------------------------------
    _e(354, None, "Start mail input", "DATA", "session.data", "The server waits for the message itself."),
    _e(552, "5.3.4", "Header size", "DATA", "session.header-size",
       "The message's header is larger than the server takes (256 KB): the app wrote too many or too long "
       "header fields.",
       "Check what the app puts in the header (long To or Cc lists, custom X- fields); the body has room."),
    _e(552, "5.3.4", "", "DATA", "submission.limit.size",
       "The message is larger than the server takes (the mailbox's default maximum send size is 35 MB).",
       "Lower the scan resolution or split the attachment, or raise the limit: "
       "Set-Mailbox -Identity <mailbox> -MaxSendSize 150MB"),
    _e(554, "5.2.252", "", "DATA", "submission.data.send-as-denied",
       "The signed-in mailbox may not send as the sender address the device uses (no SendAs permission).",
       "Add-RecipientPermission -Identity <sender> -Trustee <mailbox> -AccessRights SendAs, or set the "
       "device's sender to the signed-in mailbox."),
    _e(554, "5.2.0", "MaxSubmissionExceeded", "DATA", "submission.limit.max-send-size",
       "The message is larger than the mailbox may send (MaxSendSize, 35 MB by default): the server took it "
       "over SMTP, then the mailbox store refused it.",
       "Lower the scan resolution or split the attachment, or raise the limit: "
       "Set-Mailbox -Identity <mailbox> -MaxSendSize 150MB"),
    _e(554, "5.2.0", "", "DATA", "submission.limit.recipients-per-day",
       "The mailbox reached 10,000 recipients in 24 hours (the SMTP AUTH submission quota).",
       "Wait a day for the quota to free up; for bulk mail use a relay connector or High Volume Email."),
    _e(554, "5.2.2", "", "DATA", "submission.limit.mailbox-full",
       "The sending mailbox is full, so the copy for Sent Items cannot be saved.",
       "Empty the mailbox's Sent Items and Deleted Items, or give it a larger quota."),
    _e(451, "4.7.0", "Temporary server error", "DATA", "server.temporary-error",
       "The server met an unexpected error and asks the device to try again later.",
       "Try again; if it keeps happening in the lab, look at lab.runtime.errors."),  # fmt: skip
    _e(550, "5.2.251", "", "DATA", "submission.limit.throttled-mailbox-full",
       "The mailbox is throttled after repeated mailbox-full errors.",
       "Free space in the sending mailbox, then wait for the throttling to lift."),
    _e(550, "5.7.509", "", "DATA", "antispam.dmarc-reject",
       "The message failed SPF (and DKIM) for its domain, which publishes DMARC p=reject: refused.",
       SPF_FIX + "; or send through a relay connector."),
    _e(550, "5.7.1", "DMARC", "DATA", "outside.dmarc-reject",
       "Fabrikam refused the message: it fails DMARC and the sender's domain publishes p=reject.",
       SPF_FIX + "; and keep DKIM signing on: Set-DkimSigningConfig -Identity contoso.com -Enabled $true"),
    # -- delivered -----------------------------------------------------------------------------------
    _e(250, "2.0.0", r"^OK \S+ \[Hostname=", "delivered", "submission.data.ok",
       "Microsoft 365 accepted the message from the signed-in mailbox; a copy is saved in Sent Items."),
    _e(250, "2.6.0", "Queued mail for delivery", "delivered", "mx.queued",
       "Exchange Online Protection accepted the message; anti-spam decides the folder (see the trace)."),
    _e(250, "2.0.0", r"^Ok: queued as", "delivered", "outside.accepted",
       "Fabrikam's server accepted the message."),
    _e(250, "2.0.0", r"^Delivered$", "delivered", "relay.delivered",
       "The outside organisation's server took the message."),
    _e(550, "5.4.310", "", "delivered", "relay.no-server",
       "Microsoft 365 found no mail server for the recipient's domain (DNS domain does not exist).",
       "Check the recipient's domain and its MX record."),
    _e(451, "4.4.0", "", "delivered", "relay.failed",
       "Microsoft 365 could not hand the message to the outside server; it will retry.",
       "Check the recipient domain's MX record and that its server answers."),
    # -- the edge: reputation and throttling ([NDR]) -------------------------------------------------
    _e(451, "4.7.500", "", "connect", "edge.server-busy",
       "Microsoft 365 is throttling this sending IP for now (server busy).",
       "Let the device retry later; if it persists, check the IP's reputation and sending volume."),
    _e(550, "5.7.606", "", "connect", "edge.banned-ip",
       "The sending IP is on Microsoft's block list.",
       "Request delisting at https://sender.office.com/ and find out why the IP sent spam."),
    _e(550, "5.7.708", "", "connect", "edge.traffic-not-accepted",
       "Microsoft 365 does not accept traffic from this IP (poor or no reputation).",
       f"Send with SMTP AUTH ({SUBMISSION_SETTINGS}) or from an IP with a good reputation."),
    # -- session limits (policy/session.py) ----------------------------------------------------------
    _e(451, "4.7.0", "Timeout waiting for client input", "connect", "session.idle-timeout",
       "The device stayed silent longer than the server waits (5 minutes by default), so it hung up.",
       "Check the device's network path and timeouts; it should finish the session or send QUIT."),
    _e(421, "4.7.0", "Too many errors", "connect", "session.too-many-errors",
       "The device sent five unrecognised or malformed commands in one session; the server hung up.",
       "Update the device firmware or the app's SMTP library, and check it talks SMTP on this port."),
    _e(421, "4.3.2", "concurrent server connections", "connect", "session.connections-total",
       "The server already holds as many sessions as it takes; this one was refused.",
       "Retry later, and let devices close their sessions (QUIT) when they are done."),
    _e(421, "4.3.2", "concurrent connections", "connect", "session.connections-per-address",
       "Too many sessions are open from this client address at once (20 per address); this one was refused.",
       "Let the device or app open fewer parallel connections, and close them (QUIT) when done."),
    _e(421, "4.4.1", "Connection timed out", "connect", "session.connection-timeout",
       "The session went on longer than the server allows (10 minutes in all), or the message data came "
       "too slowly; the server hung up.",
       "Send fewer or smaller messages per session, and check the network path for a stalled upload."),
    _e(421, "4.4.2", "too many commands", "connect", "session.too-many-commands",
       "The device sent more commands in one session than the lab allows (2,000); the server hung up.",
       "Send fewer messages per session: QUIT and connect again."),
    _e(501, "5.1.7", "", "MAIL FROM", "protocol.invalid-sender",
       "The sender address is malformed (not local-part@domain, control characters, or a bad domain).",
       "Correct the sender address in the device's settings."),
    _e(501, "5.1.3", "", "RCPT TO", "protocol.invalid-address",
       "The recipient address is malformed (not local-part@domain, control characters, or a bad domain).",
       "Correct the recipient address."),
    _e(550, "5.6.11", "", "delivered", "relay.bare-linefeeds",
       "The message has bare line feeds (LF without CR); Microsoft 365 cannot relay it to a server without "
       "BDAT, so it bounced. Internal recipients still got it.",
       "Fix the device or app to end every line with CRLF (Python: email.policy.SMTP)."),
    _e(252, "2.1.5", "", "connect", "session.vrfy",
       "The server does not say whether an address exists (VRFY); it still takes mail for it."),
    _e(214, None, "", "connect", "session.help", "The server lists the commands it knows (HELP)."),
    _e(502, "5.3.3", "", "connect", "protocol.not-implemented",
       "The device sent a command this server does not implement (such as EXPN).",
       "Nothing to change for sending mail; the command is not needed."),
    # -- protocol errors -----------------------------------------------------------------------------
    _e(501, "5.5.4", "Invalid domain name", "connect", "protocol.invalid-helo",
       "The device introduced itself (EHLO/HELO) with a name that is no domain: a trailing dot, an "
       "underscore, a space, or no name at all.",
       "Set the device's host name to letters, digits and hyphens (Python: smtplib.SMTP(local_hostname=...) "
       "instead of socket.getfqdn() when it ends with a dot)."),
    _e(501, "5.5.4", "", "connect", "protocol.syntax",
       "The device sent a command with arguments the server cannot read.",
       "Update the device firmware or the app's SMTP library."),
    _e(500, "5.3.3", "Line too long", "connect", "protocol.line-too-long",
       "The device sent a command line longer than SMTP allows.",
       "Update the device firmware or the app's SMTP library."),
    _e(500, "5.3.3", "", "connect", "protocol.unrecognized-command",
       "The device sent a command the server does not know.",
       "Update the device firmware or the app's SMTP library."),
)
# fmt: on
