"""The reply catalogue against the reference sheets: every verbatim string, word for word."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.policy import submission

# The lab's made-up server names, standing in for the sheets' <HOST> (m365-device-mail.md: "the
# diagnostic suffix in brackets is shown with a made-up but well-formed server name").
SUBMISSION_MACHINE = "LO2P265CA0123"
SUBMISSION_DIAG_HOST = "LO2P265CA0123.GBRP265"  # <HOST>.PROD.OUTLOOK.COM
MX_MACHINE = "AM4PEPF00027A6C"
EOP_MACHINE = "AMS0EPF000001A0"  # <HOST>.eop-EUR02.prod.protection.outlook.com
EOP_HOST = f"{EOP_MACHINE}.eop-EUR02.prod.protection.outlook.com"
CLIENT_IP = "203.0.113.10"
DATE = format_datetime(datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC))


def sheet_pattern(text: str, host: str = "") -> re.Pattern[str]:
    """A sheet string as a full-match pattern: <HOST> becomes the lab's name, ' ...' elided text."""
    text = text.replace("<HOST>", host)
    pieces = [re.escape(piece) for piece in text.split(" ...")]
    return re.compile("(?: .*)?".join(pieces), re.DOTALL)


def code_and_enhanced(text: str) -> tuple[int, str | None]:
    code, _, rest = text.partition(" ")
    first = rest.split(" ", 1)[0]
    return int(code), first if re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", first) else None


def ehlo_block(fqdn: str, extensions: list[str]) -> str:
    """The EHLO reply as the smtp layer sends it: greeting line, then one keyword a line."""
    lines = [R.ehlo_greeting(fqdn, CLIENT_IP), *extensions]
    return "\n".join([f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"])


# -- host names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("SUBMISSION_FQDN", f"{SUBMISSION_MACHINE}.outlook.office365.com", id="submission-fqdn"),
        pytest.param("SUBMISSION_DIAG", f"{SUBMISSION_DIAG_HOST}.PROD.OUTLOOK.COM", id="submission-diag"),
        pytest.param("MX_FQDN", f"{MX_MACHINE}.mail.protection.outlook.com", id="mx-fqdn"),
        pytest.param("EOP_DIAG", EOP_HOST, id="eop-diag"),
    ],
)
def test_lab_host_names_have_the_sheet_shape(name: str, expected: str) -> None:
    assert getattr(R, name) == expected


# -- banner and EHLO ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fqdn", "sheet"),
    [
        pytest.param(
            R.SUBMISSION_FQDN,
            f"220 {SUBMISSION_MACHINE}.outlook.office365.com Microsoft ESMTP MAIL Service ready at <DATE>",
            id="submission-banner",
        ),
        pytest.param(
            R.MX_FQDN,
            f"220 {MX_MACHINE}.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at <DATE>",
            id="mx-banner",
        ),
    ],
)
def test_banner(fqdn: str, sheet: str) -> None:
    banner = f"220 {fqdn} {R.banner_text(DATE)}"
    assert banner == sheet.replace("<DATE>", DATE)
    # <RFC 5322 date>: the date round-trips through the RFC 5322 parser.
    assert parsedate_to_datetime(banner.rpartition(" ready at ")[2]) == datetime(
        2026, 3, 3, 9, 30, 5, tzinfo=UTC
    )


def test_postfix_banner_names_no_microsoft_service() -> None:
    """Fabrikam's server and the Litware filter greet as Postfix does ($myhostname ESMTP $mail_name)."""
    assert f"220 filter.litware.com {R.postfix_banner_text(DATE)}" == "220 filter.litware.com ESMTP Postfix"
    assert "Microsoft" not in R.postfix_banner_text(DATE)


EHLO_BEFORE_TLS = f"""\
250-{SUBMISSION_MACHINE}.outlook.office365.com Hello [{CLIENT_IP}]
250-SIZE 157286400
250-PIPELINING
250-DSN
250-ENHANCEDSTATUSCODES
250-STARTTLS
250-8BITMIME
250-BINARYMIME
250-CHUNKING
250 SMTPUTF8"""

# "the same with 250-STARTTLS replaced, in place, by 250-AUTH LOGIN XOAUTH2"
EHLO_AFTER_TLS = f"""\
250-{SUBMISSION_MACHINE}.outlook.office365.com Hello [{CLIENT_IP}]
250-SIZE 157286400
250-PIPELINING
250-DSN
250-ENHANCEDSTATUSCODES
250-AUTH LOGIN XOAUTH2
250-8BITMIME
250-BINARYMIME
250-CHUNKING
250 SMTPUTF8"""


@pytest.mark.parametrize(
    ("extensions", "sheet"),
    [
        pytest.param(list(R.EHLO_EXTENSIONS_BEFORE_TLS), EHLO_BEFORE_TLS, id="catalogue-before-starttls"),
        pytest.param(submission.ehlo_extensions(False), EHLO_BEFORE_TLS, id="submission-before-starttls"),
        pytest.param(submission.ehlo_extensions(True), EHLO_AFTER_TLS, id="submission-after-starttls"),
    ],
)
def test_ehlo_reply_in_exact_order(extensions: list[str], sheet: str) -> None:
    assert ehlo_block(R.SUBMISSION_FQDN, extensions) == sheet


def test_ehlo_constants() -> None:
    assert R.AUTH_EXTENSION == "AUTH LOGIN XOAUTH2"
    assert "PLAIN" not in R.AUTH_EXTENSION.split()
    assert R.MAX_MESSAGE_SIZE_ADVERTISED == 157286400
    assert f"SIZE {R.MAX_MESSAGE_SIZE_ADVERTISED}" in R.EHLO_EXTENSIONS_BEFORE_TLS


# -- every reply the sheets quote, against the catalogue entry the lab sends ------------------------

DISABLED_TENANT = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information."
)

CATALOGUE_VS_SHEET = [
    # (catalogue value, sheet text, what <HOST> stands for)
    pytest.param(R.STARTTLS_READY, "220 2.0.0 SMTP server ready", "", id="starttls-220"),
    pytest.param(R.QUIT, "221 2.0.0 Service closing transmission channel", "", id="quit-221"),
    pytest.param(R.AUTH_LOGIN_USERNAME, "334 VXNlcm5hbWU6", "", id="auth-login-username-334"),
    pytest.param(R.AUTH_LOGIN_PASSWORD, "334 UGFzc3dvcmQ6", "", id="auth-login-password-334"),
    pytest.param(R.AUTH_OK, "235 2.7.0 Authentication successful", "", id="auth-ok-235"),
    pytest.param(
        R.AUTH_UNRECOGNIZED,
        "504 5.7.4 Unrecognized authentication type [<HOST>.PROD.OUTLOOK.COM ...]",
        SUBMISSION_DIAG_HOST,
        id="auth-unrecognized-504-5.7.4",
    ),
    pytest.param(
        R.AUTH_BAD_CREDENTIALS,
        "535 5.7.3 Authentication unsuccessful [<HOST>.prod.outlook.com]",
        f"{R.SUBMISSION_HOST}.gbrp265",
        id="bad-credentials-535-5.7.3",
    ),
    pytest.param(R.AUTH_DISABLED_TENANT, DISABLED_TENANT, "", id="5.7.139-tenant"),
    pytest.param(
        R.AUTH_DISABLED_MAILBOX,
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
        "Visit https://aka.ms/smtp_auth_disabled for more information.",
        "",
        id="5.7.139-mailbox",
    ),
    pytest.param(
        R.AUTH_SECURITY_DEFAULTS,
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security "
        "defaults policy. Contact your administrator.",
        "",
        id="5.7.139-security-defaults",
    ),
    pytest.param(
        R.AUTH_BASIC_DISABLED,
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        "",
        id="5.7.139-basic-auth-disabled",
    ),
    pytest.param(
        R.not_authenticated(R.AUTH_DISABLED_TENANT),
        "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 ...",
        "",
        id="530-5.7.57-after-failed-auth",
    ),
    pytest.param(
        R.not_authenticated(R.AUTH_DISABLED_TENANT),
        f"530 5.7.57 Client not authenticated to send mail. Error: {DISABLED_TENANT}",
        "",
        id="530-5.7.57-quotes-the-whole-535",
    ),
    pytest.param(
        R.not_authenticated(None),
        "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM [<HOST>]",
        f"{SUBMISSION_DIAG_HOST}.PROD.OUTLOOK.COM",
        id="530-5.7.57-older-form",
    ),
    pytest.param(
        R.STARTTLS_REQUIRED,
        "451 5.7.3 STARTTLS is required to send mail [<HOST>]",
        f"{SUBMISSION_DIAG_HOST}.PROD.OUTLOOK.COM",
        id="451-5.7.3-starttls-required",
    ),
    pytest.param(
        R.send_as_denied("scanner@contoso.com", "helpdesk@contoso.com"),
        "554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as helpdesk@contoso.com; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process "
        "message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. ...",
        "",
        id="554-5.2.252-send-as-denied",
    ),
    pytest.param(
        R.TLS_LEGACY_REFUSED,
        "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support "
        "TLS 1.2. Visit https://aka.ms/smtp_auth_tls",
        "",
        id="421-4.7.66-legacy-tls",
    ),
    pytest.param(
        R.CONCURRENT_CONNECTIONS,
        "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for "
        "more information. [Hostname=<HOST>]",
        f"{SUBMISSION_DIAG_HOST}.PROD.OUTLOOK.COM",
        id="432-4.3.2-concurrent",
    ),
    pytest.param(
        R.SUBMISSION_QUOTA_EXCEEDED,
        "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
        "",
        id="554-5.2.0-quota",
    ),
    pytest.param(
        R.MESSAGE_TOO_BIG,
        "552 5.3.4 Message size exceeds fixed maximum message size",
        "",
        id="552-5.3.4-size",
    ),
    pytest.param(R.SENDER_OK, "250 2.1.0 Sender OK", "", id="250-sender-ok"),
    pytest.param(R.RECIPIENT_OK, "250 2.1.5 Recipient OK", "", id="250-recipient-ok"),
    pytest.param(R.START_MAIL_INPUT, "354 Start mail input; end with <CRLF>.<CRLF>", "", id="354-data"),
    pytest.param(
        R.queued("<0123@contoso.com>", R.SUBMISSION_DIAG),
        "250 2.0.0 OK <0123@contoso.com> [Hostname=<HOST>]",
        f"{SUBMISSION_DIAG_HOST}.PROD.OUTLOOK.COM",
        id="250-2.0.0-queued",
    ),
    pytest.param(
        R.RELAY_DENIED,
        "550 5.7.64 TenantAttribution; Relay Access Denied [<HOST>.eop-EUR02.prod.protection.outlook.com]",
        EOP_MACHINE,
        id="550-5.7.64-relay-denied",
    ),
    pytest.param(
        R.DIRECT_SEND_REJECTED,
        "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from "
        "unauthorized sources",
        "",
        id="550-5.7.68-reject-direct-send",
    ),
    pytest.param(
        R.PARTNER_CONNECTOR_RESTRICTED,
        "550 5.7.51 TenantInboundAttribution; There is a partner connector configured that matched the "
        "message's recipient domain. The connector had either the RestrictDomainsToIPAddresses or "
        "RestrictDomainsToCertificate set [<HOST>]",
        EOP_HOST,
        id="550-5.7.51-partner-restricted",
    ),
    pytest.param(
        R.TLS_REQUIRED,
        "454 4.7.0 Failed to establish appropriate TLS channel: Access Denied",
        "",
        id="454-4.7.0-tls-required",
    ),
    pytest.param(
        R.dmarc_reject("contoso.com"),
        "550 5.7.509 Access denied, sending domain [CONTOSO.COM] does not pass DMARC verification and has "
        "a DMARC policy of reject.",
        "",
        id="550-5.7.509-dmarc-reject-upper-cased",
    ),
    pytest.param(
        R.dmarc_reject("Fabrikam.COM"),
        "550 5.7.509 Access denied, sending domain [FABRIKAM.COM] does not pass DMARC verification and has "
        "a DMARC policy of reject.",
        "",
        id="550-5.7.509-any-domain-upper-cased",
    ),
]


# A sheet string's trailing `[<HOST>...]`: the diagnostic suffix (policy/reply.py with_diagnostics).
SHEET_SUFFIX = re.compile(r" \[<HOST>[^\]]*\]$")


@pytest.mark.parametrize(("value", "sheet", "host"), CATALOGUE_VS_SHEET)
def test_catalogue_entry_is_the_sheet_string(value: R.Reply | str, sheet: str, host: str) -> None:
    text = str(value)
    bare = SHEET_SUFFIX.sub("", sheet)
    if bare != sheet:
        # The sheet's `[<HOST> ...]` is the diagnostic suffix: the endpoint adds it as the reply goes out
        # (with its host, the time and the session id), so the catalogue's text ends before it.
        wire = R.with_diagnostics(text, R.SUBMISSION_DIAG, "2025-03-20T11:25:21.972Z", "08DD66EDEFB0DFDF")
        assert wire == f"{text} [{R.SUBMISSION_DIAG} 2025-03-20T11:25:21.972Z 08DD66EDEFB0DFDF]"
        assert R.without_diagnostics(wire) == text
    assert sheet_pattern(bare, host).fullmatch(text), f"\ncatalogue: {text}\nsheet:     {sheet}"
    if isinstance(value, R.Reply):
        code, enhanced = code_and_enhanced(sheet)
        assert (value.code, value.enhanced) == (code, enhanced)
        assert value.accepted == (code < 400)
        assert value.permanent == (code >= 500)


# -- the sheets' other verbatim replies: each must be somewhere in the catalogue --------------------


def catalogue_texts() -> list[str]:
    """Every fixed reply of the catalogue, plus the factories with sample arguments."""
    fixed = [str(v) for v in vars(R).values() if isinstance(v, R.Reply)]
    fixed += [v for v in vars(R).values() if isinstance(v, str) and re.match(r"\d{3} ", v)]
    made = [
        R.not_authenticated(None),
        R.not_authenticated(R.AUTH_BAD_CREDENTIALS),
        R.dmarc_reject("contoso.com"),
        R.send_as_denied("scanner@contoso.com", "helpdesk@contoso.com"),
        R.server_busy("203.0.113.10"),
        R.banned_ip("203.0.113.10"),
    ]
    return fixed + [str(m) for m in made]


def missing(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"not in the reply catalogue: {reason}")


# Not listed: "550 5.7.54 SMTP; Unable to relay ..." (the sheet calls it on-premises wording, not
# Exchange Online's) and "5.7.60 SMTP; Client does not have permissions to send as this sender." (the
# sheet chooses 5.2.252 SendAsDenied for the lab instead).
SHEET_VERBATIM = [
    pytest.param("220 2.0.0 SMTP server ready", "", id="starttls"),
    pytest.param("221 2.0.0 Service closing transmission channel", "", id="quit"),
    pytest.param("334 VXNlcm5hbWU6", "", id="334-username"),
    pytest.param("334 UGFzc3dvcmQ6", "", id="334-password"),
    pytest.param("235 2.7.0 Authentication successful", "", id="235"),
    pytest.param("250 2.1.0 Sender OK", "", id="sender-ok"),
    pytest.param("250 2.1.5 Recipient OK", "", id="recipient-ok"),
    pytest.param("354 Start mail input; end with <CRLF>.<CRLF>", "", id="354"),
    pytest.param(DISABLED_TENANT, "", id="5.7.139-tenant"),
    pytest.param(
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.", "", id="5.7.139-basic"
    ),
    pytest.param(
        "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be "
        "authenticated successfully. Contact your administrator.",
        "",
        id="5.7.139-conditional-access",
    ),
    pytest.param(
        "550 5.7.30 Basic authentication is not supported for Client Submission.",
        "",
        id="550-5.7.30-after-retirement",
    ),
    pytest.param("554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException", "", id="quota"),
    pytest.param(
        "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:QuotaExceededException."
        "MapiExceptionShutoffQuotaExceeded",
        "",
        id="554-5.2.2-mailbox-full",
    ),
    pytest.param(
        "550 5.2.251 Sender throttled due to continuous mailbox full errors.",
        "",
        id="550-5.2.251-throttled",
    ),
    pytest.param(
        "451 4.7.500 Server busy. Please try again later from [203.0.113.10]. (AS843)",
        "",
        id="451-4.7.500-server-busy",
    ),
    pytest.param(
        "550 5.7.606 Access denied, banned sending IP [203.0.113.10]. To request removal from this list "
        "please visit https://sender.office.com/ and follow the directions. ...",
        "",
        id="550-5.7.606-banned-ip",
    ),
    pytest.param(
        "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
        "",
        id="550-5.7.708-traffic-not-accepted",
    ),
    pytest.param(
        "550 5.7.750 Client blocked from sending from unregistered domain",
        "",
        id="550-5.7.750-unregistered-domain",
    ),
    pytest.param(
        "454 4.7.0 Failed to establish appropriate TLS channel: Access Denied", "", id="454-tls-required"
    ),
    pytest.param(
        "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from "
        "unauthorized sources",
        "",
        id="5.7.68",
    ),
    pytest.param(
        "550 5.7.64 TenantAttribution; Relay Access Denied [<HOST>]", EOP_HOST, id="5.7.64-eop-sheet-form"
    ),
    pytest.param(
        "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM [<HOST>]",
        R.SUBMISSION_DIAG,
        id="5.7.57-older",
    ),
    pytest.param(
        "530 5.7.57 Client not authenticated to send mail. Error: 535 5.7.3 Authentication unsuccessful ...",
        "",
        id="5.7.57-after-bad-password",
    ),
]


@pytest.mark.parametrize(("sheet", "host"), SHEET_VERBATIM)
def test_sheet_reply_is_in_catalogue(sheet: str, host: str) -> None:
    pattern = sheet_pattern(SHEET_SUFFIX.sub("", sheet), host)  # the suffix is added on the wire
    assert any(pattern.fullmatch(text) for text in catalogue_texts()), sheet


# -- the Reply type ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "text", "accepted", "permanent"),
    [
        pytest.param(
            R.Reply(250, "2.1.0", "Sender OK"), "250 2.1.0 Sender OK", True, False, id="with-enhanced"
        ),
        pytest.param(R.Reply(354, None, "Go"), "354 Go", True, False, id="without-enhanced"),
        pytest.param(R.Reply(432, "4.3.2", "Busy"), "432 4.3.2 Busy", False, False, id="transient"),
        pytest.param(R.Reply(550, "5.7.64", "No"), "550 5.7.64 No", False, True, id="permanent"),
    ],
)
def test_reply_str_and_class(reply: R.Reply, text: str, accepted: bool, permanent: bool) -> None:
    assert (str(reply), reply.accepted, reply.permanent) == (text, accepted, permanent)


def test_catalogue_replies_are_single_lines() -> None:
    # No class check against the enhanced code: the sheet's observed "451 5.7.3 STARTTLS is required"
    # pairs a transient reply with a permanent enhanced code, and the lab copies it as observed.
    for text in catalogue_texts():
        assert "\r" not in text and "\n" not in text, text
        assert re.match(r"[2-5]\d\d ", text), text
