"""The mail-flow topology diagrams follow the lab: the MX record, the connectors, the outbound routing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from mailflow_lab import Lab
from mailflow_lab.ui.topology import draw_inbound, draw_outbound, inbound_hops, outbound_hops

matplotlib.use("Agg")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab.start(state_dir=tmp_path / "state") as running:
        yield running


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


@pytest.mark.parametrize(
    ("ef", "judged"),
    [("", "SPF judged on 198.51.100.80"), ("-EFSkipLastIP $true", "SPF judged on 192.0.2.25")],
)
def test_mx_to_a_filter(lab: Lab, ef: str, judged: str) -> None:
    lab.dns.set_records("contoso.com", "MX", ["10 filter.litware.com."])
    line = f"New-InboundConnector 'Litware filter' -SenderDomains * -SenderIPAddresses 198.51.100.80 {ef}"
    assert lab.powershell(line).ok
    assert [h.key for h in inbound_hops(lab)] == ["sender", "filter", "eop", "mailbox"]
    shown = texts(draw_inbound(lab))
    assert shown["title"] == "Inbound mail: MX through a third-party filter"
    assert shown["box-detail:filter"] == "filter.litware.com\n198.51.100.80"
    assert judged in shown["box-detail:eop"] and "'Litware filter'" in shown["box-detail:eop"]


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


def test_internal_mail_stays_in_the_tenant(lab: Lab) -> None:
    assert [h.key for h in outbound_hops(lab, "scanner@contoso.com")] == ["mailbox", "recipient"]
