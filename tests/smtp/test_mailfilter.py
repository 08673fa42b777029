"""The Litware filter in front of the MX, over real SMTP: what Microsoft 365 sees, EF, bypass and hybrid."""

from __future__ import annotations

import re
import smtplib

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.policy import replies as R

MX = "contoso-com.mail.protection.outlook.com"
FILTER_HOST = "filter.litware.com"
CONNECTOR = "New-InboundConnector 'Litware filter' -ConnectorType Partner -SenderDomains * "


def fabrikam(server: str = FILTER_HOST) -> Device:
    return Device(
        "Fabrikam's mail server",
        server=server,
        port=25,
        tls="starttls",
        sender="pat@fabrikam.com",
        source_ip="192.0.2.25",
        helo="mail.fabrikam.com",
    )


def printer() -> Device:
    return Device("Warehouse printer", server=FILTER_HOST, port=25, tls="none", sender="printer@contoso.com")


def ps(lab: Lab, line: str) -> None:
    result = lab.powershell(line)
    assert result.ok, result.error


def test_the_filter_relays_from_its_own_address(lab: Lab) -> None:
    result = printer().send(lab, "alex@contoso.com", "Toner low")
    assert result.accepted and result.reply is not None and str(result.reply).startswith("250 2.6.0")
    (record,) = lab.message_trace()
    assert record.from_ip == "198.51.100.80"  # the filter, not the office
    (copy,) = lab.mailbox("alex@contoso.com").folder("Junk Email")
    assert "spf=fail (sender IP is 198.51.100.80)" in " ".join(str(copy["Authentication-Results"]).split())
    received = [" ".join(str(r).split()) for r in copy.get_all("Received")]
    assert received[0].startswith(f"from {FILTER_HOST} (198.51.100.80) by ")
    assert "(version=TLS1_" in received[0]  # the filter uses STARTTLS towards Microsoft 365
    assert received[1].startswith(
        f"from warehouse-printer.local ([203.0.113.10]) by {FILTER_HOST} with ESMTP;"
    )


@pytest.mark.parametrize(
    ("ef", "spf", "cip"),
    [
        pytest.param("", "spf=fail (sender IP is 198.51.100.80)", "CIP:198.51.100.80;", id="without-ef"),
        pytest.param(
            "-EFSkipIPs 198.51.100.80",
            "spf=pass (sender IP is 203.0.113.10)",
            "CIP:203.0.113.10;",
            id="skip-ips",
        ),
        pytest.param(
            "-EFSkipLastIP $true", "spf=pass (sender IP is 203.0.113.10)", "CIP:203.0.113.10;", id="skip-last"
        ),
    ],
)
def test_enhanced_filtering_judges_the_original_sender(lab: Lab, ef: str, spf: str, cip: str) -> None:
    lab.dns.set_txt("contoso.com", ["v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"])
    ps(lab, f"{CONNECTOR} -SenderIPAddresses 198.51.100.80 {ef}")
    result = printer().send(lab, "alex@contoso.com", "Toner low")
    folder = "Junk Email" if "fail" in spf else "Inbox"
    assert result.outcome["alex@contoso.com"].where == folder
    (copy,) = lab.mailbox("alex@contoso.com").folder(folder)
    assert spf in " ".join(str(copy["Authentication-Results"]).split())
    assert cip in str(copy["X-Forefront-Antispam-Report"])
    assert lab.message_trace()[0].from_ip == "198.51.100.80"  # the trace still shows who connected


@pytest.mark.parametrize(
    "restriction",
    [
        pytest.param("-SenderIPAddresses 198.51.100.80 -RestrictDomainsToIPAddresses $true", id="by-ip"),
        pytest.param(
            "-TlsSenderCertificateName filter.litware.com -RestrictDomainsToCertificate $true",
            id="by-certificate",
        ),
    ],
)
def test_a_restricted_partner_connector_refuses_mail_that_bypasses_the_filter(
    lab: Lab, restriction: str
) -> None:
    ps(lab, f"{CONNECTOR} {restriction} -EFSkipLastIP $true")
    bypass = fabrikam(server=MX).send(lab, "alex@contoso.com", "Around the filter")
    assert bypass.step == "RCPT" and str(bypass.reply).startswith("550 5.7.51 TenantInboundAttribution;")
    through = fabrikam().send(lab, "alex@contoso.com", "Through the filter")
    assert through.outcome["alex@contoso.com"].where == "Inbox", through


def test_without_ef_fabrikam_dmarc_reject_comes_back_through_the_filter(lab: Lab) -> None:
    result = fabrikam().send(lab, "alex@contoso.com", "Hello")
    assert result.step == "DATA" and str(result.reply).startswith("550 5.7.509 Access denied")
    assert lab.message_trace() == []


def test_an_ehlo_posing_as_the_filters_comment_does_not_choose_the_spf_address(lab: Lab) -> None:
    """EHLO `x ([192.0.2.25])` from elsewhere: SPF is judged on the address the filter saw, not Fabrikam's."""
    ps(lab, f"{CONNECTOR} -SenderIPAddresses 198.51.100.80 -RestrictDomainsToIPAddresses $true")
    ps(lab, "Set-InboundConnector -Identity 'Litware filter' -EFSkipLastIP $true")
    spoofer = Device(
        "Spoofer",
        server=FILTER_HOST,
        port=25,
        tls="none",
        sender="pat@fabrikam.com",
        source_ip="198.51.100.99",
        helo="x ([192.0.2.25])",
    )
    result = spoofer.send(lab, "alex@contoso.com", "pay this invoice")
    assert result.step == "DATA" and str(result.reply).startswith(
        "550 5.7.509 Access denied, sending domain [FABRIKAM.COM] does not pass DMARC verification"
    )
    assert list(lab.mailbox("alex@contoso.com").folder("Inbox")) == []
    assert list(lab.mailbox("alex@contoso.com").folder("Junk Email")) == []


@pytest.mark.parametrize(
    ("host", "banner", "auth"),
    [
        pytest.param(FILTER_HOST, "filter.litware.com ESMTP Postfix", "503 5.5.1", id="litware-filter"),
        pytest.param("mail.fabrikam.com", "mail.fabrikam.com ESMTP Postfix", "503 5.5.1", id="fabrikam"),
        pytest.param(
            MX,
            r"\S+\.mail\.protection\.outlook\.com Microsoft ESMTP MAIL Service ready at .+",
            "504 5.7.4",
            id="mx",
        ),
    ],
)
def test_each_server_greets_in_its_own_words(lab: Lab, host: str, banner: str, auth: str) -> None:
    """A Postfix filter says Postfix's banner and refuses AUTH as Postfix does; the MX stays Microsoft's."""
    address, port = lab.endpoint(host, 25)
    with smtplib.SMTP(timeout=10) as client:
        code, text = client.connect(address, port)
        assert code == 220 and re.fullmatch(banner, text.decode()), text
        client.ehlo("mail.fabrikam.com")
        code, text = client.docmd("AUTH", "PLAIN AGFiAGM=")
        assert f"{code} {text.decode()}".startswith(auth)
    if host != MX:
        assert (code, text.decode()) == (R.AUTH_NOT_ENABLED.code, str(R.AUTH_NOT_ENABLED).partition(" ")[2])


def test_the_filter_relays_for_nobody(lab: Lab) -> None:
    result = fabrikam().send(lab, "pat@fabrikam.com", "Loop")
    assert result.step == "RCPT" and str(result.reply) == "554 5.7.1 Relay access denied"


def test_microsoft_365_refusing_a_recipient_is_passed_back(lab: Lab) -> None:
    result = printer().send(lab, "nobody@contoso.com", "Toner low")
    # Microsoft 365's DBEB refusal, passed back by the filter at the end of DATA.
    assert result.step == "DATA" and str(result.reply).startswith("550 5.4.1 Recipient address rejected")


def test_the_filter_says_so_when_microsoft_365_cannot_be_reached(lab: Lab) -> None:
    del lab.runtime.endpoints[(MX, 25)]
    result = printer().send(lab, "alex@contoso.com", "Toner low")
    assert str(result.reply) == "451 4.3.0 Error: queue file write error"


def test_the_filter_offers_no_auth(lab: Lab) -> None:
    host, port = lab.endpoint(FILTER_HOST, 25)
    with smtplib.SMTP(host, port) as smtp:
        smtp.ehlo("me")
        assert smtp.docmd("AUTH", "LOGIN") == (503, b"5.5.1 Error: authentication not enabled")


@pytest.mark.parametrize(("internal", "auth_as"), [(False, "Anonymous"), (True, "Internal")])
def test_treat_messages_as_internal_from_on_premises(lab: Lab, internal: bool, auth_as: str) -> None:
    ps(
        lab,
        "New-InboundConnector 'From on-premises' -ConnectorType OnPremises -SenderDomains * "
        f"-TlsSenderCertificateName mail.contoso.com -TreatMessagesAsInternal ${str(internal).lower()}",
    )
    exchange = Device(
        "On-premises Exchange",
        server=MX,
        port=25,
        tls="starttls",
        sender="kim@contoso.com",
        client_cert="mail.contoso.com",
        helo="mail.contoso.com",
    )
    result = exchange.send(lab, "alex@contoso.com", "From on-premises")
    (copy,) = lab.mailbox("alex@contoso.com").folder("Inbox")
    assert result.accepted
    assert copy["X-MS-Exchange-Organization-AuthAs"] == auth_as
    assert copy["X-MS-Exchange-CrossTenant-FromEntityHeader"] == "HybridOnPrem"
    assert "DIR:INT;" in str(copy["X-Forefront-Antispam-Report"])
