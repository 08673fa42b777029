"""The lab world at a glance: office sites and devices, Microsoft 365 endpoints, the tenant, outside orgs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from ..world.hosts import LEGACY_SUBMISSION_SERVER, SUBMISSION_SERVER
from .diagram_facts import facts_of
from .drawing import ARROW, INK, LABEL, PATH_COLOUR, PATH_FACE, TITLE, new_axes

if TYPE_CHECKING:
    from ..world.model import World

_PANEL_BOX = dict(boxstyle="round,pad=0.8", facecolor=PATH_FACE, edgecolor=PATH_COLOUR, linewidth=1.6)


def draw_world(world: World) -> Figure:
    """The lab world at a glance: sites and devices, Microsoft 365 endpoints, the tenant, the outside orgs."""
    facts = facts_of(world)
    fig, ax = new_axes(None, (15.0, 8.5), (1.0, 1.0))
    ax.text(0.01, 0.985, f"The lab world: {world.name}", **TITLE, gid="title")
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

    endpoints = [f"{SUBMISSION_SERVER}:587 (SMTP AUTH)", f"{facts.mx_host}:25 (MX)"]
    if world.tenant.settings.allow_legacy_tls_clients:
        endpoints.append(f"{LEGACY_SUBMISSION_SERVER}:587 (TLS 1.0/1.1)")
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
    ax.add_patch(FancyArrowPatch(start, end, color=PATH_COLOUR, linewidth=1.8, **ARROW, gid=f"link:{key}"))
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    ax.text(*middle, label, ha="center", va="center", color=PATH_COLOUR, **LABEL, gid=f"link-label:{key}")


__all__ = ["draw_world"]
