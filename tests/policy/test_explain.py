"""Every reply in the catalogue has its own explanation: the step, a plain headline, the admin's fix."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.policy.explain import STEPS, Explanation, explain, explain_outcome

# What each catalogue entry is explained as: {name: [(sample arguments, step, rule), ...]}.
# A reply added to policy/replies/ without a row here fails test_every_catalogue_entry_has_a_row.
EXPECTED: dict[str, list[tuple[tuple[Any, ...], str, str]]] = {
    "STARTTLS_READY": [((), "TLS", "session.starttls")],
    "QUIT": [((), "connect", "session.quit")],
    "RSET": [((), "connect", "session.rset")],
    "NOOP": [((), "connect", "session.noop")],
    "SENDER_OK": [((), "MAIL FROM", "mail.sender-ok")],
    "RECIPIENT_OK": [((), "RCPT TO", "rcpt.ok")],
    "START_MAIL_INPUT": [((), "DATA", "session.data")],
    "queued": [(("<a1@contoso.com>", R.SUBMISSION_DIAG), "delivered", "submission.data.ok")],
    "mx_queued": [(("<a1@contoso.com>", 1234567890123), "delivered", "mx.queued")],
    "AUTH_OK": [((), "AUTH", "submission.auth.ok")],
    "AUTH_LOGIN_USERNAME": [((), "AUTH", "submission.auth.ask-username")],
    "AUTH_LOGIN_PASSWORD": [((), "AUTH", "submission.auth.ask-password")],
    "AUTH_UNRECOGNIZED": [((), "AUTH", "submission.auth.before-starttls")],
    "AUTH_BAD_CREDENTIALS": [((), "AUTH", "submission.auth.bad-credentials")],
    "AUTH_ACCOUNT_LOCKED": [((), "AUTH", "submission.auth.locked")],
    "AUTH_DISABLED_TENANT": [((), "AUTH", "submission.auth.tenant-disabled")],
    "AUTH_DISABLED_MAILBOX": [((), "AUTH", "submission.auth.mailbox-disabled")],
    "AUTH_SECURITY_DEFAULTS": [((), "AUTH", "submission.auth.security-defaults")],
    "AUTH_BASIC_DISABLED": [((), "AUTH", "submission.auth.basic-disabled")],
    "AUTH_CONDITIONAL_ACCESS": [((), "AUTH", "submission.auth.conditional-access")],
    "BASIC_AUTH_RETIRED": [((), "AUTH", "submission.auth.basic-retired")],
    "AUTH_ALREADY": [((), "AUTH", "submission.auth.already")],
    "AUTH_ABORTED": [((), "AUTH", "submission.auth.aborted")],
    "AUTH_BAD_BASE64": [((), "AUTH", "submission.auth.bad-base64")],
    "STARTTLS_REQUIRED": [((), "MAIL FROM", "submission.mail.starttls-required")],
    "TLS_LEGACY_REFUSED": [((), "TLS", "submission.tls.legacy-version")],
    "not_authenticated": [
        ((None,), "MAIL FROM", "submission.mail.not-authenticated"),
        ((R.AUTH_DISABLED_TENANT,), "MAIL FROM", "submission.mail.not-authenticated"),
    ],
    "send_as_denied": [
        (("scanner@contoso.com", "helpdesk@contoso.com"), "DATA", "submission.data.send-as-denied")
    ],
    "CONCURRENT_CONNECTIONS": [((), "AUTH", "submission.limit.concurrent")],
    "SUBMISSION_QUOTA_EXCEEDED": [((), "DATA", "submission.limit.recipients-per-day")],
    "MAILBOX_FULL": [((), "DATA", "submission.limit.mailbox-full")],
    "TEMPORARY_SERVER_ERROR": [((), "DATA", "server.temporary-error")],
    "SENDER_THROTTLED_MAILBOX_FULL": [((), "DATA", "submission.limit.throttled-mailbox-full")],
    "MESSAGE_TOO_BIG": [((), "DATA", "submission.limit.size")],
    "DATA_TOO_BIG": [((), "DATA", "submission.limit.size")],
    "TOO_MANY_RECIPIENTS": [((), "RCPT TO", "submission.limit.recipients-per-message")],
    "RELAY_DENIED": [((), "RCPT TO", "mx.relay-denied")],
    "DIRECT_SEND_REJECTED": [((), "RCPT TO", "mx.reject-direct-send")],
    "PARTNER_CONNECTOR_RESTRICTED": [((), "RCPT TO", "connector.partner-restricted")],
    "TLS_REQUIRED": [((), "RCPT TO", "connector.partner-require-tls")],
    "RECIPIENT_NOT_FOUND": [((), "RCPT TO", "mx.recipient-not-found")],
    "DBEB_REJECTED": [((), "RCPT TO", "mx.directory-based-edge-blocking")],
    "MAX_SUBMISSION_EXCEEDED": [((), "DATA", "submission.limit.max-send-size")],
    "XOAUTH2_BAD_DATA": [((), "AUTH", "submission.auth.xoauth2-malformed")],
    "NEED_RCPT": [((), "RCPT TO", "protocol.need-rcpt")],
    "NEED_MAIL": [((), "MAIL FROM", "protocol.need-mail")],
    "SEND_HELLO_FIRST": [((), "connect", "protocol.hello-first")],
    "SENDER_ALREADY_SPECIFIED": [((), "MAIL FROM", "protocol.sender-already-specified")],
    "INVALID_DOMAIN_NAME": [((), "connect", "protocol.invalid-helo")],
    "chunk_received": [((4096,), "DATA", "chunking.chunk")],
    "BINARYMIME_NEEDS_BDAT": [((), "DATA", "chunking.binarymime-data")],
    "dmarc_reject": [(("contoso.com",), "DATA", "antispam.dmarc-reject")],
    "server_busy": [(("203.0.113.10",), "connect", "edge.server-busy")],
    "banned_ip": [(("203.0.113.10",), "connect", "edge.banned-ip")],
    "TRAFFIC_NOT_ACCEPTED": [((), "connect", "edge.traffic-not-accepted")],
    "UNREGISTERED_DOMAIN": [((), "MAIL FROM", "edge.unregistered-domain")],
    "BAD_SEQUENCE_MAIL": [((), "MAIL FROM", "protocol.bad-sequence")],
    "SYNTAX_ERROR": [((), "connect", "protocol.syntax")],
    "LINE_TOO_LONG": [((), "connect", "protocol.line-too-long")],
    "unrecognized_command": [(("FOO",), "connect", "protocol.unrecognized-command")],
    "UNRECOGNIZED_PARAMETER": [((), "connect", "protocol.syntax")],
    "UNSUPPORTED_BODY_TYPE": [((), "connect", "protocol.syntax")],
    "INVALID_ADDRESS": [((), "RCPT TO", "protocol.invalid-address")],
    "INVALID_SENDER_ADDRESS": [((), "MAIL FROM", "protocol.invalid-sender")],
    "COMMAND_NOT_IMPLEMENTED": [((), "connect", "protocol.not-implemented")],
    "CANNOT_VRFY": [((), "connect", "session.vrfy")],
    "HELP": [((), "connect", "session.help")],
    "IDLE_TIMEOUT": [((), "connect", "session.idle-timeout")],
    "TOO_MANY_ERRORS": [((), "connect", "session.too-many-errors")],
    "TOO_MANY_CONNECTIONS_FROM_ADDRESS": [((), "connect", "session.connections-per-address")],
    "TOO_MANY_CONNECTIONS": [((), "connect", "session.connections-total")],
    "TOO_MANY_COMMANDS": [((), "connect", "session.too-many-commands")],
    "CONNECTION_TIMED_OUT": [((), "connect", "session.connection-timeout")],
    "HEADER_TOO_BIG": [((), "DATA", "session.header-size")],
    "TLS_NOT_AVAILABLE": [((), "TLS", "session.tls-not-available")],
    "BARE_LINEFEEDS_ILLEGAL": [((), "delivered", "relay.bare-linefeeds")],
    "FABRIKAM_OK_RCPT": [((), "RCPT TO", "outside.rcpt.ok")],
    "FABRIKAM_OK_SENDER": [((), "MAIL FROM", "outside.mail.ok")],
    "FABRIKAM_UNKNOWN_USER": [((), "RCPT TO", "outside.unknown-user")],
    "FABRIKAM_RELAY_DENIED": [((), "RCPT TO", "outside.relay-denied")],
    "AUTH_NOT_ENABLED": [((), "AUTH", "outside.auth-not-enabled")],
    "fabrikam_queued": [(("4F1A2B3C4D",), "delivered", "outside.accepted")],
    "fabrikam_dmarc_reject": [(("contoso.com",), "DATA", "outside.dmarc-reject")],
    "FILTER_PROXY_FAILED": [((), "DATA", "filter.next-hop-failed")],
    "TLS_ALREADY_ACTIVE": [((), "TLS", "session.tls-already")],
    "XCLIENT_DENIED": [((), "connect", "session.xclient-refused")],
    "XCLIENT_IN_TRANSACTION": [((), "connect", "session.xclient-in-transaction")],
    "xclient_bad_address": [(("x",), "connect", "session.xclient")],
    "RELAY_DELIVERED": [((), "delivered", "relay.delivered")],
    "domain_unreachable": [(("x.example",), "delivered", "relay.no-server")],
    "hand_off_failed": [(("x", "boom"), "delivered", "relay.failed")],
}

# Replies the endpoints send that are not catalogue entries: greetings, put together by the SMTP glue.
OFF_CATALOGUE = [
    (R.Reply(220, None, f"{R.SUBMISSION_FQDN} {R.banner_text('Tue, 3 Mar 2026 09:30:05 +0000')}"), "connect",
     "session.banner"),
    (R.Reply(220, None, f"filter.litware.com {R.postfix_banner_text('Tue, 3 Mar 2026 09:30:05 +0000')}"),
     "connect", "session.banner"),
]  # fmt: skip


def _is_reply_factory(value: Any) -> bool:
    if not inspect.isfunction(value) or not value.__module__.startswith(R.__name__ + "."):
        return False
    return inspect.signature(value).return_annotation in ("Reply", R.Reply)


def _is_reply_string(value: Any) -> bool:
    """A raw reply line kept as a string, such as the AUTH LOGIN prompts ("334 VXNlcm5hbWU6")."""
    return isinstance(value, str) and re.fullmatch(r"[2-5]\d\d [^\s].*", value) is not None


def catalogue() -> dict[str, Any]:
    """Every public reply in policy/replies/: Reply constants, reply lines and Reply factories."""
    return {
        name: value
        for name, value in vars(R).items()
        if not name.startswith("_")
        and (isinstance(value, R.Reply) or _is_reply_factory(value) or _is_reply_string(value))
    }


def _reply(value: Any, args: tuple[Any, ...]) -> R.Reply:
    if isinstance(value, R.Reply):
        return value
    if isinstance(value, str):
        code, _, text = value.partition(" ")
        return R.Reply(int(code), None, text)
    return value(*args)


ROWS = [
    pytest.param(name, args, step, rule, id=f"{name}-{index}" if len(rows) > 1 else name)
    for name, rows in EXPECTED.items()
    for index, (args, step, rule) in enumerate(rows)
]


def test_every_catalogue_entry_has_a_row() -> None:
    missing = sorted(set(catalogue()) - set(EXPECTED))
    assert not missing, (
        f"replies without an explanation row (add them to explain_table and EXPECTED): {missing}"
    )
    stale = sorted(set(EXPECTED) - set(catalogue()))
    assert not stale, f"rows for names no longer in the catalogue: {stale}"


@pytest.mark.parametrize(("name", "args", "step", "rule"), ROWS)
def test_catalogue_reply_has_a_specific_explanation(
    name: str, args: tuple[Any, ...], step: str, rule: str
) -> None:
    reply = _reply(catalogue()[name], args)
    found = explain(reply)
    assert not found.generic, f"{name} ({reply}) is only explained generically"
    assert (found.step, found.rule) == (step, rule)
    assert found.step in STEPS
    assert found.headline and "\n" not in found.headline
    assert found.fix
    if not reply.accepted:
        assert found.fix != "Nothing to change."


@pytest.mark.parametrize(("name", "args", "step", "rule"), ROWS)
def test_explanation_survives_the_wire(name: str, args: tuple[Any, ...], step: str, rule: str) -> None:
    """The reply as a device parses it off the wire (code, then enhanced code split from the text)."""
    reply = _reply(catalogue()[name], args)
    wire = R.Reply.from_smtplib(reply.code, str(reply).partition(" ")[2])
    assert wire == reply
    assert explain(wire).rule == rule
    assert explain(R.Reply.from_text(f"{reply}\r\n")).rule == rule


@pytest.mark.parametrize(("reply", "step", "rule"), OFF_CATALOGUE)
def test_replies_outside_the_catalogue(reply: R.Reply, step: str, rule: str) -> None:
    found = explain(reply)
    assert (found.step, found.rule) == (step, rule)


# -- the four 5.7.139 variants and their fixes, word for word where an admin would type them ---------------


@pytest.mark.parametrize(
    ("reply", "fix_contains"),
    [
        pytest.param(
            R.AUTH_DISABLED_TENANT,
            "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false",
            id="tenant",
        ),
        pytest.param(
            R.AUTH_DISABLED_MAILBOX,
            "Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false",
            id="mailbox",
        ),
        pytest.param(
            R.AUTH_SECURITY_DEFAULTS,
            "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false",
            id="security-defaults",
        ),
        pytest.param(R.AUTH_BASIC_DISABLED, "Set-AuthenticationPolicy", id="basic-disabled"),
        pytest.param(R.AUTH_CONDITIONAL_ACCESS, "Conditional Access", id="conditional-access"),
        pytest.param(
            R.TLS_LEGACY_REFUSED, "Set-TransportConfig -AllowLegacyTLSClients $true", id="tls-legacy"
        ),
        pytest.param(R.TLS_LEGACY_REFUSED, "smtp-legacy.office365.com", id="tls-legacy-endpoint"),
        pytest.param(R.DIRECT_SEND_REJECTED, "Set-OrganizationConfig -RejectDirectSend $false", id="rds"),
        pytest.param(R.DIRECT_SEND_REJECTED, "New-InboundConnector", id="rds-connector"),
        pytest.param(R.RELAY_DENIED, "New-InboundConnector", id="relay-denied"),
        pytest.param(R.RELAY_DENIED, "-ConnectorType OnPremises", id="relay-denied-onpremises"),
        pytest.param(R.dmarc_reject("contoso.com"), "v=spf1 ip4:<office IP>", id="dmarc-reject-spf"),
        pytest.param(R.TLS_REQUIRED, "-RequireTls $false", id="connector-tls"),
        pytest.param(R.AUTH_UNRECOGNIZED, "STARTTLS", id="auth-before-tls"),
    ],
)
def test_fix_names_the_real_change(reply: R.Reply, fix_contains: str) -> None:
    assert fix_contains in explain(reply).fix


def test_the_four_5_7_139_variants_are_told_apart() -> None:
    variants = [
        R.AUTH_DISABLED_TENANT,
        R.AUTH_DISABLED_MAILBOX,
        R.AUTH_SECURITY_DEFAULTS,
        R.AUTH_BASIC_DISABLED,
        R.AUTH_CONDITIONAL_ACCESS,
    ]
    assert {r.enhanced for r in variants} == {"5.7.139"}
    assert len({explain(r).rule for r in variants}) == len(variants)
    assert len({explain(r).headline for r in variants}) == len(variants)


def test_send_as_names_the_mailboxes() -> None:
    found = explain(R.send_as_denied("scanner@contoso.com", "helpdesk@contoso.com"))
    grant = "Add-RecipientPermission -Identity helpdesk@contoso.com -Trustee scanner@contoso.com"
    assert f"{grant} -AccessRights SendAs" in found.fix
    assert "scanner@contoso.com" in found.headline and "helpdesk@contoso.com" in found.headline


def test_not_authenticated_after_a_failed_auth_carries_the_auth_fix() -> None:
    found = explain(R.not_authenticated(R.AUTH_DISABLED_TENANT))
    assert found.step == "MAIL FROM"
    assert "signing in failed first" in found.headline
    assert "Set-CASMailbox" in found.fix
    plain = explain(R.not_authenticated(None))
    assert "Set-CASMailbox" not in plain.fix and "user name and password" in plain.fix


def test_dmarc_reject_names_the_domain() -> None:
    found = explain(R.dmarc_reject("contoso.onmicrosoft.com"))
    assert "contoso.onmicrosoft.com" in found.headline
    assert "contoso.onmicrosoft.com's SPF record" in found.fix


# -- no reply at all --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "step", "rule", "words"),
    [
        pytest.param(
            "could not connect to smtp.office365.com:465: nothing answers there "
            "(Microsoft 365 does not offer port 465 / implicit TLS)",
            "connect",
            "device.port-465",
            "port 587",
            id="port-465",
        ),
        pytest.param(
            "could not connect to contoso-com.mail.protection.outlook.com:587: nothing answers there",
            "connect",
            "device.wrong-endpoint",
            "port 25",
            id="wrong-port",
        ),
        pytest.param(
            "TLS failed: WRONG_VERSION_NUMBER", "TLS", "device.tls-failed", "AllowLegacyTLSClients", id="tls"
        ),
        pytest.param(
            "the server closed the connection (Connection unexpectedly closed)",
            "connect",
            "device.disconnected",
            "STARTTLS",
            id="closed",
        ),
        pytest.param(
            "connection failed: [Errno 111] refused", "connect", "generic.no-reply", "port", id="other"
        ),
        pytest.param(None, "connect", "generic.no-reply", "port", id="nothing"),
    ],
)
def test_no_reply(error: str | None, step: str, rule: str, words: str) -> None:
    found = explain(None, error=error)
    assert (found.step, found.rule) == (step, rule)
    assert words in found.fix


# -- unknown replies: explained by their code class ------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "step", "rule", "words"),
    [
        pytest.param(R.Reply(250, "2.9.9", "Fine"), "delivered", "generic.2xx", "accepted", id="2xx"),
        pytest.param(R.Reply(334, None, "c29tZXRoaW5n"), "DATA", "generic.3xx", "waits", id="3xx"),
        pytest.param(
            R.Reply(421, None, "Service not available"), "connect", "generic.4xx", "temporary", id="4xx"
        ),
        pytest.param(R.Reply(550, "5.7.999", "Nope"), "connect", "generic.5xx", "permanent", id="5xx"),
        pytest.param(
            R.Reply(550, "5.1.99", "No such user"), "RCPT TO", "generic.5xx", "permanent", id="5.1.x"
        ),
        pytest.param(R.Reply(552, "5.3.9", "Too big"), "DATA", "generic.5xx", "permanent", id="5.3.x"),
    ],
)
def test_unknown_replies_are_generic(reply: R.Reply, step: str, rule: str, words: str) -> None:
    found = explain(reply)
    assert found.generic
    assert (found.step, found.rule) == (step, rule)
    assert words in found.headline
    assert str(reply.code) in found.headline


def test_filled_replaces_placeholders() -> None:
    found = explain(R.AUTH_DISABLED_TENANT).filled({"mailbox": "scanner@contoso.com"})
    assert (
        "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false" in found.fix
    )
    assert isinstance(found, Explanation)
    assert str(found).startswith("[AUTH] ")


@pytest.mark.parametrize(
    ("where", "external", "rule", "words"),
    [
        pytest.param("Inbox", False, "delivery.inbox", "Nothing", id="inbox"),
        pytest.param("Junk Email", False, "antispam.compauth-fail", "v=spf1 ip4:", id="junk"),
        pytest.param("quarantine", False, "antispam.dmarc-quarantine", "v=spf1 ip4:", id="quarantine"),
        pytest.param("Junk Email", True, "outside.spf-fail", "v=spf1 ip4:", id="fabrikam-junk"),
        pytest.param("failed", True, "outside.refused", "Get-MessageTraceDetail", id="fabrikam-refused"),
        pytest.param("pending", False, "submission.limit.per-minute", "spread", id="pending"),
        pytest.param("somewhere", False, "delivery.unknown", "message trace", id="unknown"),
    ],
)
def test_outcomes(where: str, external: bool, rule: str, words: str) -> None:
    found = explain_outcome(where, external=external)
    assert found.step == "delivered"
    assert found.rule == rule
    assert words in found.fix


def _policy_rules() -> dict[str, set[str]]:
    """{catalogue name: rules} for every `Decision(R.NAME..., "rule"` the policy modules write."""
    import pathlib

    from mailflow_lab import policy

    found: dict[str, set[str]] = {}
    pattern = re.compile(r'Decision\(\s*R\.(\w+)(?:\([^)]*\))?,\s*"([\w.-]+)"')
    for path in pathlib.Path(policy.__file__).parent.glob("*.py"):
        for name, rule in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(rule)
    return found


def test_refusals_carry_the_policy_rule_name() -> None:
    """Where a policy module refuses with a catalogue reply, the explanation names that module's rule."""
    rules = _policy_rules()
    assert rules, "no Decision(R...) found in the policy modules"
    checked = 0
    for name, policy_rules in rules.items():
        args = EXPECTED[name][-1][0]
        reply = _reply(catalogue()[name], args)
        if reply.accepted:
            continue
        assert explain(reply).rule in policy_rules, name
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("name", ["AUTH_BAD_CREDENTIALS", "DBEB_REJECTED", "NEED_RCPT", "RELAY_DENIED"])
def test_a_reply_with_its_diagnostic_suffix_is_explained_as_without(name: str) -> None:
    bare = catalogue()[name]
    sent = R.Reply.from_text(
        R.with_diagnostics(str(bare), R.EOP_DIAG, "2026-01-01T08:26:31.592Z", "08DB72B25E50380B")
    )
    assert sent != bare and explain(sent) == explain(bare)
