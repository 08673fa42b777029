"""Mail-flow topologies drawn as a row of hops: MX to Microsoft 365 or to a filter, and hybrid routing."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from ..policy import enhanced_filtering, mailfilter, outbound
from ..world.model import MailFilter
from .drawing import ARROW, BOX_DETAIL, BOX_TITLE, LABEL, PATH_COLOUR, STATES, TITLE, new_axes, rounded

if TYPE_CHECKING:
    from ..lab.lab import Lab


@dataclass(frozen=True)
class Hop:
    """One box of the row, and the label of the arrow that leaves it (empty for the last)."""

    key: str
    title: str
    detail: str
    arrow: str = ""


def inbound_hops(
    lab: Lab,
    sender: str = "Fabrikam's server",
    sender_ip: str = "192.0.2.25",
    recipient: str = "alex@contoso.com",
) -> list[Hop]:
    """Mail from the internet to the tenant, as contoso.com's MX record and the inbound connectors say.

    The EOP box says what Enhanced Filtering for Connectors decides for a message from `sender_ip` to
    `recipient`: the diagram asks the policy (EFSkipLastIP, EFSkipIPs, EFUsers), it does not guess.
    """
    domain, target, mail_filter = _mx_target(lab)
    hops = [Hop("sender", sender, sender_ip, f"MX {domain} →\n{target}")]
    if mail_filter is not None:
        client_ip = str(mail_filter.public_ip)
        hops.append(
            Hop("filter", mail_filter.name, f"{mail_filter.host}\n{client_ip}", f"relays from\n{client_ip}")
        )
    source = inbound_source(lab, sender_ip, recipient)
    if source.connector is None:
        detail = f"no connector\nSPF judged on {source.ip}"
    else:
        connector = next(c for c in lab.world.tenant.inbound_connectors if c.name == source.connector)
        ef = (
            "EFSkipLastIP"
            if connector.ef_skip_last_ip
            else "EFSkipIPs"
            if connector.ef_skip_ips
            else "EF off"
        )
        detail = f"connector {connector.name!r} ({ef})\nSPF judged on {source.ip}"
    hops.append(Hop("eop", "Exchange Online Protection", detail, "verdict"))
    hops.append(Hop("mailbox", "Mailbox", "Inbox or Junk Email"))
    return hops


def inbound_source(
    lab: Lab, sender_ip: str = "192.0.2.25", recipient: str = "alex@contoso.com"
) -> enhanced_filtering.Source:
    """The address EOP would judge a message from `sender_ip` by, decided by Enhanced Filtering's policy.

    Through a filter, the message reaches Microsoft 365 from the filter's address, over TLS with a
    certificate for its host name, carrying the Received line the filter writes (as smtp/mailfilter.py).
    """
    _, _, mail_filter = _mx_target(lab)
    if mail_filter is None:
        return enhanced_filtering.original_source(lab.world.tenant, sender_ip, (), [], [recipient])
    date = email.utils.format_datetime(lab.runtime.clock.now())
    received = mailfilter.received_line(mail_filter, "mail.fabrikam.com", sender_ip, True, date)
    return enhanced_filtering.original_source(
        lab.world.tenant, str(mail_filter.public_ip), (mail_filter.host,), [received], [recipient]
    )


def _mx_target(lab: Lab) -> tuple[str, str, MailFilter | None]:
    """The default accepted domain, the host its MX names, and the filter that host is (if it is one)."""
    domain = next(d.name for d in lab.world.tenant.accepted_domains if d.default)
    mx = lab.dns.mx(domain)
    target = mx[0][1] if mx else lab.mx_host
    return domain, target, next((f for f in lab.world.filters if f.host == target), None)


def outbound_hops(lab: Lab, recipient: str = "pat@fabrikam.com") -> list[Hop]:
    """Mail from a cloud mailbox to `recipient`, as the outbound connectors would route it (drawn only)."""
    route = outbound.route(lab.world.tenant, recipient)
    hops = [Hop("mailbox", "Cloud mailbox", "alex@contoso.com", "submitted")]
    if route.kind == "mailbox":
        return [*hops, Hop("recipient", "Mailbox", recipient)]
    hops.append(Hop("eop", "Exchange Online Protection", "outbound", _arrow(route)))
    if route.via_on_premises:
        hops.append(Hop("on-premises", "On-premises server", route.next_hop, "its own routing"))
    domain = recipient.rpartition("@")[2]
    hops.append(Hop("recipient", f"Server of {domain}", recipient))
    return hops


def _arrow(route: outbound.OutboundRoute) -> str:
    via = f"connector {route.connector!r}" if route.connector else "no connector: MX"
    return f"{via}\n{'TLS ' + route.tls if route.tls else ''}".strip()


def draw_hops(title: str, hops: list[Hop], note: str = "") -> Figure:
    """A row of boxes joined by labelled arrows (gids box:<key>, hop:<from>-><to>)."""
    width = 26.0 * len(hops)
    fig, ax = new_axes(None, (3.4 * len(hops) + 1.0, 3.6), (width, 40.0))
    ax.text(1.0, 39.0, title, **TITLE, gid="title")
    edge, face, ink = STATES["path"]
    for index, hop in enumerate(hops):
        x = 13.0 + 26.0 * index
        patch = rounded(x - 10.5, 12.0, x + 10.5, 26.0, edgecolor=edge, facecolor=face, linewidth=1.6)
        patch.set(zorder=2, gid=f"box:{hop.key}")
        ax.add_patch(patch)
        ax.text(x, 22.5, hop.title, **BOX_TITLE, color=ink, wrap=True, gid=f"box-title:{hop.key}")
        ax.text(x, 16.5, hop.detail, **BOX_DETAIL, color=ink, gid=f"box-detail:{hop.key}")
        if index + 1 < len(hops):
            start, end = (x + 10.5, 19.0), (x + 15.5, 19.0)
            gid = f"hop:{hop.key}->{hops[index + 1].key}"
            ax.add_patch(FancyArrowPatch(start, end, color=PATH_COLOUR, linewidth=1.8, **ARROW, gid=gid))
            ax.text(
                x + 13.0,
                31.0,
                hop.arrow,
                ha="center",
                va="center",
                color=PATH_COLOUR,
                **LABEL,
                gid=f"{gid}:label",
            )
    if note:
        ax.text(1.0, 5.0, note, ha="left", va="center", fontsize=9.5, color="#555555", gid="note")
    return fig


def draw_inbound(lab: Lab) -> Figure:
    """Where contoso.com's mail from the internet goes now: straight to Microsoft 365, or through a filter."""
    hops = inbound_hops(lab)
    via = (
        "through a third-party filter"
        if any(h.key == "filter" for h in hops)
        else "straight to Microsoft 365"
    )
    return draw_hops(f"Inbound mail: MX {via}", hops, inbound_source(lab).explanation)


def draw_outbound(lab: Lab, recipient: str = "pat@fabrikam.com") -> Figure:
    """How a cloud mailbox's message to `recipient` would leave: by MX, a Partner connector, or on-premises.

    The note says so when the lab's relay does not follow the drawn route (outbound.NOT_FOLLOWED).
    """
    route = outbound.route(lab.world.tenant, recipient)
    title = "Centralized mail transport" if route.via_on_premises else "Outbound mail from Microsoft 365"
    note = route.explanation if route.followed else f"{route.explanation}\n{outbound.NOT_FOLLOWED}"
    return draw_hops(title, outbound_hops(lab, recipient), note)
