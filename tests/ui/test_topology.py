"""The mail-flow topology diagrams follow the lab: the MX record, the connectors, the outbound routing."""

from __future__ import annotations

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from mailflow_lab import Device, Lab
from mailflow_lab.policy import outbound
from mailflow_lab.ui.topology import (
    draw_inbound,
    draw_outbound,
    inbound_hops,
    inbound_source,
    outbound_hops,
)

matplotlib.use("Agg")


def texts(fig: Figure) -> dict[str, str]:
    return {str(t.get_gid()): t.get_text() for t in fig.findobj(Text) if t.get_gid()}


def arrows(fig: Figure) -> list[str]:
    return [str(a.get_gid()) for a in fig.findobj(FancyArrowPatch)]


def test_mx_to_microsoft_365(lab: Lab) -> None:
    assert [h.key for h in inbound_hops(lab)] == ["sender", "eop", "mailbox"]
    fig = draw_inbound(lab)
    assert texts(fig)["title"] == "Inbound mail: MX straight to Microsoft 365"
    assert "SPF judged on 192.0.2.25" in texts(fig)["box-detail:eop"]
    assert arrows(fig) == ["hop:sender->eop", "hop:eop->mailbox"]


FILTER = "198.51.100.80"
FABRIKAM = "192.0.2.25"


# Inbound connector options -> the address the diagram says SPF is judged on, and the policy rule whose
# explanation is the figure's note. The diagram asks Enhanced Filtering's policy, so EFSkipIPs that do
# not list the filter and EFUsers that leave the recipient out keep the filter's address.
@pytest.mark.parametrize(
    ("ef", "judged", "rule"),
    [
        pytest.param("", FILTER, "ef.off", id="ef-off"),
        pytest.param("-EFSkipLastIP $true", FABRIKAM, "ef.skip-last-ip", id="skip-last-ip"),
        pytest.param(f"-EFSkipIPs {FILTER}", FABRIKAM, "ef.skip-ips", id="skip-ips-the-filter"),
        pytest.param("-EFSkipIPs 203.0.113.99", FILTER, "ef.not-skipped", id="skip-ips-another-address"),
        pytest.param(
            "-EFSkipLastIP $true -EFUsers scanner@contoso.com", FILTER, "ef.not-for-recipients", id="ef-users"
        ),
        pytest.param(
            "-EFSkipLastIP $true -EFUsers alex@contoso.com", FABRIKAM, "ef.skip-last-ip", id="ef-users-listed"
        ),
    ],
)
def test_mx_to_a_filter(lab: Lab, ef: str, judged: str, rule: str) -> None:
    lab.dns.set_records("contoso.com", "MX", ["10 filter.litware.com."])
    line = f"New-InboundConnector 'Litware filter' -SenderDomains * -SenderIPAddresses {FILTER} {ef}"
    assert lab.powershell(line).ok
    assert [h.key for h in inbound_hops(lab)] == ["sender", "filter", "eop", "mailbox"]
    shown = texts(draw_inbound(lab))
    assert shown["title"] == "Inbound mail: MX through a third-party filter"
    assert shown["box-detail:filter"] == f"filter.litware.com\n{FILTER}"
    assert f"SPF judged on {judged}" in shown["box-detail:eop"]
    assert "'Litware filter'" in shown["box-detail:eop"]
    source = inbound_source(lab)
    assert (source.ip, source.rule) == (judged, rule)
    assert shown["note"] == source.explanation


def test_the_diagram_agrees_with_a_real_send_through_the_filter(lab: Lab) -> None:
    """The reviewer's case: EFSkipIPs names another address, so Fabrikam's DMARC reject stands."""
    line = (
        f"New-InboundConnector 'Litware filter' -ConnectorType Partner -SenderDomains * -SenderIPAddresses "
        f"{FILTER} -RestrictDomainsToIPAddresses $true -EFSkipIPs 203.0.113.99"
    )
    assert lab.powershell(line).ok
    lab.dns.set_records("contoso.com.", "MX", ["10 filter.litware.com."])
    (eop,) = [h for h in inbound_hops(lab) if h.key == "eop"]
    assert eop.detail.endswith(f"SPF judged on {FILTER}")
    fabrikam = Device(
        "Fabrikam",
        server="filter.litware.com",
        port=25,
        tls="starttls",
        sender="pat@fabrikam.com",
        source_ip=FABRIKAM,
        helo="mail.fabrikam.com",
    )
    assert str(fabrikam.send(lab, to="alex@contoso.com").reply).startswith("550 5.7.509 ")


def test_a_filter_known_by_its_certificate(lab: Lab) -> None:
    lab.dns.set_records("contoso.com", "MX", ["10 filter.litware.com."])
    line = (
        "New-InboundConnector 'Litware by certificate' -SenderDomains * "
        "-TlsSenderCertificateName filter.litware.com -EFSkipLastIP $true"
    )
    assert lab.powershell(line).ok
    (eop,) = [h for h in inbound_hops(lab) if h.key == "eop"]
    assert eop.detail == f"connector 'Litware by certificate' (EFSkipLastIP)\nSPF judged on {FABRIKAM}"


def test_outbound_by_mx_then_centralized(lab: Lab) -> None:
    assert [h.key for h in outbound_hops(lab)] == ["mailbox", "eop", "recipient"]
    assert texts(draw_outbound(lab))["title"] == "Outbound mail from Microsoft 365"
    line = (
        "New-OutboundConnector 'To on-premises' -ConnectorType OnPremises -RecipientDomains * "
        "-SmartHosts mail.contoso.com -UseMXRecord $false -RouteAllMessagesViaOnPremises $true"
    )
    assert lab.powershell(line).ok
    fig = draw_outbound(lab)
    shown = texts(fig)
    assert shown["title"] == "Centralized mail transport"
    assert shown["box-detail:on-premises"] == "mail.contoso.com"
    assert "RouteAllMessagesViaOnPremises $true" in shown["note"]
    assert arrows(fig) == ["hop:mailbox->eop", "hop:eop->on-premises", "hop:on-premises->recipient"]


def test_outbound_connectors_are_drawn_not_followed(lab: Lab) -> None:
    """The reviewer's case: centralized transport is drawn, the note says the lab's relay still uses MX."""
    assert (
        texts(draw_outbound(lab))["note"] == outbound.route(lab.world.tenant, "pat@fabrikam.com").explanation
    )
    line = (
        "New-OutboundConnector 'To on-premises' -ConnectorType OnPremises -RecipientDomains * "
        "-SmartHosts mail.contoso.com -UseMXRecord $false -RouteAllMessagesViaOnPremises $true"
    )
    assert lab.powershell(line).ok
    assert "on-premises" in [h.key for h in outbound_hops(lab)]
    assert texts(draw_outbound(lab))["note"].endswith(outbound.NOT_FOLLOWED)
    sent = lab.device("Lobby scanner").send(lab, to="pat@fabrikam.com", subject="centralized?")
    assert sent.accepted, sent
    (record,) = lab.message_trace()
    assert (record.status, record.to_ip) == ("Delivered", "192.0.2.25")  # Fabrikam's MX, not mail.contoso.com
    assert [m["Subject"] for m in lab.mailbox("pat@fabrikam.com").folder("Inbox")] == ["centralized?"]


def test_internal_mail_stays_in_the_tenant(lab: Lab) -> None:
    assert [h.key for h in outbound_hops(lab, "scanner@contoso.com")] == ["mailbox", "recipient"]
