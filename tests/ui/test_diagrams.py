"""Option diagrams and the world map: the path, the stop mark, the labels, and boxes that never collide."""

from __future__ import annotations

import io
import ipaddress
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from mailflow_lab.ui import diagrams
from mailflow_lab.ui.diagrams import draw_option, draw_world, path_for
from mailflow_lab.world.loader import load_world
from mailflow_lab.world.model import World

SMTP_AUTH_OFF = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information."
)
MX = "contoso-com.mail.protection.outlook.com:25"


@pytest.fixture
def world() -> World:
    return load_world()


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG"), "not a PNG"
    return data


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def by_gid(fig: Figure, prefix: str) -> dict[str, object]:
    return {a.get_gid(): a for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)}


def arrows(fig: Figure, prefix: str = "hop:") -> dict[str, FancyArrowPatch]:
    return {k: a for k, a in by_gid(fig, prefix).items() if isinstance(a, FancyArrowPatch)}


def colour(artist: FancyArrowPatch | FancyBboxPatch) -> tuple[float, ...]:
    return tuple(artist.get_edgecolor())


# -- path_for and the argument checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "path"),
    [
        ("smtp-auth", ["device", "network", "endpoint", "mailbox", "outside"]),
        ("direct-send", ["device", "network", "endpoint", "mailbox"]),
        ("relay", ["device", "network", "endpoint", "connector", "mailbox", "outside"]),
    ],
)
def test_path_for_lists_the_hops_in_order(option: str, path: list[str]) -> None:
    assert path_for(option) == path
    assert set(path) <= set(diagrams.KEYS)


@pytest.mark.parametrize("call", [path_for, draw_option])
def test_an_unknown_option_names_the_three(call: object) -> None:
    with pytest.raises(ValueError, match="'smtp-auth', 'direct-send', 'relay'"):
        call("smtp-relay")  # type: ignore[operator]


def test_stopped_at_must_be_on_the_path() -> None:
    with pytest.raises(ValueError, match="'connector' is not on the smtp-auth path"):
        draw_option("smtp-auth", stopped_at="connector")
    with pytest.raises(ValueError, match="an external recipient stops at 'endpoint'"):
        draw_option("direct-send", stopped_at="outside")


# -- what each option shows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "endpoint", "hop_count", "must_show"),
    [
        (
            "smtp-auth",
            "smtp.office365.com:587",
            4,
            ["STARTTLS,\nTLS 1.2+,\nAUTH LOGIN", "relayed, DKIM-signed"],
        ),
        (
            "direct-send",
            MX,
            3,
            ["SMTP port 25,\nanonymous", "external recipients:\n550 5.7.64 Relay Access Denied"],
        ),
        ("relay", MX, 5, ["Inbound connector (IP or certificate)", "relayed, DKIM-signed"]),
    ],
)
def test_each_option_draws_its_boxes_and_labelled_hops(
    option: str, endpoint: str, hop_count: int, must_show: list[str]
) -> None:
    fig = draw_option(option)
    png(fig)
    shown = texts(fig)
    for text in [
        diagrams.TITLES[option],
        "Printer / scanner / app",
        endpoint,
        "mail.fabrikam.com",
        *must_show,
    ]:
        assert text in shown
    assert any("203.0.113.10" in t for t in shown)
    hops = arrows(fig)
    assert len(hops) == hop_count == len(path_for(option)) - 1
    assert set(by_gid(fig, "box:")) == {f"box:{key}" for key in [*path_for(option), "outside"]}
    # No stop: the whole path in the path colour, no cross.
    assert {colour(a) for a in hops.values()} == {to_rgba(diagrams.PATH_COLOUR)}
    assert not by_gid(fig, "stop-")


def test_direct_send_shows_external_recipients_as_impossible() -> None:
    fig = draw_option("direct-send")
    notes = arrows(fig, "note:")
    assert list(notes) == ["note:endpoint->outside"]
    assert notes["note:endpoint->outside"].get_linestyle() == "--"
    assert colour(by_gid(fig, "box:outside")["box:outside"]) == to_rgba(diagrams.GREY)  # type: ignore[arg-type]


def test_a_stop_colours_the_route_marks_a_red_cross_and_says_why() -> None:
    fig = draw_option("smtp-auth", stopped_at="endpoint", outcome=SMTP_AUTH_OFF)
    png(fig)
    hops = arrows(fig)
    assert colour(hops["hop:device->network"]) == to_rgba(diagrams.PATH_COLOUR)
    assert colour(hops["hop:network->endpoint"]) == to_rgba(diagrams.PATH_COLOUR)
    assert colour(hops["hop:endpoint->mailbox"]) == to_rgba(diagrams.GREY)
    assert colour(hops["hop:endpoint->outside"]) == to_rgba(diagrams.GREY)
    boxes = by_gid(fig, "box:")
    assert colour(boxes["box:endpoint"]) == to_rgba(diagrams.STOP_COLOUR)  # type: ignore[arg-type]
    assert colour(boxes["box:device"]) == to_rgba(diagrams.PATH_COLOUR)  # type: ignore[arg-type]
    assert colour(boxes["box:mailbox"]) == to_rgba(diagrams.GREY)  # type: ignore[arg-type]
    (cross,) = [a for a in by_gid(fig, "stop-mark").values() if isinstance(a, Line2D)]
    assert cross.get_marker() == "X"
    assert to_rgba(cross.get_color()) == to_rgba(diagrams.STOP_COLOUR)
    # The cross sits where the message met the endpoint: on the endpoint's left edge.
    endpoint = boxes["box:endpoint"]
    assert isinstance(endpoint, FancyBboxPatch)
    assert cross.get_xdata()[0] == pytest.approx(endpoint.get_x())
    outcome = by_gid(fig, "stop-outcome")["stop-outcome"]
    assert isinstance(outcome, Text)
    assert outcome.get_text().replace("\n", " ") == SMTP_AUTH_OFF
    assert to_rgba(outcome.get_color()) == to_rgba(diagrams.STOP_COLOUR)


def test_a_relay_refused_by_fabrikam_went_through_the_connector() -> None:
    fig = draw_option("relay", stopped_at="outside", outcome="550 5.7.509 Access denied, DMARC")
    hops = arrows(fig)
    travelled = {k for k, a in hops.items() if colour(a) == to_rgba(diagrams.PATH_COLOUR)}
    assert travelled == {
        "hop:device->network",
        "hop:network->endpoint",
        "hop:endpoint->connector",
        "hop:connector->outside",
    }
    assert colour(hops["hop:connector->mailbox"]) == to_rgba(diagrams.GREY)
    assert "550 5.7.509 Access denied, DMARC" in texts(fig)


def test_a_stop_at_the_device_greys_every_hop() -> None:
    fig = draw_option("direct-send", stopped_at="device", outcome="the printer only offers port 465")
    assert {colour(a) for a in arrows(fig).values()} == {to_rgba(diagrams.GREY)}
    assert by_gid(fig, "stop-mark")
    assert "the printer only offers port 465" in texts(fig)


def test_an_outcome_without_a_stop_is_shown_as_the_result() -> None:
    fig = draw_option("smtp-auth", outcome="250 2.0.0 OK: delivered to Inbox")
    assert "Result: 250 2.0.0 OK: delivered to Inbox" in texts(fig)
    assert not by_gid(fig, "stop-mark")


def test_addresses_and_names_come_from_the_world(world: World) -> None:
    world.network.office.public_ip = ipaddress.ip_address("192.0.2.77")
    fig = draw_option("relay", world=world)
    shown = texts(fig)
    assert "static IP 192.0.2.77" in shown
    assert "IP 192.0.2.77 or cert for contoso.com" in shown
    assert MX in shown
    assert "Fabrikam (outside)" in shown


def test_draws_into_a_given_axes() -> None:
    fig = Figure(figsize=(15, 8))
    ax = fig.add_subplot()
    assert draw_option("relay", ax=ax) is fig
    assert len(arrows(fig)) == 5


# -- it reads well: text inside boxes, nothing on top of anything else --------------------------------------


def _layout(fig: Figure) -> tuple[Bbox, dict[str, Bbox]]:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    extents: dict[str, Bbox] = {}
    for artist in fig.findobj():
        gid = artist.get_gid() or ""
        if isinstance(artist, Text) and artist.get_bbox_patch() is not None:
            extents[gid] = artist.get_bbox_patch().get_window_extent(renderer)  # the visible box
        elif isinstance(artist, Text | FancyBboxPatch) and gid:
            extents[gid] = artist.get_window_extent(renderer)
    return fig.bbox, extents


def _overlap(a: Bbox, b: Bbox) -> float:
    both = Bbox.intersection(a, b)
    return 0.0 if both is None else both.width * both.height


def _stops() -> list[tuple[str, str | None]]:
    return [(option, stop) for option in diagrams.OPTIONS for stop in [None, *path_for(option)]]


@pytest.mark.parametrize(("option", "stopped_at"), _stops())
def test_the_layout_reads_well(option: str, stopped_at: str | None) -> None:
    page, extents = _layout(draw_option(option, stopped_at=stopped_at, outcome=SMTP_AUTH_OFF))
    boxes = {k.removeprefix("box:"): v for k, v in extents.items() if k.startswith("box:")}
    for key, box in boxes.items():
        for part in ("box-title", "box-detail"):
            inner = extents[f"{part}:{key}"]
            assert box.x0 < inner.x0 and inner.x1 < box.x1 and box.y0 < inner.y0 and inner.y1 < box.y1, (
                key,
                part,
            )
    for (a, box_a), (b, box_b) in combinations(boxes.items(), 2):
        assert _overlap(box_a, box_b) == 0, (a, b)
    floating = {k: v for k, v in extents.items() if "-label:" in k or k == "stop-outcome"}
    assert floating
    for name, extent in floating.items():
        for key, box in boxes.items():
            assert _overlap(extent, box) == 0, (name, key)
    for (a, extent_a), (b, extent_b) in combinations(floating.items(), 2):
        assert _overlap(extent_a, extent_b) == 0, (a, b)
    for name, extent in extents.items():
        assert (
            page.x0 <= extent.x0 and extent.x1 <= page.x1 and page.y0 <= extent.y0 and extent.y1 <= page.y1
        ), name


# -- the world at a glance -------------------------------------------------------------------------------


def test_draw_world_shows_tenant_sites_endpoints_and_fabrikam(world: World) -> None:
    fig = draw_world(world)
    png(fig)
    shown = "\n".join(texts(fig))
    for needle in [
        "Contoso tenant (contoso.onmicrosoft.com)",
        "contoso.com (default)",
        "alex@contoso.com: User, follows tenant",
        "scanner@contoso.com: User, on",
        "helpdesk@contoso.com: Shared, follows tenant",
        "SmtpClientAuthenticationDisabled: True",
        "RejectDirectSend: False",
        "Head office",
        "public IP 203.0.113.10 (static)",
        "Branch office",
        "public IP 198.51.100.23 (dynamic)",
        "• Lobby scanner → smtp.office365.com:587",
        "• Branch copier → tenant MX:25",
        "smtp.office365.com:587 (SMTP AUTH)",
        f"{MX} (MX)",
        "Fabrikam (outside)",
        "mail server: mail.fabrikam.com",
        "relayed out from 40.107.22.45",
    ]:
        assert needle in shown, needle
    links = arrows(fig, "link:")
    assert len(links) == len(world.network.all_sites()) + 1 + len(world.outside) == 4
    _, extents = _layout(fig)
    panels = {k: v for k, v in extents.items() if k.startswith(("panel:", "heading:", "link-label:"))}
    for (a, extent_a), (b, extent_b) in combinations(panels.items(), 2):
        assert _overlap(extent_a, extent_b) == 0, (a, b)


def test_every_diagram_saves_as_a_png_file(world: World, tmp_path: Path) -> None:
    figures = {
        "world": draw_world(world),
        "smtp-auth-stopped": draw_option("smtp-auth", stopped_at="endpoint", outcome=SMTP_AUTH_OFF),
        "direct-send": draw_option("direct-send", world=world),
        "relay-mailbox": draw_option("relay", stopped_at="mailbox", outcome="Junk Email: SPF fail"),
    }
    for name, fig in figures.items():
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_diagrams_show_as_images_in_a_notebook_without_pyplot(world: World) -> None:
    from IPython.core.formatters import DisplayFormatter

    for fig in [draw_option("relay"), draw_world(world)]:
        data, _ = DisplayFormatter().format(fig)
        assert data["image/png"].startswith(b"\x89PNG")


def test_a_long_result_stays_on_the_page_and_clear_of_the_boxes() -> None:
    many = "; ".join(
        f"user{i}@contoso.com: Junk Email: SPF fail, the office IP is not in the SPF record" for i in range(4)
    )
    page, extents = _layout(draw_option("direct-send", outcome=many))
    result = extents["outcome"]
    assert page.x0 <= result.x0 and result.x1 <= page.x1 and page.y0 <= result.y0
    assert all(_overlap(result, box) == 0 for key, box in extents.items() if key.startswith("box:"))
