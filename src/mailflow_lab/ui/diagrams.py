"""Architecture diagrams of the three ways a device sends through Microsoft 365 (the world: world_diagram)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..policy import replies as R
from ..world.hosts import SUBMISSION_SERVER
from .diagram_facts import DiagramFacts, facts_of
from .drawing import (
    ARROW,
    BOX_DETAIL,
    BOX_TITLE,
    GREY,
    LABEL,
    PATH_COLOUR,
    REGION_EDGE,
    REGION_FACE,
    STATES,
    STOP_COLOUR,
    TITLE,
    new_axes,
    rounded,
)
from .world_diagram import draw_world

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

_REGION: dict[str, Any] = {"facecolor": REGION_FACE, "edgecolor": REGION_EDGE, "linewidth": 1.2, "zorder": 0}
_REGION_TITLE: dict[str, Any] = dict(ha="left", va="top", fontsize=9.5, fontweight="bold", color="#6b6b6b")
_CROSS: dict[str, Any] = dict(linestyle="none", marker="X", markersize=26, color=STOP_COLOUR, zorder=6)
_CALLOUT_BOX = dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor=STOP_COLOUR, linewidth=1.5)

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
_NO_EXTERNAL = f"external recipients:\n{R.RELAY_DENIED.code} {R.RELAY_DENIED.enhanced} Relay Access Denied"


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


def path_for(option: str) -> list[str]:
    """The ordered box keys a message can pass for an option; the last ones are its possible destinations."""
    hops = _HOPS[_check_option(option)]
    return [hops[0][0], *(hop[1] for hop in hops)]


def _check_option(option: str) -> str:
    if option not in _HOPS:
        raise ValueError(f"unknown option {option!r}: choose one of {', '.join(repr(o) for o in OPTIONS)}")
    return option


def _boxes(option: str, facts: DiagramFacts) -> dict[str, _Box]:
    row = 48.0 if option == "relay" else 38.0
    sender = "signs in as a mailbox" if option == "smtp-auth" else f"sends as any @{facts.domain}"
    nat = "static IP" if option == "relay" else "public NAT"
    if option == "smtp-auth":
        endpoint = ("Microsoft 365 submission", f"{SUBMISSION_SERVER}:587")
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
    facts = facts_of(world)
    boxes = _boxes(option, facts)
    parent = {hop[1]: hop[0] for hop in hops}
    travelled: set[str] = set(keys)
    if stopped_at is not None:  # the route from the device to where it stopped
        travelled, node = set(), stopped_at
        while node is not None:
            travelled.add(node)
            node = parent.get(node)

    fig, ax = new_axes(ax, (15.0, 8.0), (120.0, 64.0))  # one unit is 9 points both ways
    ax.text(1.0, 63.0, TITLES[option], **TITLE, gid="title")
    regions = {
        "office": ((0.5, 25.0, 46.5, 58.5), f"{facts.tenant} office"),
        "microsoft365": (
            (50.0, 21.0, 119.5, 58.5),
            f"Microsoft 365 · Exchange Online ({facts.tenant} tenant)",
        ),
        "internet": ((95.5, 0.5, 119.5, 18.5), "Internet"),
    }
    for key, ((x0, y0, x1, y1), title) in regions.items():
        ax.add_patch(rounded(x0, y0, x1, y1, **_REGION, gid=f"region:{key}"))
        ax.text(x0 + 1.2, y1 - 1.0, title, **_REGION_TITLE, gid=f"region-title:{key}")

    patches: dict[str, FancyBboxPatch] = {}
    for key, box in boxes.items():
        state = "stop" if key == stopped_at else "path" if key in travelled else "grey"
        edge, face, ink = STATES[state]
        corners = (box.x - box.w / 2, box.y - box.h / 2, box.x + box.w / 2, box.y + box.h / 2)
        patch = rounded(*corners, facecolor=face, edgecolor=edge, linewidth=1.4 if state == "grey" else 2.2)
        patches[key] = ax.add_patch(patch)
        patch.set(zorder=2, gid=f"box:{key}")
        mono = "DejaVu Sans Mono" if ":" in box.detail else None
        ax.text(box.x, box.y + box.h * 0.16, box.title, **BOX_TITLE, color=ink, gid=f"box-title:{key}")
        ax.text(
            box.x,
            box.y - box.h * 0.2,
            box.detail,
            **BOX_DETAIL,
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
            **ARROW,
            linewidth=1.4 if note else 2.2,
            linestyle="--" if note else "-",
            gid=gid,
        )
    )
    (x0, y0), (x1, y1) = a.border_point((b.x, b.y)), b.border_point((a.x, a.y))
    (dx, dy), ha, va = _SIDES[side]
    where, ink = ((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy), STOP_COLOUR if note else colour
    ax.text(*where, text, ha=ha, va=va, color=ink, **LABEL, gid=gid.replace(":", "-label:", 1))


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


__all__ = ["KEYS", "OPTIONS", "TITLES", "draw_option", "draw_world", "path_for"]
