"""The decision wizard's logic against every row of the [MFD] comparison table, and over every answer set."""

from __future__ import annotations

import ipaddress
import itertools
import re

import pytest

from mailflow_lab.policy.advice import (
    COMPARISON,
    OPTIONS,
    QUESTIONS,
    TITLES,
    DeviceFacts,
    Recommendation,
    recommend,
    relay_fits,
    smtp_auth_fits,
)

MX = "contoso-com.mail.protection.outlook.com"
SCANNER = DeviceFacts(can_sign_in=True, tls12_starttls_587=True, smtp_auth_allowed=True)
PRINTER = DeviceFacts()  # cannot sign in, no TLS 1.2 on 587, nothing else
OFFICE_RELAY = DeviceFacts(needs_external=True, static_ip=True)
SPF_WITH_OFFICE = 'contoso.com. 3600 IN TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all"'


def facts(base: DeviceFacts = PRINTER, **answers: bool) -> DeviceFacts:
    return DeviceFacts(**{**{n: getattr(base, n) for n in DeviceFacts.names()}, **answers})


ALL_FACTS = [DeviceFacts(*values) for values in itertools.product([False, True], repeat=8)]


def test_the_table_has_the_sheets_twelve_rows_for_each_option() -> None:
    assert list(COMPARISON) == [
        "Server",
        "Port",
        "TLS",
        "Authentication",
        "Sender address",
        "Internal recipients",
        "External recipients",
        "Anti-spam",
        "Hosted by a third party",
        "Saves to Sent Items",
        "Limits",
        "Needs a static IP",
    ]
    assert all(set(row) == set(OPTIONS) for row in COMPARISON.values())
    assert set(QUESTIONS) == set(DeviceFacts.names())


# -- one test per row of the comparison table --------------------------------------------------------------
@pytest.mark.parametrize(
    ("device", "option", "server"),
    [(SCANNER, "smtp-auth", "smtp.office365.com"), (PRINTER, "direct-send", MX), (OFFICE_RELAY, "relay", MX)],
)
def test_row_server(device: DeviceFacts, option: str, server: str) -> None:
    rec = recommend(device)
    assert rec.option == option and rec.device_settings["Server"] == server
    # [MFD]: the DNS name, never an IP address.
    with pytest.raises(ValueError):
        ipaddress.ip_address(rec.device_settings["Server"])
    assert recommend(PRINTER, domain="fabrikam.example").device_settings["Server"] == (
        "fabrikam-example.mail.protection.outlook.com"
    )


def test_row_port() -> None:
    assert recommend(SCANNER).device_settings["Port"] == "587"
    # A device that only offers port 465 (implicit TLS) cannot use SMTP AUTH: port 25 direct send instead.
    port_465 = facts(SCANNER, tls12_starttls_587=False)
    rec = recommend(port_465)
    assert rec.option == "direct-send" and rec.device_settings["Port"] == "25"
    assert "port 465" in rec.blocked["smtp-auth"]
    assert recommend(facts(port_465, needs_external=True, static_ip=True)).device_settings["Port"] == "25"


def test_row_tls() -> None:
    assert "TLS 1.2" in recommend(SCANNER).device_settings["TLS"]
    # TLS 1.0 only: SMTP AUTH refuses it (421 4.7.66), but TLS is optional for direct send and relay.
    tls10 = facts(SCANNER, tls12_starttls_587=False)
    assert "4.7.66" in recommend(tls10).blocked["smtp-auth"]
    assert "optional" in recommend(tls10).device_settings["TLS"]
    relay = recommend(facts(tls10, needs_external=True, static_ip=True))
    assert relay.option == "relay" and "smtp-auth" in relay.blocked


def test_row_authentication() -> None:
    basic, oauth = recommend(SCANNER), recommend(facts(SCANNER, supports_oauth=True))
    assert basic.device_settings["User name"] == "scanner@contoso.com"
    assert basic.device_settings["Authentication"] == "User name and password (AUTH LOGIN)"
    assert oauth.device_settings["Authentication"] == "OAuth 2.0 (XOAUTH2)"
    # No sign-in: the connector identifies the device by its address, or by its certificate.
    by_ip = recommend(OFFICE_RELAY)
    assert by_ip.relay_by == "ip" and "203.0.113.10" in by_ip.device_settings["Authentication"]
    assert by_ip.tenant_steps[0] == (
        'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
        "-SenderIPAddresses 203.0.113.10"
    )
    by_cert = recommend(facts(needs_external=True, has_certificate=True))
    assert by_cert.relay_by == "certificate" and by_cert.device_settings["Client certificate"] == (
        "relay.contoso.com"
    )
    assert "-TlsSenderCertificateName relay.contoso.com" in by_cert.tenant_steps[0]
    assert recommend(PRINTER).device_settings["Authentication"] == "None"
    # OAuth alone is no way in: it signs in as a mailbox too.
    assert recommend(facts(SCANNER, can_sign_in=False, supports_oauth=True)).option == "direct-send"


def test_row_sender_address() -> None:
    assert recommend(SCANNER).device_settings["Sender (From)"] == "scanner@contoso.com"
    assert any("SendAs" in n for n in recommend(SCANNER).notes)
    # Direct send and relay: any address in an accepted domain, no mailbox needed.
    assert recommend(PRINTER).device_settings["Sender (From)"] == "printer@contoso.com"
    assert recommend(OFFICE_RELAY, sender="copier@contoso.com").device_settings["Sender (From)"] == (
        "copier@contoso.com"
    )


def test_row_internal_recipients() -> None:
    # Internal recipients rule no option out: SMTP AUTH when it fits, else direct send (a connector too).
    internal = [f for f in ALL_FACTS if not f.needs_external]
    assert {recommend(f).option for f in internal} == {"smtp-auth", "direct-send"}
    assert all("recipient" not in " ".join(recommend(f).blocked.values()) for f in internal)
    assert "relay" in recommend(facts(static_ip=True)).also_possible


def test_row_external_recipients() -> None:
    rec = recommend(facts(needs_external=True))
    assert "550 5.7.64 TenantAttribution; Relay Access Denied" in rec.blocked["direct-send"]
    assert recommend(facts(SCANNER, needs_external=True)).option == "smtp-auth"
    assert recommend(OFFICE_RELAY).option == "relay"


def test_row_anti_spam() -> None:
    # Why SMTP AUTH beats direct send for internal mail: anti-spam (SPF) applies to direct send.
    rec = recommend(SCANNER)
    assert rec.option == "smtp-auth" and "anti-spam" in rec.also_possible["direct-send"]
    direct = recommend(facts(static_ip=True))
    assert direct.option == "direct-send" and SPF_WITH_OFFICE in direct.tenant_steps
    assert "Anti-spam: applied; SPF matters." in direct.notes
    assert "Anti-spam: bypassed for mail to own mailboxes." in rec.notes


def test_row_hosted_by_a_third_party() -> None:
    cloud = facts(hosted_by_third_party=True)
    # SMTP AUTH works from anywhere.
    assert recommend(facts(SCANNER, hosted_by_third_party=True, needs_external=True)).option == "smtp-auth"
    # Direct send works: add the provider to SPF.
    direct = recommend(cloud)
    assert direct.option == "direct-send"
    assert 'contoso.com. 3600 IN TXT "v=spf1 include:<your provider' in direct.tenant_steps[1]
    # A connector by IP does not: the provider's addresses are shared, even if "static".
    shared = recommend(facts(cloud, needs_external=True, static_ip=True))
    assert shared.option == "none" and "not yours" in shared.blocked["relay"]
    # ... unless a certificate connector is used.
    assert recommend(facts(cloud, needs_external=True, has_certificate=True)).relay_by == "certificate"


def test_row_saves_to_sent_items() -> None:
    assert "Saves to Sent Items: yes." in recommend(SCANNER).notes
    assert "Sent Items" in recommend(SCANNER).reason
    assert "Saves to Sent Items: no." in recommend(PRINTER).notes
    assert "Saves to Sent Items: no." in recommend(OFFICE_RELAY).notes


def test_row_limits() -> None:
    assert "Limits: 10,000 recipients per day, 30 messages per minute." in recommend(SCANNER).notes
    assert "Limits: standard throttling." in recommend(PRINTER).notes
    assert "Limits: reasonable limits." in recommend(OFFICE_RELAY).notes


def test_row_needs_a_static_ip() -> None:
    # Relay needs one, unless a certificate connector is used.
    dynamic = recommend(facts(needs_external=True))
    assert dynamic.option == "none" and "static public IP" in dynamic.blocked["relay"]
    assert recommend(facts(needs_external=True, has_certificate=True)).option == "relay"
    # Direct send: recommended, not required.
    internal = recommend(PRINTER)
    assert internal.option == "direct-send" and "Junk Email" in internal.reason
    assert "Needs a static IP: recommended, not required." in internal.notes
    assert not internal.dns_lines()
    # SMTP AUTH: no.
    assert recommend(facts(SCANNER, needs_external=True)).option == "smtp-auth"


# -- every answer set -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "device", ALL_FACTS, ids=lambda f: "".join("1" if v else "0" for v in vars(f).values())
)
def test_every_answer_set_gets_a_consistent_recommendation(device: DeviceFacts) -> None:
    rec = recommend(device)
    assert rec.title == TITLES[rec.option] and rec.facts == device
    if device.needs_external:
        assert rec.option != "direct-send"
    if device.hosted_by_third_party and not device.has_certificate:
        assert rec.option != "relay"
    if not (device.static_ip or device.has_certificate):
        assert rec.option != "relay"
    if not (device.tls12_starttls_587 and device.can_sign_in and device.smtp_auth_allowed):
        assert rec.option != "smtp-auth"
    # The preference order: SMTP AUTH, then a connector for outside recipients, then direct send.
    if smtp_auth_fits(device):
        assert rec.option == "smtp-auth"
    elif device.needs_external:
        assert rec.option == ("relay" if relay_fits(device) else "none")
    else:
        assert rec.option == "direct-send"
    # One or two sentences a learner reads.
    assert rec.reason and len(re.findall(r"[.!?](?:\s|$)", rec.reason)) <= 2
    # Every other option is explained: either it does not fit, or why it is not preferred.
    assert rec.option not in rec.blocked and rec.option not in rec.also_possible
    assert set(rec.blocked) | set(rec.also_possible) == set(OPTIONS) - {rec.option}
    assert not set(rec.blocked) & set(rec.also_possible)
    assert all(text.strip() for text in [*rec.blocked.values(), *rec.also_possible.values()])
    if rec.option == "none":
        assert rec.alternatives and not rec.device_settings and not rec.tenant_steps
        assert set(rec.blocked) == set(OPTIONS)
    else:
        _assert_names_its_settings_and_steps(rec)


def _assert_names_its_settings_and_steps(rec: Recommendation) -> None:
    settings = rec.device_settings
    assert list(settings)[:3] == ["Server", "Port", "TLS"] and "User name" in settings
    assert "Sender (From)" in settings and settings["Sender (From)"].endswith("@contoso.com")
    assert rec.tenant_steps
    if rec.option == "smtp-auth":
        assert (settings["Server"], settings["Port"]) == ("smtp.office365.com", "587")
        assert rec.tenant_steps[0] == (
            "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false"
        )
    else:
        assert (settings["Server"], settings["Port"]) == (MX, "25")
        assert settings["User name"] == "(leave empty)"
    if rec.option == "relay":
        assert rec.tenant_steps[0].startswith(
            'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
        )
        if rec.relay_by == "ip":
            assert SPF_WITH_OFFICE in rec.tenant_steps
    if rec.option == "direct-send":
        assert rec.tenant_steps[0] == "Get-OrganizationConfig | Format-List RejectDirectSend"
        assert (SPF_WITH_OFFICE in rec.tenant_steps) == (
            rec.facts.static_ip and not rec.facts.hosted_by_third_party
        )
    for line in rec.dns_lines():
        assert line.startswith('contoso.com. 3600 IN TXT "v=spf1 ') and line.endswith(' ~all"')
    assert set(rec.powershell_lines()) | set(rec.dns_lines()) == set(rec.tenant_steps)


def test_lab_values_can_be_changed() -> None:
    rec = recommend(OFFICE_RELAY, domain="northwind.example", ip="198.51.100.7", connector_name="Copiers")
    assert rec.device_settings["Server"] == "northwind-example.mail.protection.outlook.com"
    assert rec.tenant_steps == (
        'New-InboundConnector -Name "Copiers" -ConnectorType OnPremises -SenderDomains * '
        "-SenderIPAddresses 198.51.100.7",
        'northwind.example. 3600 IN TXT "v=spf1 ip4:198.51.100.7 include:spf.protection.outlook.com ~all"',
    )
    assert recommend(SCANNER, mailbox="mfp@northwind.example").device_settings["User name"] == (
        "mfp@northwind.example"
    )


def test_nothing_fits_names_the_newer_ways_and_whether_they_would_carry_the_mail() -> None:
    # Signs in with TLS 1.2 on 587, but SMTP AUTH may not be turned on: Azure Communication Services fits.
    rec = recommend(facts(can_sign_in=True, tls12_starttls_587=True, needs_external=True))
    acs, hve, *others = rec.alternatives
    assert rec.option == "none" and others
    assert acs.startswith("Azure Communication Services Email: smtp.azurecomm.net port 587 with STARTTLS")
    assert acs.endswith("It fits this device: it signs in with TLS 1.2 on port 587.")
    # HVE takes internal recipients only, and "none" always means outside recipients.
    assert hve.startswith("High Volume Email (HVE): smtp-hve.office365.com port 587")
    assert hve.endswith("Not for this device's outside recipients.")
    # A port-465 device cannot use ACS either (STARTTLS on 587 again), but it gets a way forward.
    old = recommend(facts(can_sign_in=True, smtp_auth_allowed=True, needs_external=True))
    assert "Not for this device as it is" in old.alternatives[0]
    assert any("firmware" in a for a in old.alternatives)
    # Basic auth is on its way out: a password-only scanner hears about it, and where to go next.
    basic = recommend(SCANNER)
    assert any("December 2026" in n for n in basic.notes)
    assert any(a.startswith("High Volume Email (HVE): smtp-hve.office365.com") for a in basic.alternatives)
    assert not recommend(facts(SCANNER, supports_oauth=True)).alternatives


def test_recommendation_prints_as_text() -> None:
    text = str(recommend(OFFICE_RELAY))
    assert text.startswith("SMTP relay through an inbound connector: ")
    assert "Server: contoso-com.mail.protection.outlook.com" in text and "New-InboundConnector" in text
