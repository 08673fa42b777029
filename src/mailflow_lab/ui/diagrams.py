"""Architecture diagrams of the three ways a device sends through Microsoft 365, and of the lab world."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from .plots import NotebookFigure

if TYPE_CHECKING:
    from ..world.model import World

# The three options as the seed course numbers them ([MFD] "Option 1 (recommended)", "Option 2", "Option 3").
OPTIONS = ("smtp-auth", "direct-send", "relay")
TITLES = {
    "smtp-auth": "Option 1 · SMTP AUTH client submission",
    "direct-send": "Option 2 · Direct send",
    "relay": "Option 3 · SMTP relay through an inbound connector",
}
KEYS = ("device", "network", "endpoint", "connector", "mailbox", "outside")

PATH_COLOUR, PATH_FACE = "#1f6fb4", "#e4effa"
GREY, GREY_FACE, GREY_TEXT = "#b8b8b8", "#f3f3f3", "#8f8f8f"
STOP_COLOUR, STOP_FACE = "#d62728", "#fde3e2"
INK, REGION_FACE, REGION_EDGE = "#1b1b1b", "#fafafa", "#d5d5d5"
_STATES = {
    "path": (PATH_COLOUR, PATH_FACE, INK),
    "stop": (STOP_COLOUR, STOP_FACE, INK),
    "grey": (GREY, GREY_FACE, GREY_TEXT),
}
_TITLE: dict[str, Any] = {"ha": "left", "va": "top", "fontsize": 14, "fontweight": "bold", "color": INK}
_REGION: dict[str, Any] = {"facecolor": REGION_FACE, "edgecolor": REGION_EDGE, "linewidth": 1.2, "zorder": 0}
_REGION_TITLE: dict[str, Any] = dict(ha="left", va="top", fontsize=9.5, fontweight="bold", color="#6b6b6b")
_BOX_TITLE: dict[str, Any] = dict(ha="center", va="center", zorder=3, fontsize=9.5, fontweight="bold")
_BOX_DETAIL: dict[str, Any] = dict(ha="center", va="center", zorder=3, fontsize=9)
_ARROW: dict[str, Any] = dict(arrowstyle="-|>", mutation_scale=18, shrinkA=1.5, shrinkB=1.5, zorder=4)
_CROSS: dict[str, Any] = dict(linestyle="none", marker="X", markersize=26, color=STOP_COLOUR, zorder=6)
_LABEL_BOX = dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.9)
_LABEL: dict[str, Any] = dict(
    fontsize=8.5, linespacing=1.15, multialignment="center", zorder=5, bbox=_LABEL_BOX
)
_CALLOUT_BOX = dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor=STOP_COLOUR, linewidth=1.5)
_PANEL_BOX = dict(boxstyle="round,pad=0.8", facecolor=PATH_FACE, edgecolor=PATH_COLOUR, linewidth=1.6)

# Each option's hops as (from, to, label); "mailbox" and "outside" are the two possible destinations
# (an internal or an external recipient), so both hang off the same parent.
_HOPS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "smtp-auth": (
        ("device", "network", "LAN, port 587", "above"),
        ("network", "endpoint", "STARTTLS,\nTLS 1.2+,\nAUTH LOGIN", "above"),
        ("endpoint", "mailbox", "delivered\n(copy in Sent Items)", "above-left"),
        ("endpoint", "outside", "relayed, DKIM-signed", "above-right"),
    ),
    "direct-send": (
        ("device", "network", "LAN, port 25", "above"),
        ("network", "endpoint", "SMTP port 25,\nanonymous", "above"),
        ("endpoint", "mailbox", "anti-spam + SPF:\nInbox or Junk", "above-left"),
    ),
    "relay": (
        ("device", "network", "LAN, port 25", "above"),
        ("network", "endpoint", "SMTP port 25,\nTLS, from\nthe static IP", "above"),
        ("endpoint", "connector", "matched by sender IP\nor TLS certificate", "right"),
        ("connector", "mailbox", "anti-spam applied", "above"),
        ("connector", "outside", "relayed, DKIM-signed", "below-left"),
    ),
}
# Where a hop's label sits relative to the middle of its arrow: offset (x, y) and alignment.
_SIDES = {
    "above": ((0.0, 1.0), "center", "bottom"),
    "right": ((1.2, 0.0), "left", "center"),
    "above-right": ((1.0, 1.0), "left", "bottom"),
    "above-left": ((-1.0, 1.0), "right", "bottom"),
    "below-left": ((-0.8, -1.2), "right", "top"),
    "on": ((0.0, 0.0), "center", "center"),
}
# [MFD] comparison table: direct send reaches only recipients whose mailbox is in Microsoft 365.
_NO_EXTERNAL = "external recipients:\n550 5.7.64 Relay Access Denied"


@dataclass(frozen=True)
class _Box:
    x: float  # centre
    y: float
    w: float
    h: float
    title: str
    detail: str

    def border_point(self, towards: tuple[float, float]) -> tuple[float, float]:
        """Where the line from this box's centre to `towards` leaves the box."""
        dx, dy = towards[0] - self.x, towards[1] - self.y
        if dx == 0 and dy == 0:
            return self.x, self.y
        scale = min(
            self.w / 2 / abs(dx) if dx else float("inf"), self.h / 2 / abs(dy) if dy else float("inf")
        )
        return self.x + dx * scale, self.y + dy * scale


@dataclass(frozen=True)
class _Facts:
    office_ip: str = "203.0.113.10"
    tenant: str = "Contoso"
    domain: str = "contoso.com"
    outside: str = "Fabrikam"
    outside_server: str = "mail.fabrikam.com"

    @property
    def mx_host(self) -> str:
        # MX host of a Microsoft 365 domain: dots become dashes (reference sheet, "DNS records").
        return self.domain.replace(".", "-") + ".mail.protection.outlook.com"


def _facts(world: World | None) -> _Facts:
    if world is None:
        return _Facts()
    domains = world.tenant.accepted_domains
    default = next((d.name for d in domains if d.default), domains[0].name if domains else "contoso.com")
    outside = world.outside[0] if world.outside else None
    return _Facts(
        office_ip=str(world.network.office.public_ip),
        tenant=world.tenant.name,
        domain=default,
        outside=outside.name if outside else _Facts.outside,
        outside_server=outside.mail_server if outside else _Facts.outside_server,
    )


def path_for(option: str) -> list[str]:
    """The ordered box keys a message can pass for an option; the last ones are its possible destinations."""
    hops = _HOPS[_check_option(option)]
    return [hops[0][0], *(hop[1] for hop in hops)]


def _check_option(option: str) -> str:
    if option not in _HOPS:
        raise ValueError(f"unknown option {option!r}: choose one of {', '.join(repr(o) for o in OPTIONS)}")
    return option


def _boxes(option: str, facts: _Facts) -> dict[str, _Box]:
    row = 48.0 if option == "relay" else 38.0
    sender = "signs in as a mailbox" if option == "smtp-auth" else f"sends as any @{facts.domain}"
    nat = "static IP" if option == "relay" else "public NAT"
    if option == "smtp-auth":
        endpoint = ("Microsoft 365 submission", "smtp.office365.com:587")
    else:
        endpoint = ("Microsoft 365 MX (tenant)", f"{facts.mx_host}:25")
    folders = "Inbox · Junk Email" + (" · Sent Items" if option == "smtp-auth" else "")
    boxes = {
        "device": _Box(10.5, row, 18, 11, "Printer / scanner / app", sender),
        "network": _Box(35.5, row, 17, 11, "Office network", f"{nat} {facts.office_ip}"),
        "endpoint": _Box(68.0, row, 29, 10 if option == "relay" else 11, *endpoint),
        "mailbox": _Box(108.0, 50.0, 21, 11, f"{facts.tenant} mailboxes", folders),
        "outside": _Box(108.0, 8.5, 21, 10, f"{facts.outside} (outside)", facts.outside_server),
    }
    if option == "relay":
        certificate = f"IP {facts.office_ip} or cert for {facts.domain}"
        boxes["connector"] = _Box(68.0, 31.0, 29, 10, "Inbound connector (IP or certificate)", certificate)
        boxes["mailbox"] = replace(boxes["mailbox"], y=31.0)
    return boxes


def _new_axes(
    ax: Axes | None, figsize: tuple[float, float], size: tuple[float, float]
) -> tuple[Figure, Axes]:
    if ax is None:
        ax = NotebookFigure(figsize=figsize).add_axes((0.0, 0.0, 1.0, 1.0))
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    ax.set_axis_off()
    ax.set(xlim=(0, size[0]), ylim=(0, size[1]))
    return fig, ax


def _rounded(x0: float, y0: float, x1: float, y1: float, **style: Any) -> FancyBboxPatch:
    return FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=1.3", **style)


def draw_option(
    option: str,
    *,
    stopped_at: str | None = None,
    outcome: str | None = None,
    world: World | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw an option's architecture; with `stopped_at`: the path up to that box, a red cross, `outcome`."""
    hops = _HOPS[_check_option(option)]
    keys = path_for(option)
    if stopped_at is not None and stopped_at not in keys:
        hint = ""
        if option == "direct-send" and stopped_at == "outside":
            hint = " (direct send never gets there: an external recipient stops at 'endpoint')"
        raise ValueError(f"stopped_at={stopped_at!r} is not on the {option} path {keys}{hint}")
    facts = _facts(world)
    boxes = _boxes(option, facts)
    parent = {hop[1]: hop[0] for hop in hops}
    travelled: set[str] = set(keys)
    if stopped_at is not None:  # the route from the device to where it stopped
        travelled, node = set(), stopped_at
        while node is not None:
            travelled.add(node)
            node = parent.get(node)

    fig, ax = _new_axes(ax, (15.0, 8.0), (120.0, 64.0))  # one unit is 9 points both ways
    ax.text(1.0, 63.0, TITLES[option], **_TITLE, gid="title")
    regions = {
        "office": ((0.5, 25.0, 46.5, 58.5), f"{facts.tenant} office"),
        "microsoft365": (
            (50.0, 21.0, 119.5, 58.5),
            f"Microsoft 365 · Exchange Online ({facts.tenant} tenant)",
        ),
        "internet": ((95.5, 0.5, 119.5, 18.5), "Internet"),
    }
    for key, ((x0, y0, x1, y1), title) in regions.items():
        ax.add_patch(_rounded(x0, y0, x1, y1, **_REGION, gid=f"region:{key}"))
        ax.text(x0 + 1.2, y1 - 1.0, title, **_REGION_TITLE, gid=f"region-title:{key}")

    patches: dict[str, FancyBboxPatch] = {}
    for key, box in boxes.items():
        state = "stop" if key == stopped_at else "path" if key in travelled else "grey"
        edge, face, ink = _STATES[state]
        corners = (box.x - box.w / 2, box.y - box.h / 2, box.x + box.w / 2, box.y + box.h / 2)
        patch = _rounded(*corners, facecolor=face, edgecolor=edge, linewidth=1.4 if state == "grey" else 2.2)
        patches[key] = ax.add_patch(patch)
        patch.set(zorder=2, gid=f"box:{key}")
        mono = "DejaVu Sans Mono" if ":" in box.detail else None
        ax.text(box.x, box.y + box.h * 0.16, box.title, **_BOX_TITLE, color=ink, gid=f"box-title:{key}")
        ax.text(
            box.x,
            box.y - box.h * 0.2,
            box.detail,
            **_BOX_DETAIL,
            family=mono,
            color=ink,
            gid=f"box-detail:{key}",
        )

    for src, dst, label, side in hops:
        colour = PATH_COLOUR if {src, dst} <= travelled else GREY
        _hop(
            ax,
            (boxes[src], boxes[dst]),
            (patches[src], patches[dst]),
            (label, side),
            colour,
            f"hop:{src}->{dst}",
        )
    if option == "direct-send":  # [MFD]: direct send only reaches mailboxes in Microsoft 365
        ends, ends_patches = (boxes["endpoint"], boxes["outside"]), (patches["endpoint"], patches["outside"])
        _hop(ax, ends, ends_patches, (_NO_EXTERNAL, "on"), GREY, "note:endpoint->outside")

    if stopped_at is not None:
        box = boxes[stopped_at]
        src = parent.get(stopped_at)
        point = box.border_point((boxes[src].x, boxes[src].y) if src else (box.x + box.w, box.y))
        ax.plot(*point, **_CROSS, markeredgecolor="white", markeredgewidth=1.5, gid="stop-mark")
        if outcome:
            # The mailboxes sit top right, away from the free strip at the bottom: say it next to them.
            place = "strip" if stopped_at != "mailbox" else "above" if option == "relay" else "below"
            _callout(ax, box, point, outcome, place)
    elif outcome:  # no stop: the result, wrapped to stay left of the Internet box
        result = "\n".join(textwrap.wrap(f"Result: {outcome}", 120))
        ax.text(2.0, 10.0, result, ha="left", va="center", fontsize=10, color=PATH_COLOUR, gid="outcome")
    return fig


def _hop(
    ax: Axes,
    ends: tuple[_Box, _Box],
    patches: tuple[FancyBboxPatch, FancyBboxPatch],
    label: tuple[str, str],
    colour: str,
    gid: str,
) -> None:
    """An arrow from box to box, clipped at their edges, with its label beside it (`label` = text, side)."""
    (a, b), (text, side) = ends, label
    note = gid.startswith("note:")
    ax.add_patch(
        FancyArrowPatch(
            (a.x, a.y),
            (b.x, b.y),
            patchA=patches[0],
            patchB=patches[1],
            color=colour,
            **_ARROW,
            linewidth=1.4 if note else 2.2,
            linestyle="--" if note else "-",
            gid=gid,
        )
    )
    (x0, y0), (x1, y1) = a.border_point((b.x, b.y)), b.border_point((a.x, a.y))
    (dx, dy), ha, va = _SIDES[side]
    where, ink = ((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy), STOP_COLOUR if note else colour
    ax.text(*where, text, ha=ha, va=va, color=ink, **_LABEL, gid=gid.replace(":", "-label:", 1))


def _callout(ax: Axes, box: _Box, point: tuple[float, float], outcome: str, place: str) -> None:
    """The outcome in a red-edged box: right "above" or "below" `box`, or in the free "strip" at the bottom
    with a dotted leader to the cross."""
    right, width, ha, va = box.x + box.w / 2, 42, "right", "top" if place == "below" else "bottom"
    where = (right, box.y - box.h / 2 - 1.5) if place == "below" else (right, box.y + box.h / 2 + 1.5)
    if place == "strip":
        where, width, ha, va = (
            (min(max(point[0], 26.0), 62.0), 9.5),
            70,
            "center",
            "center",
        )  # the leader runs under the boxes and arrows, so it never hides what it crosses
        leader = dict(arrowstyle="-", color=STOP_COLOUR, linewidth=1.0, linestyle=":")
        ax.annotate("", xy=point, xytext=where, zorder=1.5, gid="stop-leader", arrowprops=leader)
    text = "\n".join(textwrap.wrap(outcome, width)) or outcome
    ax.text(
        *where,
        text,
        ha=ha,
        va=va,
        multialignment="left",
        fontsize=9.5,
        color=STOP_COLOUR,
        zorder=7,
        bbox=_CALLOUT_BOX,
        gid="stop-outcome",
    )


def draw_world(world: World) -> Figure:
    """The lab world at a glance: sites and devices, Microsoft 365 endpoints, the tenant, the outside orgs."""
    facts = _facts(world)
    fig, ax = _new_axes(None, (15.0, 8.5), (1.0, 1.0))
    ax.text(0.01, 0.985, f"The lab world: {world.name}", **_TITLE, gid="title")
    ax.text(0.01, 0.945, world.description, ha="left", va="top", fontsize=10, color="#555555", gid="subtitle")

    office = world.network.office.public_ip
    sites = world.network.all_sites()
    site_panels = []
    for index, site in enumerate(sites):
        kind = ("dynamic" if site.dynamic else "static") + (", shared" if site.shared else "")
        lines = [f"public IP {site.public_ip} ({kind})"]
        for device in world.devices:
            if (device.source_ip or office) == site.public_ip:
                server = "tenant MX" if device.server == facts.mx_host else device.server
                lines.append(f"• {device.name} → {server}:{device.port}")
        y = 0.7 - index * 0.45 / max(len(sites) - 1, 1)
        site_panels.append(_panel(ax, (0.13, y), site.name, lines, f"site:{index}"))

    endpoints = ["smtp.office365.com:587 (SMTP AUTH)", f"{facts.mx_host}:25 (MX)"]
    if world.tenant.settings.allow_legacy_tls_clients:
        endpoints.append("smtp-legacy.office365.com:587 (TLS 1.0/1.1)")
    endpoint_panel = _panel(ax, (0.475, 0.5), "Microsoft 365 endpoints", endpoints, "endpoints")

    tenant, settings = world.tenant, world.tenant.settings
    lines = ["Accepted domains:"]
    lines += [f"  {d.name}" + (" (default)" if d.default else "") for d in tenant.accepted_domains]
    lines += ["Mailboxes (SMTP AUTH per mailbox):"]
    lines += [
        f"  {m.address}: {m.mailbox_type}, {_auth(m.smtp_client_authentication_disabled)}"
        for m in tenant.mailboxes
    ]
    lines += [
        "Organisation switches:",
        f"  SmtpClientAuthenticationDisabled: {settings.smtp_client_authentication_disabled}",
        f"  Security defaults: {'on' if settings.security_defaults else 'off'}",
        f"  RejectDirectSend: {settings.reject_direct_send}",
        f"  AllowLegacyTLSClients: {settings.allow_legacy_tls_clients}",
        f"Inbound connectors: {', '.join(c.name for c in tenant.inbound_connectors) or 'none'}",
        f"DKIM signing: {', '.join(d.domain for d in tenant.dkim if d.enabled) or 'none'}",
    ]
    tenant_panel = _panel(
        ax, (0.835, 0.6), f"{tenant.name} tenant ({tenant.initial_domain})", lines, "tenant"
    )
    outside_panels = []
    for index, org in enumerate(world.outside):
        lines = [f"domains: {', '.join(org.domains)}", f"mail server: {org.mail_server}"]
        lines.append(f"mailboxes: {', '.join(org.mailboxes)}")
        panel = _panel(ax, (0.835 - index * 0.3, 0.13), f"{org.name} (outside)", lines, f"outside:{index}")
        outside_panels.append(panel)

    # Measure the boxes once laid out, then join their edges with arrows.
    fig.draw_without_rendering()
    to_data = ax.transData.inverted()
    ep = endpoint_panel.get_bbox_patch().get_window_extent().transformed(to_data)
    for index, (site, panel) in enumerate(zip(sites, site_panels, strict=True)):
        box = panel.get_bbox_patch().get_window_extent().transformed(to_data)
        end_y = ep.y0 + ep.height * (0.5 if len(sites) == 1 else 0.75 - 0.5 * index / (len(sites) - 1))
        _link(
            ax,
            (box.x1, box.y0 + box.height / 2),
            (ep.x0, end_y),
            f"SMTP from {site.public_ip}",
            f"site:{index}",
        )
    box = tenant_panel.get_bbox_patch().get_window_extent().transformed(to_data)
    _link(
        ax,
        (ep.x1, ep.y0 + ep.height * 0.7),
        (box.x0, box.y0 + box.height / 2),
        "delivered to mailboxes",
        "tenant",
    )
    label = f"relayed out from {world.network.microsoft365_outbound_ip}"
    for index, panel in enumerate(outside_panels):
        box = panel.get_bbox_patch().get_window_extent().transformed(to_data)
        _link(
            ax, (ep.x1, ep.y0 + ep.height * 0.3), (box.x0, box.y0 + box.height / 2), label, f"outside:{index}"
        )
    return fig


def _auth(disabled: bool | None) -> str:
    return "follows tenant" if disabled is None else "off" if disabled else "on"


def _panel(ax: Axes, xy: tuple[float, float], heading: str, lines: list[str], key: str) -> Text:
    """A box sized to its text, with its heading in bold just above it."""
    body = ax.text(
        *xy,
        "\n".join(lines),
        ha="center",
        va="center",
        multialignment="left",
        fontsize=9,
        color=INK,
        linespacing=1.4,
        zorder=3,
        bbox=_PANEL_BOX,
        gid=f"panel:{key}",
    )
    # The heading follows the box wherever its size puts its top left corner.
    ax.annotate(
        heading,
        xy=(0.0, 1.0),
        xycoords=body,
        xytext=(-7, 10),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=10.5,
        fontweight="bold",
        color=PATH_COLOUR,
        gid=f"heading:{key}",
    )
    return body


def _link(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str, key: str) -> None:
    ax.add_patch(FancyArrowPatch(start, end, color=PATH_COLOUR, linewidth=1.8, **_ARROW, gid=f"link:{key}"))
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    ax.text(*middle, label, ha="center", va="center", color=PATH_COLOUR, **_LABEL, gid=f"link-label:{key}")
