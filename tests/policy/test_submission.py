"""SMTP AUTH client submission rules (smtp.office365.com), one table row per behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.policy import submission as S
from mailflow_lab.policy.decision import Decision

MB = 1024 * 1024
LIMIT_35_MB = 35 * MB
SCANNER = "scanner@contoso.com"  # SMTP AUTH on for the mailbox ($false); password Scan#2026
ALEX = "alex@contoso.com"  # follows the tenant ($null); password Alex#2026
HELPDESK = "helpdesk@contoso.com"  # shared mailbox: no sign-in
SCANNER_PASSWORD = "Scan#2026"
ALEX_PASSWORD = "Alex#2026"

TENANT_ON = {"smtp_client_authentication_disabled": False}
TENANT_OFF = {"smtp_client_authentication_disabled": True}


def check(
    decision: Decision | None, code: int, enhanced: str | None, rule: str, words: tuple[str, ...]
) -> None:
    """The decision's reply code, enhanced code, rule, and key words of the text and explanation."""
    assert decision is not None
    assert (decision.reply.code, decision.reply.enhanced, decision.rule) == (code, enhanced, rule)
    for word in words:
        assert word in decision.reply.text, f"{word!r} not in {decision.reply.text!r}"
    assert decision.explanation.strip()
    assert str(decision) == str(decision.reply)


# -- EHLO ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tls_active", "expected"),
    [
        pytest.param(
            False,
            ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME"]
            + ["BINARYMIME", "CHUNKING", "SMTPUTF8"],
            id="before-starttls-offers-starttls-no-auth",
        ),
        pytest.param(
            True,
            ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "AUTH LOGIN XOAUTH2", "8BITMIME"]
            + ["BINARYMIME", "CHUNKING", "SMTPUTF8"],
            id="after-starttls-auth-in-starttls-place",
        ),
    ],
)
def test_ehlo_extensions(tls_active: bool, expected: list[str]) -> None:
    extensions = S.ehlo_extensions(tls_active)
    assert extensions == expected
    assert not any("PLAIN" in e for e in extensions)


# -- TLS version after the handshake -------------------------------------------------------------------

LEGACY_REFUSED = (421, "4.7.66", "submission.tls.legacy-version", ("TLS 1.0 and 1.1 are not supported",))


@pytest.mark.parametrize(
    ("version", "legacy_endpoint", "allow_legacy", "refused"),
    [
        pytest.param("TLSv1", False, False, True, id="tls1.0-default-endpoint-refused"),
        pytest.param("TLSv1.1", False, False, True, id="tls1.1-default-endpoint-refused"),
        pytest.param("TLSv1", False, True, True, id="tls1.0-default-endpoint-refused-even-if-allowed"),
        pytest.param("TLSv1.1", False, True, True, id="tls1.1-default-endpoint-refused-even-if-allowed"),
        pytest.param("TLSv1", True, False, True, id="tls1.0-legacy-endpoint-not-allowed"),
        pytest.param("TLSv1.1", True, False, True, id="tls1.1-legacy-endpoint-not-allowed"),
        pytest.param("TLSv1", True, True, False, id="tls1.0-legacy-endpoint-allowed"),
        pytest.param("TLSv1.1", True, True, False, id="tls1.1-legacy-endpoint-allowed"),
        pytest.param("TLSv1.2", False, False, False, id="tls1.2-default-endpoint"),
        pytest.param("TLSv1.3", False, False, False, id="tls1.3-default-endpoint"),
        pytest.param("TLSv1.2", True, False, False, id="tls1.2-legacy-endpoint"),
        pytest.param("TLSv1.3", True, True, False, id="tls1.3-legacy-endpoint-allowed"),
    ],
)
def test_after_tls_handshake(
    make_tenant: Any, version: str, legacy_endpoint: bool, allow_legacy: bool, refused: bool
) -> None:
    tenant = make_tenant({"allow_legacy_tls_clients": allow_legacy})
    decision = S.after_tls_handshake(version, legacy_endpoint=legacy_endpoint, tenant=tenant)
    if refused:
        check(decision, *LEGACY_REFUSED)
        assert decision is not None and decision.reply == R.TLS_LEGACY_REFUSED
        assert "smtp-legacy.office365.com" in decision.explanation
    else:
        assert decision is None


# -- AUTH mechanism ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mechanism", "tls_active", "already", "expected"),
    [
        pytest.param(
            "LOGIN",
            False,
            False,
            (504, "5.7.4", "submission.auth.before-starttls", ("Unrecognized authentication type",)),
            id="login-before-starttls",
        ),
        pytest.param(
            "XOAUTH2",
            False,
            False,
            (504, "5.7.4", "submission.auth.before-starttls", ("Unrecognized authentication type",)),
            id="xoauth2-before-starttls",
        ),
        pytest.param(
            "PLAIN",
            True,
            False,
            (504, "5.7.4", "submission.auth.mechanism", ("Unrecognized authentication type",)),
            id="plain-not-offered",
        ),
        pytest.param(
            "CRAM-MD5",
            True,
            False,
            (504, "5.7.4", "submission.auth.mechanism", ("Unrecognized authentication type",)),
            id="cram-md5-not-offered",
        ),
        pytest.param(
            "NTLM",
            True,
            False,
            (504, "5.7.4", "submission.auth.mechanism", ("Unrecognized authentication type",)),
            id="ntlm-not-offered",
        ),
        pytest.param(
            "LOGIN",
            True,
            True,
            (503, "5.5.2", "submission.auth.already", ("Already authenticated",)),
            id="auth-twice",
        ),
        pytest.param("LOGIN", True, False, None, id="login-after-starttls"),
        pytest.param("login", True, False, None, id="login-lower-case"),
        pytest.param("XOAUTH2", True, False, None, id="xoauth2-after-starttls"),
    ],
)
def test_auth_mechanism(mechanism: str, tls_active: bool, already: bool, expected: tuple | None) -> None:
    decision = S.auth_mechanism(mechanism, tls_active=tls_active, already=already)
    if expected is None:
        assert decision is None
    else:
        check(decision, *expected)


# -- AUTH LOGIN (basic) --------------------------------------------------------------------------------

OK_BASIC = (235, "2.7.0", "submission.auth.ok-basic", ("Authentication successful",))
BAD_CREDENTIALS = (535, "5.7.3", "submission.auth.bad-credentials", ("Authentication unsuccessful",))
DISABLED_TENANT = (535, "5.7.139", "submission.auth.tenant-disabled", ("disabled for the Tenant",))
DISABLED_MAILBOX = (535, "5.7.139", "submission.auth.mailbox-disabled", ("disabled for the Mailbox",))
SECURITY_DEFAULTS = (535, "5.7.139", "submission.auth.security-defaults", ("security defaults policy",))
BASIC_DISABLED = (535, "5.7.139", "submission.auth.basic-disabled", ("basic authentication is disabled",))

BASIC_ROWS = [
    # (tenant settings, mailbox fields, user, password, expected, signed-in identity)
    pytest.param({}, {}, SCANNER, SCANNER_PASSWORD, OK_BASIC, SCANNER, id="mailbox-on-tenant-off-ok"),
    pytest.param(
        {}, {}, "Scanner@Contoso.COM", SCANNER_PASSWORD, OK_BASIC, SCANNER, id="user-name-case-insensitive"
    ),
    pytest.param({}, {}, SCANNER, "scan#2026", BAD_CREDENTIALS, None, id="wrong-password-case"),
    pytest.param({}, {}, SCANNER, ALEX_PASSWORD, BAD_CREDENTIALS, None, id="another-users-password"),
    pytest.param({}, {}, SCANNER, "", BAD_CREDENTIALS, None, id="empty-password"),
    pytest.param({}, {}, "nobody@contoso.com", "Nobody#2026", BAD_CREDENTIALS, None, id="unknown-user"),
    pytest.param({}, {}, "pat@fabrikam.com", "Pat#2026", BAD_CREDENTIALS, None, id="outside-user"),
    pytest.param(TENANT_ON, {}, HELPDESK, "", BAD_CREDENTIALS, None, id="shared-mailbox-no-sign-in"),
    pytest.param(TENANT_ON, {}, HELPDESK, "Help#2026", BAD_CREDENTIALS, None, id="shared-mailbox-any-pw"),
    pytest.param(
        TENANT_OFF, {}, ALEX, ALEX_PASSWORD, DISABLED_TENANT, None, id="tenant-off-mailbox-null-follows"
    ),
    pytest.param(TENANT_ON, {}, ALEX, ALEX_PASSWORD, OK_BASIC, ALEX, id="tenant-on-mailbox-null-follows"),
    pytest.param(
        TENANT_ON,
        {ALEX: {"smtp_client_authentication_disabled": True}},
        ALEX,
        ALEX_PASSWORD,
        DISABLED_MAILBOX,
        None,
        id="mailbox-off-overrides-tenant-on",
    ),
    pytest.param(
        TENANT_OFF,
        {ALEX: {"smtp_client_authentication_disabled": True}},
        ALEX,
        ALEX_PASSWORD,
        DISABLED_MAILBOX,
        None,
        id="mailbox-off-tenant-off-says-mailbox",
    ),
    pytest.param(
        TENANT_OFF,
        {ALEX: {"smtp_client_authentication_disabled": False}},
        ALEX,
        ALEX_PASSWORD,
        OK_BASIC,
        ALEX,
        id="mailbox-on-false-overrides-tenant-off",
    ),
    pytest.param(
        {"security_defaults": True}, {}, SCANNER, SCANNER_PASSWORD, SECURITY_DEFAULTS, None, id="sec-defaults"
    ),
    pytest.param(
        {"security_defaults": True, **TENANT_ON},
        {},
        ALEX,
        ALEX_PASSWORD,
        SECURITY_DEFAULTS,
        None,
        id="security-defaults-with-smtp-auth-on",
    ),
    pytest.param(
        {"basic_auth_disabled": True},
        {},
        SCANNER,
        SCANNER_PASSWORD,
        BASIC_DISABLED,
        None,
        id="basic-disabled",
    ),
    pytest.param(
        {"security_defaults": True},
        {},
        SCANNER,
        "Wr0ng#2026",
        BAD_CREDENTIALS,
        None,
        id="wrong-pw-before-switches",
    ),
]


@pytest.mark.parametrize(("settings", "mailboxes", "user", "password", "expected", "identity"), BASIC_ROWS)
def test_authenticate_basic(
    make_tenant: Any,
    settings: dict,
    mailboxes: dict,
    user: str,
    password: str,
    expected: tuple,
    identity: str | None,
) -> None:
    tenant = make_tenant(settings, mailboxes)
    outcome = S.authenticate_basic(tenant, user, password)
    check(outcome.decision, *expected)
    assert outcome.identity == identity
    if password:
        # DESIGN: passwords never appear in what learners are shown.
        assert password not in outcome.decision.explanation
        assert password not in str(outcome.decision.reply)


@pytest.mark.parametrize(
    ("reply", "sheet"),
    [
        pytest.param(
            R.AUTH_DISABLED_TENANT,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
            "Visit https://aka.ms/smtp_auth_disabled for more information.",
            id="tenant",
        ),
        pytest.param(
            R.AUTH_DISABLED_MAILBOX,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
            "Visit https://aka.ms/smtp_auth_disabled for more information.",
            id="mailbox",
        ),
        pytest.param(
            R.AUTH_SECURITY_DEFAULTS,
            "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security "
            "defaults policy. Contact your administrator.",
            id="security-defaults",
        ),
        pytest.param(
            R.AUTH_BASIC_DISABLED,
            "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
            id="basic-auth-disabled",
        ),
    ],
)
def test_each_5_7_139_is_the_sheet_text(reply: R.Reply, sheet: str) -> None:
    assert str(reply) == sheet


# -- AUTH XOAUTH2 --------------------------------------------------------------------------------------

OK_OAUTH = (235, "2.7.0", "submission.auth.ok-oauth", ("Authentication successful",))
OAUTH_TOKEN = (535, "5.7.3", "submission.auth.oauth-token", ("Authentication unsuccessful",))


@pytest.mark.parametrize(
    ("settings", "mailboxes", "user", "problem", "expected", "identity"),
    [
        pytest.param({}, {}, SCANNER, None, OK_OAUTH, SCANNER, id="ok"),
        pytest.param(
            {"security_defaults": True}, {}, SCANNER, None, OK_OAUTH, SCANNER, id="ok-with-security-defaults"
        ),
        pytest.param(
            {"basic_auth_disabled": True}, {}, SCANNER, None, OK_OAUTH, SCANNER, id="ok-with-basic-disabled"
        ),
        pytest.param(TENANT_ON, {}, ALEX, None, OK_OAUTH, ALEX, id="ok-tenant-on-mailbox-null"),
        pytest.param(TENANT_OFF, {}, ALEX, None, DISABLED_TENANT, None, id="smtp-auth-off-for-tenant"),
        pytest.param(
            TENANT_ON,
            {SCANNER: {"smtp_client_authentication_disabled": True}},
            SCANNER,
            None,
            DISABLED_MAILBOX,
            None,
            id="smtp-auth-off-for-mailbox",
        ),
        pytest.param({}, {}, SCANNER, "the token has expired", OAUTH_TOKEN, None, id="token-expired"),
        pytest.param(
            {}, {}, SCANNER, "the token lacks the SMTP.Send scope", OAUTH_TOKEN, None, id="token-wrong-scope"
        ),
        pytest.param({}, {}, "nobody@contoso.com", None, OAUTH_TOKEN, None, id="no-such-mailbox"),
    ],
)
def test_authenticate_oauth(
    make_tenant: Any,
    settings: dict,
    mailboxes: dict,
    user: str,
    problem: str | None,
    expected: tuple,
    identity: str | None,
) -> None:
    tenant = make_tenant(settings, mailboxes)
    outcome = S.authenticate_oauth(tenant, user, problem)
    check(outcome.decision, *expected)
    assert outcome.identity == identity
    if problem is not None:
        assert problem in outcome.decision.explanation


# -- the SMTP AUTH switch on its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant_disabled", "mailbox_setting", "expected"),
    [
        pytest.param(True, None, DISABLED_TENANT, id="tenant-off-mailbox-null"),
        pytest.param(False, None, None, id="tenant-on-mailbox-null"),
        pytest.param(True, True, DISABLED_MAILBOX, id="tenant-off-mailbox-off"),
        pytest.param(False, True, DISABLED_MAILBOX, id="tenant-on-mailbox-off"),
        pytest.param(True, False, None, id="tenant-off-mailbox-on"),
        pytest.param(False, False, None, id="tenant-on-mailbox-on"),
    ],
)
def test_smtp_auth_switch(
    make_tenant: Any, tenant_disabled: bool, mailbox_setting: bool | None, expected: tuple | None
) -> None:
    tenant = make_tenant(
        {"smtp_client_authentication_disabled": tenant_disabled},
        {ALEX: {"smtp_client_authentication_disabled": mailbox_setting}},
    )
    mailbox = tenant.find_mailbox(ALEX)
    assert mailbox is not None
    decision = S.smtp_auth_switch(tenant, mailbox)
    if expected is None:
        assert decision is None
    else:
        check(decision, *expected)


# -- concurrent connections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_sessions", "refused"),
    [
        pytest.param(0, False, id="1st-ok"),
        pytest.param(1, False, id="2nd-ok"),
        pytest.param(2, False, id="3rd-ok"),
        pytest.param(3, True, id="4th-refused"),
        pytest.param(7, True, id="8th-refused"),
    ],
)
def test_concurrent_connections(open_sessions: int, refused: bool) -> None:
    decision = S.concurrent_connections(open_sessions)
    if refused:
        check(
            decision,
            432,
            "4.3.2",
            "submission.limit.concurrent",
            ("Concurrent connections limit exceeded", "https://aka.ms/concurrent_sending"),
        )
    else:
        assert decision is None


# -- MAIL FROM -----------------------------------------------------------------------------------------

SENDER_OK = (250, "2.1.0", "submission.mail.ok", ("Sender OK",))


@pytest.mark.parametrize(
    ("tls_active", "identity", "auth_failure", "size", "expected"),
    [
        pytest.param(
            False,
            None,
            None,
            None,
            (451, "5.7.3", "submission.mail.starttls-required", ("STARTTLS is required to send mail",)),
            id="before-starttls",
        ),
        pytest.param(
            False,
            SCANNER,
            None,
            None,
            (451, "5.7.3", "submission.mail.starttls-required", ("STARTTLS is required",)),
            id="before-starttls-even-if-identity",
        ),
        pytest.param(
            True,
            None,
            None,
            None,
            (
                530,
                "5.7.57",
                "submission.mail.not-authenticated",
                ("SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",),
            ),
            id="without-auth-older-form",
        ),
        pytest.param(
            True,
            None,
            R.AUTH_DISABLED_TENANT,
            None,
            (
                530,
                "5.7.57",
                "submission.mail.not-authenticated",
                (
                    "Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, "
                    "SmtpClientAuthentication is disabled for the Tenant.",
                ),
            ),
            id="after-failed-auth-quotes-5.7.139",
        ),
        pytest.param(
            True,
            None,
            R.AUTH_BAD_CREDENTIALS,
            None,
            (
                530,
                "5.7.57",
                "submission.mail.not-authenticated",
                ("Client not authenticated to send mail. Error: 535 5.7.3 Authentication unsuccessful",),
            ),
            id="after-wrong-password-quotes-5.7.3",
        ),
        pytest.param(True, SCANNER, None, None, SENDER_OK, id="signed-in-no-size"),
        pytest.param(True, SCANNER, None, 1024, SENDER_OK, id="signed-in-small"),
        pytest.param(True, SCANNER, None, LIMIT_35_MB, SENDER_OK, id="size-exactly-35mb"),
        pytest.param(
            True,
            SCANNER,
            None,
            LIMIT_35_MB + 1,
            SENDER_OK,  # over MaxSendSize but under the advertised SIZE: taken, refused after DATA
            id="size-over-35mb-taken-at-mail",
        ),
        pytest.param(
            True, SCANNER, None, R.MAX_MESSAGE_SIZE_ADVERTISED, SENDER_OK, id="size-advertised-150mb"
        ),
        pytest.param(
            True,
            SCANNER,
            None,
            R.MAX_MESSAGE_SIZE_ADVERTISED + 1,
            (552, "5.3.4", "submission.limit.size", ("Message size exceeds fixed maximum message size",)),
            id="size-over-the-advertised-size",
        ),
    ],
)
def test_mail_from(
    tls_active: bool, identity: str | None, auth_failure: R.Reply | None, size: int | None, expected: tuple
) -> None:
    decision = S.mail_from(
        tls_active=tls_active, identity=identity, auth_failure=auth_failure, declared_size=size
    )
    check(decision, *expected)


def test_mail_from_after_failure_quotes_the_whole_535() -> None:
    decision = S.mail_from(
        tls_active=True, identity=None, auth_failure=R.AUTH_SECURITY_DEFAULTS, declared_size=None
    )
    assert str(decision.reply) == (
        "530 5.7.57 Client not authenticated to send mail. Error: " + str(R.AUTH_SECURITY_DEFAULTS)
    )


# -- RCPT TO -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("so_far", "expected"),
    [
        pytest.param(0, (250, "2.1.5", "submission.rcpt.ok", ("Recipient OK",)), id="1st"),
        pytest.param(1, (250, "2.1.5", "submission.rcpt.ok", ("Recipient OK",)), id="2nd"),
        pytest.param(499, (250, "2.1.5", "submission.rcpt.ok", ("Recipient OK",)), id="500th-ok"),
        pytest.param(
            500,
            (452, "4.5.3", "submission.limit.recipients-per-message", ("Too many recipients",)),
            id="501st-refused",
        ),
        pytest.param(
            999,
            (452, "4.5.3", "submission.limit.recipients-per-message", ("Too many recipients",)),
            id="1000th-refused-at-default",
        ),
    ],
)
def test_rcpt_to(so_far: int, expected: tuple) -> None:
    check(S.rcpt_to(so_far), *expected)


# -- SendAs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trustees", "login", "address", "allowed"),
    [
        pytest.param([], SCANNER, SCANNER, True, id="own-address"),
        pytest.param([], SCANNER, "Scanner@Contoso.com", True, id="own-address-other-case"),
        pytest.param([SCANNER], SCANNER, HELPDESK, True, id="granted-trustee-on-shared"),
        pytest.param(["Scanner@contoso.com"], SCANNER, HELPDESK, True, id="granted-trustee-other-case"),
        pytest.param([], SCANNER, HELPDESK, False, id="shared-not-granted"),
        pytest.param([ALEX], SCANNER, HELPDESK, False, id="shared-granted-to-someone-else"),
        pytest.param([], SCANNER, ALEX, False, id="other-user-not-granted"),
        pytest.param([], SCANNER, "nobody@contoso.com", False, id="no-such-mailbox"),
        pytest.param([], SCANNER, "pat@fabrikam.com", False, id="outside-address"),
    ],
)
def test_can_send_as(make_tenant: Any, trustees: list[str], login: str, address: str, allowed: bool) -> None:
    tenant = make_tenant(mailboxes={HELPDESK: {"send_as_trustees": trustees}})
    assert S.can_send_as(tenant, login, address) is allowed


# -- end of DATA: SendAs, daily quota, size ------------------------------------------------------------

QUEUED = (250, "2.0.0", "submission.data.ok", ("OK", "[Hostname="))
QUOTA = (554, "5.2.0", "submission.limit.recipients-per-day", ("SubmissionQuotaExceededException",))
# Over MaxSendSize: the store refuses it after DATA (the protocol sheet).
TOO_BIG = (554, "5.2.0", "submission.limit.max-send-size", ("MapiExceptionMaxSubmissionExceeded",))


def send_as_denied(login: str, sender: str) -> tuple:
    words = ("SendAsDenied", f"{login} not allowed to send as {sender}", "MapiExceptionSendAsDenied")
    return (554, "5.2.252", "submission.data.send-as-denied", words)


DATA_ROWS = [
    # (helpdesk trustees, login, [envelope, header From], size, recipients, last 24 h, expected)
    pytest.param([], SCANNER, [SCANNER, SCANNER], 2000, 1, 0, QUEUED, id="own-address"),
    pytest.param([], SCANNER, [SCANNER, ""], 2000, 1, 0, QUEUED, id="no-header-from"),
    pytest.param([SCANNER], SCANNER, [HELPDESK, HELPDESK], 2000, 1, 0, QUEUED, id="granted-sendas"),
    pytest.param([SCANNER], SCANNER, [SCANNER, HELPDESK], 2000, 1, 0, QUEUED, id="granted-header-from"),
    pytest.param(
        [], SCANNER, [HELPDESK, HELPDESK], 2000, 1, 0, send_as_denied(SCANNER, HELPDESK), id="not-granted"
    ),
    pytest.param(
        [],
        SCANNER,
        [SCANNER, HELPDESK],
        2000,
        1,
        0,
        send_as_denied(SCANNER, HELPDESK),
        id="envelope-own-header-from-not-granted",
    ),
    pytest.param(
        [],
        SCANNER,
        [HELPDESK, SCANNER],
        2000,
        1,
        0,
        send_as_denied(SCANNER, HELPDESK),
        id="header-from-own-envelope-not-granted",
    ),
    pytest.param(
        [], SCANNER, [ALEX, ALEX], 2000, 1, 0, send_as_denied(SCANNER, ALEX), id="other-user-mailbox"
    ),
    pytest.param(
        [],
        SCANNER,
        ["printer@contoso.com", "printer@contoso.com"],
        2000,
        1,
        0,
        send_as_denied(SCANNER, "printer@contoso.com"),
        id="address-without-mailbox",
    ),
    pytest.param([], SCANNER, [SCANNER, SCANNER], 2000, 1, 9_999, QUEUED, id="quota-10000th-recipient-ok"),
    pytest.param([], SCANNER, [SCANNER, SCANNER], 2000, 500, 9_500, QUEUED, id="quota-exactly-10000-ok"),
    pytest.param([], SCANNER, [SCANNER, SCANNER], 2000, 2, 9_999, QUOTA, id="quota-10001-refused"),
    pytest.param([], SCANNER, [SCANNER, SCANNER], 2000, 1, 10_000, QUOTA, id="quota-already-full"),
    pytest.param([], SCANNER, [SCANNER, SCANNER], LIMIT_35_MB, 1, 0, QUEUED, id="size-exactly-35mb"),
    pytest.param([], SCANNER, [SCANNER, SCANNER], LIMIT_35_MB + 1, 1, 0, TOO_BIG, id="size-over-35mb"),
    pytest.param(
        [],
        SCANNER,
        [HELPDESK, HELPDESK],
        LIMIT_35_MB + 1,
        2,
        9_999,
        send_as_denied(SCANNER, HELPDESK),
        id="sendas-checked-first",
    ),
]


@pytest.mark.parametrize(
    ("trustees", "login", "senders", "size", "recipients", "last_24h", "expected"), DATA_ROWS
)
def test_end_of_data(
    make_tenant: Any,
    trustees: list[str],
    login: str,
    senders: list[str],
    size: int,
    recipients: int,
    last_24h: int,
    expected: tuple,
) -> None:
    tenant = make_tenant(mailboxes={HELPDESK: {"send_as_trustees": trustees}})
    decision = S.end_of_data(
        tenant, login=login, senders=senders, size=size, recipients=recipients, recipients_last_24h=last_24h
    )
    check(decision, *expected)
    if decision.rule == "submission.data.send-as-denied":
        assert "Add-RecipientPermission" in decision.explanation


# -- 30 messages a minute: accepted, delivered later (EOP sheet: delayed, not rejected) ---------------


@pytest.mark.parametrize(
    ("sent_in_last_minute", "minutes"),
    [
        pytest.param(0, 0, id="1st-not-deferred"),
        pytest.param(28, 0, id="29th-not-deferred"),
        pytest.param(29, 0, id="30th-not-deferred"),
        pytest.param(30, 1, id="31st-deferred-1-minute"),
        pytest.param(59, 1, id="60th-deferred-1-minute"),
        pytest.param(60, 2, id="61st-carried-over-2-minutes"),
        pytest.param(100, 3, id="101st-deferred-3-minutes"),
    ],
)
def test_deferral_minutes(sent_in_last_minute: int, minutes: int) -> None:
    assert S.deferral_minutes(sent_in_last_minute) == minutes


# -- the limits are the sheets' numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("MESSAGES_PER_MINUTE", 30, id="30-per-minute"),
        pytest.param("RECIPIENTS_PER_DAY", 10_000, id="10000-recipients-per-day"),
        pytest.param("RECIPIENTS_PER_MESSAGE", 500, id="500-recipients-per-message"),
        pytest.param("MAX_SEND_SIZE", 35 * MB, id="35mb-send-size"),
        pytest.param("CONCURRENT_CONNECTIONS_PER_MAILBOX", 3, id="3-concurrent"),
    ],
)
def test_limits(name: str, value: int) -> None:
    assert getattr(S, name) == value
