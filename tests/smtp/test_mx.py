"""The tenant MX and Fabrikam's server over real sockets: direct send, connectors, anti-spam verdicts."""

from __future__ import annotations

import ipaddress
import re
import smtplib

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.world.model import InboundConnector

MX = "contoso-com.mail.protection.outlook.com"
OFFICE_SPF = ['"v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"', '"MS=ms48123456"']


def printer(**overrides: object) -> Device:
    settings: dict[str, object] = {
        "name": "Warehouse printer",
        "server": MX,
        "port": 25,
        "tls": "none",
        "sender": "printer@contoso.com",
    }
    settings.update(overrides)
    return Device(**settings)  # type: ignore[arg-type]


def subjects(lab: Lab) -> list[str]:
    found = []
    for address in [m.address for m in lab.world.tenant.mailboxes] + ["pat@fabrikam.com"]:
        view = lab.mailbox(address)
        for folder in view.folders():
            found += [str(m["Subject"]) for m in view.folder(folder)]
    return found + [str(m["Subject"]) for m in lab.quarantine()]


def connector(**fields: object) -> InboundConnector:
    return InboundConnector(name=str(fields.pop("name", "Office printers")), **fields)  # type: ignore[arg-type]


def test_mx_ehlo_offers_no_auth_and_optional_starttls(lab: Lab) -> None:
    host, port = lab.endpoint(MX, 25)
    with smtplib.SMTP(host, port, timeout=10) as client:
        code, text = client.ehlo("printer.local")
    lines = text.decode().splitlines()
    assert code == 250 and lines[0] == "AM4PEPF00027A6C.mail.protection.outlook.com Hello [203.0.113.10]"
    assert "STARTTLS" in lines and not any(line.startswith("AUTH") for line in lines)


def test_direct_send_with_spf_fail_lands_in_junk(lab: Lab) -> None:
    result = printer().send(lab, to="alex@contoso.com", subject="Toner low")
    assert result.accepted and result.reply is not None
    assert (result.reply.code, result.reply.enhanced) == (250, "2.6.0")
    assert result.reply.text.endswith("Queued mail for delivery")
    assert result.outcome["alex@contoso.com"].where == "Junk Email"
    (message,) = lab.mailbox("alex@contoso.com").folder("Junk Email")
    assert str(message["Authentication-Results"]).startswith(
        "spf=fail (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com; dkim=none (message not signed) "
        "header.d=none;dmarc=fail action=none header.from=contoso.com;compauth=fail reason=601"
    )
    assert str(message["Received-SPF"]).startswith(
        "Fail (protection.outlook.com: domain of contoso.com does not designate 203.0.113.10 "
        "as permitted sender)"
    )
    assert str(message["X-MS-Exchange-Organization-AuthAs"]) == "Anonymous"
    assert "SCL:5;" in str(message["X-Forefront-Antispam-Report"])
    assert "CAT:SPOOF;" in str(message["X-Forefront-Antispam-Report"])
    (record,) = lab.message_trace()
    assert record.status == "FilteredAsSpam" and "SPAM" in [e.event for e in record.events]


def test_adding_the_office_ip_to_spf_fixes_it(lab: Lab) -> None:
    lab.dns.set_records("contoso.com", "TXT", OFFICE_SPF)
    result = printer().send(lab, to="alex@contoso.com", subject="Toner low")
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    (message,) = lab.mailbox("alex@contoso.com").folder("Inbox")
    assert "spf=pass" in str(message["Authentication-Results"])
    assert "compauth=pass reason=100" in str(message["Authentication-Results"])
    assert lab.message_trace()[0].status == "Delivered"


def test_direct_send_cannot_reach_outside(lab: Lab) -> None:
    result = printer().send(lab, to="pat@fabrikam.com", subject="Outside")
    assert result.reply is not None and str(result.reply).startswith(
        "550 5.7.64 TenantAttribution; Relay Access Denied ["
    )
    assert subjects(lab) == [] and lab.message_trace() == []


def test_unknown_internal_recipient(lab: Lab) -> None:
    """Directory-Based Edge Blocking: refused at RCPT, with the suffix naming EOP, nothing stored."""
    result = printer().send(lab, to="nobody@contoso.com", subject="Lost")
    assert result.step == "RCPT" and result.reply is not None
    assert str(result.reply.without_diagnostics()) == str(R.DBEB_REJECTED)
    assert re.search(rf" \[{re.escape(R.EOP_DIAG)} \S+Z [0-9A-F]{{16}}\]$", result.reply.text)
    assert subjects(lab) == [] and lab.message_trace() == []


def test_reject_direct_send_closes_the_door(lab: Lab) -> None:
    lab.world.tenant.settings.reject_direct_send = True
    result = printer().send(lab, to="alex@contoso.com", subject="Blocked")
    assert result.reply is not None and str(result.reply.without_diagnostics()) == (
        "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from "
        "unauthorized sources"
    )
    assert subjects(lab) == [] and lab.message_trace() == []
    # A connector for the office address lets the same device through again.
    lab.world.tenant.inbound_connectors.append(
        connector(sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")])
    )
    assert printer().send(lab, to="alex@contoso.com", subject="Via connector").accepted


@pytest.mark.parametrize(
    ("dmarc", "where", "status"),
    [("quarantine", "quarantine", "Quarantined"), ("none", "Junk Email", "FilteredAsSpam")],
)
def test_dmarc_policy_decides_the_spoof_outcome(lab: Lab, dmarc: str, where: str, status: str) -> None:
    lab.dns.set_records("_dmarc.contoso.com", "TXT", [f'"v=DMARC1; p={dmarc}"'])
    result = printer().send(lab, to="alex@contoso.com", subject="Spoofy")
    assert result.outcome["alex@contoso.com"].where == where
    assert lab.message_trace()[0].status == status


def test_dmarc_reject_refuses_in_the_session(lab: Lab) -> None:
    lab.dns.set_records("_dmarc.contoso.com", "TXT", ['"v=DMARC1; p=reject"'])
    result = printer().send(lab, to="alex@contoso.com", subject="Rejected spoof")
    assert result.reply is not None and str(result.reply.without_diagnostics()) == (
        "550 5.7.509 Access denied, sending domain [CONTOSO.COM] does not pass DMARC verification and has a "
        "DMARC policy of reject."
    )
    assert subjects(lab) == []


def test_spoofing_fabrikam_is_refused_by_its_dmarc(lab: Lab) -> None:
    result = printer(sender="pat@fabrikam.com").send(lab, to="alex@contoso.com", subject="Fake Pat")
    assert result.reply is not None and "[FABRIKAM.COM]" in result.reply.text and result.reply.code == 550


def test_connector_by_ip_relays_to_fabrikam(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        connector(sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")])
    )
    result = printer().send(lab, to=["pat@fabrikam.com", "alex@contoso.com"], subject="Invoice")
    assert result.accepted
    assert result.outcome["pat@fabrikam.com"].where == "Inbox"
    assert result.outcome["alex@contoso.com"].where == "Inbox"
    (message,) = lab.mailbox("pat@fabrikam.com").folder("Inbox")
    assert "spf=pass" in str(message["Authentication-Results"])
    assert "dmarc=pass" in str(message["Authentication-Results"])
    events = [e.rule for r in lab.message_trace() for e in r.events]
    assert "connector.relay" in events and "relay.sent" in events


def test_connector_ignores_other_addresses_and_disabled_connectors(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        connector(sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")], enabled=False)
    )
    assert printer().send(lab, to="pat@fabrikam.com").reply.enhanced == "5.7.64"  # type: ignore[union-attr]
    lab.world.tenant.inbound_connectors[0].enabled = True
    # The branch office (dynamic address) is not in the connector.
    branch = printer(source_ip=ipaddress.ip_address("198.51.100.23"))
    assert branch.send(lab, to="pat@fabrikam.com").reply.enhanced == "5.7.64"  # type: ignore[union-attr]


def test_connector_needs_an_accepted_sender_domain(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        connector(sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")])
    )
    result = printer(sender="printer@northwind.example").send(lab, to="pat@fabrikam.com")
    assert result.reply is not None and result.reply.enhanced == "5.7.64"


@pytest.mark.parametrize("name", ["relay.contoso.com", "*.contoso.com"])
def test_connector_by_certificate(lab: Lab, name: str) -> None:
    lab.world.tenant.inbound_connectors.append(connector(name="Cloud app", tls_sender_certificate_name=name))
    cloud = printer(
        tls="starttls", client_cert="relay.contoso.com", source_ip=ipaddress.ip_address("192.0.2.99")
    )
    result = cloud.send(lab, to="pat@fabrikam.com", subject="From the cloud")
    assert result.accepted and result.outcome["pat@fabrikam.com"].where == "Inbox"
    # Without the certificate, the same client is just anonymous.
    plain = printer(tls="starttls", source_ip=ipaddress.ip_address("192.0.2.99"))
    assert plain.send(lab, to="pat@fabrikam.com").reply.enhanced == "5.7.64"  # type: ignore[union-attr]


def test_require_tls_binds_partner_connectors_only(lab: Lab) -> None:
    # EOP sheet / New-InboundConnector: RequireTls applies only to Partner connectors.
    lab.world.tenant.inbound_connectors.append(
        connector(sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")], require_tls=True)
    )
    assert printer().send(lab, to="pat@fabrikam.com").accepted
    lab.world.tenant.inbound_connectors.append(
        connector(
            name="Fabrikam", connector_type="Partner", sender_domains=["fabrikam.com"], require_tls=True
        )
    )
    plain = printer(sender="pat@fabrikam.com", source_ip=ipaddress.ip_address("192.0.2.25"))
    refused = plain.send(lab, to="alex@contoso.com")
    assert refused.reply is not None and str(refused.reply.without_diagnostics()) == (
        "454 4.7.0 Failed to establish appropriate TLS channel: Access Denied"
    )
    plain.tls = "starttls"
    assert plain.send(lab, to="alex@contoso.com").accepted


def test_partner_connector_restricted_to_its_ip(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        connector(
            name="Fabrikam partner",
            connector_type="Partner",
            sender_domains=["fabrikam.com"],
            sender_ip_addresses=[ipaddress.ip_network("192.0.2.25/32")],
            restrict_domains_to_ip_addresses=True,
        )
    )
    result = printer(sender="pat@fabrikam.com").send(lab, to="alex@contoso.com")
    assert result.reply is not None and str(result.reply).startswith(
        "550 5.7.51 TenantInboundAttribution; There is a partner connector configured that matched"
    )
    from_fabrikam = printer(sender="pat@fabrikam.com", source_ip=ipaddress.ip_address("192.0.2.25"))
    assert from_fabrikam.send(lab, to="alex@contoso.com", subject="Real Pat").accepted


def test_fabrikam_rejects_a_spoof_of_itself_by_dmarc(lab: Lab) -> None:
    # Someone at the office talks to Fabrikam's server directly, claiming to be Fabrikam.
    spoof = printer(server="mail.fabrikam.com", sender="boss@fabrikam.com")
    result = spoof.send(lab, to="pat@fabrikam.com", subject="Wire money")
    assert (
        result.reply is not None
        and str(result.reply) == "550 5.7.1 Rejected by DMARC policy for fabrikam.com"
    )
    assert lab.mailbox("pat@fabrikam.com").folder("Inbox") == []


def test_fabrikam_takes_its_own_users_only(lab: Lab) -> None:
    other = printer(server="mail.fabrikam.com")
    assert other.send(lab, to="alex@contoso.com").reply.code == 554  # type: ignore[union-attr]
    assert other.send(lab, to="nobody@fabrikam.com").reply.enhanced == "5.1.1"  # type: ignore[union-attr]


def test_fabrikam_sees_dkim_of_the_initial_domain_when_contoso_dkim_is_off(lab: Lab) -> None:
    lab.world.tenant.dkim_for("contoso.com").enabled = False  # type: ignore[union-attr]
    scanner = lab.device("Lobby scanner")
    lab.world.tenant.settings.smtp_client_authentication_disabled = False
    result = scanner.send(lab, to="pat@fabrikam.com", subject="Signed by onmicrosoft")
    assert result.accepted
    (message,) = lab.mailbox("pat@fabrikam.com").folder("Inbox")
    assert "d=contoso.onmicrosoft.com" in str(message["DKIM-Signature"])
    # SPF still passes and aligns (contoso.com from Microsoft 365's range), so DMARC passes.
    assert "dmarc=pass" in str(message["Authentication-Results"])
