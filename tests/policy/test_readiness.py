"""The readiness rules, table by table: recorded sessions and a tenant in, a verdict per option out."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.policy.devices import DeviceKey, group_devices, role_of, world_servers
from mailflow_lab.policy.observed import AuthAttempt, Recipient, SessionRecord, Transaction
from mailflow_lab.policy.readiness import assess, assess_all
from mailflow_lab.world.model import InboundConnector, World

MX = "contoso-com.mail.protection.outlook.com"
OFFICE = "203.0.113.10"
BRANCH = "198.51.100.23"


def seen(reply: R.Reply) -> R.Reply:
    return R.Reply(reply.code, reply.enhanced, reply.text)


def session(
    endpoint: str = "smtp.office365.com",
    port: int = 587,
    *,
    tls: str | None = "TLSv1.3",
    auth: tuple[str, str | None, R.Reply] | None = None,
    login: str | None = None,
    mail_from: str | None = None,
    to: tuple[str, ...] = (),
    rcpt_reply: R.Reply = R.RECIPIENT_OK,
    delivered: bool = False,
    client_ip: str = OFFICE,
    **fields: Any,
) -> SessionRecord:
    """One recorded session, as the lab would write it."""
    record = SessionRecord(
        endpoint, port, peer_ip="127.0.0.1", client_ip=client_ip, ehlo="dev.local", commands=5
    )
    record.starttls = tls is not None
    record.tls_version = tls
    if auth is not None:
        mechanism, user, reply = auth
        record.auth.append(AuthAttempt(mechanism, user, seen(reply)))
    record.login = login
    if mail_from is not None:
        transaction = Transaction(mail_from, seen(R.SENDER_OK))
        transaction.recipients = [Recipient(a, seen(rcpt_reply)) for a in to]
        if delivered:
            transaction.data_reply = R.Reply(250, "2.0.0", "OK")
        record.transactions.append(transaction)
    for name, value in fields.items():
        setattr(record, name, value)
    return record


SCANNER = "scanner@contoso.com"
ALEX = "alex@contoso.com"
SIGNED_IN = ("LOGIN", SCANNER, R.AUTH_OK)
SCANNER_SENDS = {"auth": SIGNED_IN, "login": SCANNER, "mail_from": SCANNER, "to": (ALEX,), "delivered": True}

# (case, sessions, tenant settings, mailbox changes, option, status, rules that block it)
ROWS: list[tuple[str, list[SessionRecord], dict[str, Any], dict[str, Any], str, str, list[str]]] = [
    ("scanner signs in and sends", [session(**SCANNER_SENDS)], {}, {}, "smtp-auth", "works", []),
    (
        "implicit TLS on 587",
        [session(tls=None, implicit_tls=True, commands=0)],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.implicit-tls"],
    ),
    (
        "implicit TLS blocks the MX options too",
        [session(tls=None, implicit_tls=True, commands=0)],
        {},
        {},
        "direct-send",
        "blocked",
        ["readiness.implicit-tls"],
    ),
    (
        "no STARTTLS",
        [session(tls=None, mail_from=SCANNER)],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.no-starttls"],
    ),
    (
        "TLS 1.0",
        [session(tls="TLSv1", closing_reply=seen(R.TLS_LEGACY_REFUSED))],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.legacy-tls"],
    ),
    (
        "TLS 1.1 at the legacy endpoint, allowed",
        [session("smtp-legacy.office365.com", tls="TLSv1.1", **SCANNER_SENDS)],
        {"allow_legacy_tls_clients": True},
        {},
        "smtp-auth",
        "works",
        [],
    ),
    (
        "TLS 1.1 at the legacy endpoint, not allowed",
        [session("smtp-legacy.office365.com", tls="TLSv1.1")],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.legacy-tls"],
    ),
    (
        "handshake failed",
        [session(tls=None, tls_failed=True)],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.tls-handshake"],
    ),
    ("no AUTH", [session(mail_from=SCANNER)], {}, {}, "smtp-auth", "blocked", ["readiness.no-auth"]),
    (
        "PLAIN only",
        [session(auth=("PLAIN", None, R.AUTH_UNRECOGNIZED))],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.auth-mechanism"],
    ),
    (
        "wrong password",
        [session(auth=("LOGIN", SCANNER, R.AUTH_BAD_CREDENTIALS))],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.bad-credentials"],
    ),
    (
        "shared mailbox",
        [session(auth=("LOGIN", "helpdesk@contoso.com", R.AUTH_BAD_CREDENTIALS))],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.bad-credentials"],
    ),
    (
        "alex follows the tenant (off)",
        [session(auth=("LOGIN", ALEX, R.AUTH_DISABLED_TENANT))],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.smtp-auth-disabled"],
    ),
    (
        "alex enabled since the attempt",
        [session(auth=("LOGIN", ALEX, R.AUTH_DISABLED_TENANT))],
        {},
        {"smtp_client_authentication_disabled": False},
        "smtp-auth",
        "ready",
        [],
    ),
    (
        "security defaults",
        [session(**SCANNER_SENDS)],
        {"security_defaults": True},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.security-defaults"],
    ),
    (
        "basic auth disabled, LOGIN",
        [session(**SCANNER_SENDS)],
        {"basic_auth_disabled": True},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.basic-auth-disabled"],
    ),
    (
        "basic auth disabled, XOAUTH2",
        [session(**{**SCANNER_SENDS, "auth": ("XOAUTH2", SCANNER, R.AUTH_OK)})],
        {"basic_auth_disabled": True, "security_defaults": True},
        {},
        "smtp-auth",
        "works",
        [],
    ),
    (
        "sender is not the login",
        [session(auth=SIGNED_IN, login=SCANNER, mail_from="helpdesk@contoso.com")],
        {},
        {},
        "smtp-auth",
        "blocked",
        ["readiness.send-as"],
    ),
    (
        "never at smtp.office365.com",
        [session(MX, 25, tls=None, mail_from="printer@contoso.com", to=(ALEX,))],
        {},
        {},
        "smtp-auth",
        "untested",
        [],
    ),
    (
        "direct send to a mailbox",
        [session(MX, 25, tls=None, mail_from="printer@contoso.com", to=(ALEX,), delivered=True)],
        {},
        {},
        "direct-send",
        "works",
        [],
    ),
    (
        "direct send outside",
        [
            session(
                MX, 25, mail_from="printer@contoso.com", to=("pat@fabrikam.com",), rcpt_reply=R.RELAY_DENIED
            )
        ],
        {},
        {},
        "direct-send",
        "blocked",
        ["readiness.direct-send-external"],
    ),
    (
        "RejectDirectSend",
        [session(MX, 25, mail_from="printer@contoso.com", to=(ALEX,), rcpt_reply=R.DIRECT_SEND_REJECTED)],
        {"reject_direct_send": True},
        {},
        "direct-send",
        "blocked",
        ["readiness.reject-direct-send"],
    ),
    (
        "a sender outside the accepted domains",
        [session(MX, 25, mail_from="printer@example.net", to=(ALEX,))],
        {},
        {},
        "direct-send",
        "blocked",
        ["readiness.sender-domain"],
    ),
    (
        "no connector",
        [session(MX, 25, mail_from="printer@contoso.com", to=("pat@fabrikam.com",))],
        {},
        {},
        "relay",
        "blocked",
        ["readiness.no-connector"],
    ),
]


@pytest.mark.parametrize(
    ("sessions", "settings", "mailbox", "option", "status", "rules"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_verdicts(
    world: World,
    sessions: list[SessionRecord],
    settings: dict[str, Any],
    mailbox: dict[str, Any],
    option: str,
    status: str,
    rules: list[str],
) -> None:
    for name, value in settings.items():
        setattr(world.tenant.settings, name, value)
    for name, value in mailbox.items():
        setattr(world.tenant.find_mailbox(ALEX), name, value)
    (device,) = assess_all(sessions, world, MX)
    verdict = device.option(option)
    assert [b.rule for b in verdict.blockers] == rules
    assert verdict.status == status
    assert verdict.usable_today == (status in ("works", "ready"))


# (case, the rule, the exact fix: device settings and tenant lines)
FIXES = [
    (
        "readiness.smtp-auth-disabled",
        [session(auth=("LOGIN", ALEX, R.AUTH_DISABLED_TENANT))],
        "smtp-auth",
        (),
        ("Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false",),
    ),
    (
        "readiness.security-defaults",
        [session(**SCANNER_SENDS)],
        "smtp-auth",
        ("Authentication: OAuth 2.0 (XOAUTH2), if the device offers it",),
        ("Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false",),
    ),
    (
        "readiness.send-as",
        [session(auth=SIGNED_IN, login=SCANNER, mail_from="helpdesk@contoso.com")],
        "smtp-auth",
        ("Sender (From): scanner@contoso.com",),
        (
            "Add-RecipientPermission -Identity helpdesk@contoso.com -Trustee scanner@contoso.com "
            "-AccessRights SendAs",
        ),
    ),
    (
        "readiness.legacy-tls",
        [session(tls="TLSv1")],
        "smtp-auth",
        (
            "Firmware: update it to one with TLS 1.2",
            "or Server: smtp-legacy.office365.com (the opt-in endpoint)",
        ),
        ("Set-TransportConfig -AllowLegacyTLSClients $true",),
    ),
    (
        "readiness.reject-direct-send",
        [session(MX, 25, mail_from="printer@contoso.com", to=(ALEX,))],
        "direct-send",
        (),
        ("Set-OrganizationConfig -RejectDirectSend $false", "or add an inbound connector (see relay)"),
    ),
    (
        "readiness.no-connector",
        [session(MX, 25, mail_from="printer@contoso.com", to=("pat@fabrikam.com",))],
        "relay",
        (),
        (
            'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
            "-SenderIPAddresses 203.0.113.10",
            'contoso.com. 3600 IN TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all"',
        ),
    ),
    (
        "readiness.no-connector",
        [session(MX, 25, mail_from="copier@contoso.com", client_ip=BRANCH, to=("pat@fabrikam.com",))],
        "relay",
        (
            "Client certificate: one for relay.contoso.com (CN or SAN in contoso.com), "
            "presented after STARTTLS",
        ),
        (
            'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
            "-TlsSenderCertificateName relay.contoso.com -RequireTls $true",
        ),
    ),
    (
        "readiness.no-connector",
        [
            session(
                MX,
                25,
                mail_from="copier@contoso.com",
                client_ip=BRANCH,
                cert_names=["copier.contoso.com"],
                to=("pat@fabrikam.com",),
            )
        ],
        "relay",
        (),
        (
            'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
            "-TlsSenderCertificateName copier.contoso.com -RequireTls $true",
        ),
    ),
]


@pytest.mark.parametrize(("rule", "sessions", "option", "device", "tenant"), FIXES)
def test_each_blocker_names_its_fix(
    world: World, rule: str, sessions: list[SessionRecord], option: str, device: tuple, tenant: tuple
) -> None:
    world.tenant.settings.security_defaults = rule == "readiness.security-defaults"
    world.tenant.settings.reject_direct_send = rule == "readiness.reject-direct-send"
    (found,) = assess_all(sessions, world, MX)
    (blocker,) = [b for b in found.option(option).blockers if b.rule == rule]
    assert blocker.device == device
    assert blocker.tenant == tenant


def test_the_dynamic_branch_address_cannot_go_in_a_connector(world: World) -> None:
    (device,) = assess_all([session(MX, 25, client_ip=BRANCH, mail_from="copier@contoso.com")], world, MX)
    assert "is dynamic, so it cannot go in a connector" in device.option("relay").blockers[0].why


def test_a_connector_by_ip_makes_relay_usable_and_lets_direct_send_reach_outside(world: World) -> None:
    world.tenant.inbound_connectors.append(
        InboundConnector("Office", sender_ip_addresses=[ipaddress.ip_network(f"{OFFICE}/32")])
    )
    records = [session(MX, 25, mail_from="printer@contoso.com", to=("pat@fabrikam.com",), delivered=True)]
    (device,) = assess_all(records, world, MX)
    assert device.option("relay").status == "works"
    assert device.option("relay").notes == ("Inbound connector 'Office' recognises this device.",)
    assert device.recommended == "relay"  # outside recipients: the connector, not direct send


def test_smtp_auth_is_preferred_when_it_works(world: World) -> None:
    records = [session(**SCANNER_SENDS), session(MX, 25, mail_from=SCANNER, to=(ALEX,), delivered=True)]
    (device,) = assess_all(records, world, MX)
    assert device.usable_today == ("smtp-auth", "direct-send")
    assert device.recommended == "smtp-auth"
    assert device.to_dict()["usable_today"] == ["smtp-auth", "direct-send"]


def test_the_latest_session_is_the_device_as_it_is_set_now(world: World) -> None:
    before = session(tls=None, mail_from=SCANNER, started="2026-01-01T10:00:00")
    after = session(**SCANNER_SENDS, started="2026-01-01T10:05:00")
    (device,) = assess_all([before, after], world, MX)
    assert device.option("smtp-auth").status == "works" and device.sessions == 2


def test_devices_are_told_apart_by_address_and_ehlo_name(world: World) -> None:
    a = session(ehlo="copier-1.local")
    b = session(ehlo="copier-2.local")
    c = session(ehlo="copier-1.local", peer_ip="192.0.2.7")
    declared = session(ehlo="copier-1.local", xclient=True, client_ip=BRANCH)
    outside = session("mail.fabrikam.com", 25, ehlo="copier-1.local")
    devices = group_devices([a, b, c, declared, outside], MX)
    assert list(devices) == [
        DeviceKey("127.0.0.1", "copier-1.local"),
        DeviceKey("127.0.0.1", "copier-2.local"),
        DeviceKey("192.0.2.7", "copier-1.local"),
        DeviceKey(BRANCH, "copier-1.local"),  # a lab client that declared its address (XCLIENT)
    ]
    assert [role_of(r, MX) for r in (a, outside)] == ["submission", "other"]
    assert str(DeviceKey("127.0.0.1", None)) == "(no EHLO name) at 127.0.0.1"
    report = assess(
        DeviceKey("127.0.0.1", "copier-1.local"), devices[DeviceKey("127.0.0.1", "copier-1.local")], world, MX
    )
    assert report.appears_as == (OFFICE,)


def test_a_filter_of_the_world_relaying_into_the_mx_is_no_device(world: World) -> None:
    (litware,) = world.filters
    relay = session(MX, 25, ehlo=litware.host, xclient=True, client_ip=str(litware.public_ip))
    printer = session(MX, 25, ehlo="printer.local")
    assert list(group_devices([relay, printer], MX, world_servers(world))) == [
        DeviceKey("127.0.0.1", "printer.local")
    ]
    assert [str(device.device) for device in assess_all([relay, printer], world, MX)] == [
        "printer.local at 127.0.0.1"
    ]


def test_spf_failure_is_a_note_with_the_record_to_publish(world: World) -> None:
    records = [session(MX, 25, mail_from="printer@contoso.com", to=(ALEX,), delivered=True)]
    (device,) = assess_all(records, world, MX, spf={(OFFICE, "printer@contoso.com"): "fail"})
    assert device.option("direct-send").notes == (
        "SPF of printer@contoso.com from 203.0.113.10 is fail: anti-spam may file its mail in Junk Email. "
        'Publish: contoso.com. 3600 IN TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all"',
    )
