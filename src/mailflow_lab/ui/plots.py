"""Charts for the course: throttling per minute, the daily quota, outcome grids, the basic-auth timeline."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from ..policy import replies as R
from ..policy.replies import Reply
from ..policy.submission import MESSAGES_PER_MINUTE, RECIPIENTS_PER_DAY

OUTCOMES = ("delivered", "delayed", "refused")
BAR_COLOURS = {"delivered": "#4caf50", "delayed": "#f2b134", "refused": "#d62728"}
OUTCOME_COLOURS = {
    "Inbox": "#8fd19e",
    "Junk Email": "#ffd966",
    "quarantine": "#f4a261",
    "rejected": "#e57373",
    "n/a": "#d9d9d9",
}
OTHER_COLOUR = "#dce6f2"  # an outcome the grid does not know, e.g. "Sent Items"
LIMIT_COLOUR, QUOTA_COLOUR, TODAY_COLOUR = "#444444", "#d62728", "#1f6fb4"
# The submission limits the charts draw (MESSAGES_PER_MINUTE, RECIPIENTS_PER_DAY) are the policy's.


class NotebookFigure(Figure):
    """A Figure that Jupyter shows as an image even when pyplot was never imported (no inline backend)."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        ax = NotebookFigure(figsize=figsize, layout="constrained").add_subplot()
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    return fig, ax


def minute_counts(events: Sequence[tuple[datetime, str]]) -> dict[str, list[int]]:
    """Messages per minute by outcome, minute 0 starting at the first event; every outcome, every minute."""
    unknown = sorted({outcome for _, outcome in events} - set(OUTCOMES))
    if unknown:
        raise ValueError(f"unknown outcome(s) {unknown}: use {', '.join(repr(o) for o in OUTCOMES)}")
    if not events:
        return {outcome: [] for outcome in OUTCOMES}
    start = min(when for when, _ in events)
    minutes = [(int((when - start).total_seconds() // 60), outcome) for when, outcome in events]
    span = max(minute for minute, _ in minutes) + 1
    counts = {outcome: [0] * span for outcome in OUTCOMES}
    for minute, outcome in minutes:
        counts[outcome][minute] += 1
    return counts


def throttling_timeline(
    events: Sequence[tuple[datetime, str]],
    *,
    limit_per_minute: int = MESSAGES_PER_MINUTE,
    ax: Axes | None = None,
) -> Figure:
    """Stacked bars of messages per minute by outcome, with the per-minute limit as a dashed line."""
    counts = minute_counts(events)
    fig, ax = _axes(ax, (9.0, 4.5))
    minutes = list(range(len(counts["delivered"])))
    bottom = [0] * len(minutes)
    for outcome in OUTCOMES:
        ax.bar(minutes, counts[outcome], 0.8, bottom=bottom, color=BAR_COLOURS[outcome], label=outcome)
        bottom = [b + c for b, c in zip(bottom, counts[outcome], strict=True)]
    ax.axhline(
        limit_per_minute,
        color=LIMIT_COLOUR,
        linestyle="--",
        linewidth=1.5,
        label=f"limit: {limit_per_minute} messages per minute",
        gid="limit",
    )
    if not minutes:
        ax.text(
            0.5, 0.5, "no messages yet", transform=ax.transAxes, ha="center", va="center", color="#777777"
        )
    ax.set_xlim(-0.6, max(len(minutes), 1) - 0.4)
    ax.set_ylim(0, max([limit_per_minute, *bottom]) * 1.45)  # headroom for the legend above the limit
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="minutes since the first message", ylabel="messages", title="Messages per minute by outcome"
    )
    ax.legend(loc="upper right", fontsize=9)
    return fig


def rolling_recipients(
    points: Sequence[tuple[datetime, int]], window: timedelta = timedelta(hours=24)
) -> list[tuple[datetime, int]]:
    """For each send (time, recipients), in time order: the recipients sent in the `window` up to it."""
    ordered = sorted(points, key=lambda point: point[0])
    totals: list[tuple[datetime, int]] = []
    first, running = 0, 0
    for when, recipients in ordered:
        running += recipients
        while ordered[first][0] <= when - window:  # left the window: older than 24 hours
            running -= ordered[first][1]
            first += 1
        totals.append((when, running))
    return totals


def daily_quota(
    points: Sequence[tuple[datetime, int]],
    *,
    quota: int = RECIPIENTS_PER_DAY,
    ax: Axes | None = None,
) -> Figure:
    """Recipients sent in the rolling 24 hours, as a step line over time, with the daily quota line."""
    totals = rolling_recipients(points)
    fig, ax = _axes(ax, (9.0, 4.5))
    if totals:
        start = totals[0][0]
        hours = [(when - start).total_seconds() / 3600 for when, _ in totals]
        values = [total for _, total in totals]
        ax.step(
            hours, values, where="post", color=TODAY_COLOUR, linewidth=2, label="recipients in the last 24 h"
        )
        over = [(h, v) for h, v in zip(hours, values, strict=True) if v > quota]
        if over:  # [AUTHSMTP]: NDR 5.2.2 "Submission quota exceeded"
            ax.scatter(
                *zip(*over, strict=True),
                color=QUOTA_COLOUR,
                zorder=3,
                gid="over-quota",
                label="over the quota: 5.2.2 Submission quota exceeded",
            )
        ax.set_xlim(0, max(hours[-1], 1.0) * 1.05)
    else:
        ax.text(
            0.5, 0.5, "no messages yet", transform=ax.transAxes, ha="center", va="center", color="#777777"
        )
    ax.axhline(
        quota,
        color=QUOTA_COLOUR,
        linestyle="--",
        linewidth=1.5,
        label=f"quota: {quota:,} per 24 h",
        gid="quota",
    )
    ax.set_ylim(0, max([quota, *(total for _, total in totals)]) * 1.15)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set(
        xlabel="hours since the first message", ylabel="recipients", title="Recipients in a rolling 24 hours"
    )
    ax.legend(loc="lower right", fontsize=9)
    return fig


def outcome_colour(text: str) -> str:
    """The grid colour for an outcome's text: Inbox green, Junk amber, quarantine orange, refused red."""
    lowered = text.strip().lower()
    if not lowered or lowered.startswith("n/a"):
        return OUTCOME_COLOURS["n/a"]
    if "reject" in lowered or "refus" in lowered or lowered[:1] == "5":  # a 5xx reply is a refusal
        return OUTCOME_COLOURS["rejected"]
    for word, key in (("quarantin", "quarantine"), ("junk", "Junk Email"), ("inbox", "Inbox")):
        if word in lowered:
            return OUTCOME_COLOURS[key]
    return OTHER_COLOUR


def outcome_matrix(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Mapping[tuple[str, str], str],
    ax: Axes | None = None,
) -> Figure:
    """A grid of setups (rows) by options (columns), each cell coloured by its outcome, with its text."""
    fig, ax = _axes(ax, (2.4 + 2.1 * len(columns), 0.9 + 0.75 * len(rows)))
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            text = cells.get((row, column), "n/a")
            ax.add_patch(
                Rectangle(
                    (j, i),
                    1,
                    1,
                    facecolor=outcome_colour(text),
                    edgecolor="white",
                    linewidth=3,
                    gid=f"cell:{row}|{column}",
                )
            )
            ax.text(
                j + 0.5,
                i + 0.5,
                "\n".join(textwrap.wrap(text, 24)) or text,
                ha="center",
                va="center",
                fontsize=9,
                color="#1b1b1b",
                gid=f"cell-text:{row}|{column}",
            )
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)  # first row on top
    ax.set_xticks([j + 0.5 for j in range(len(columns))], list(columns))
    ax.set_yticks([i + 0.5 for i in range(len(rows))], list(rows))
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig


def _codes(reply: Reply) -> str:
    """A reply's code and enhanced status code, the way the timeline labels quote a refusal."""
    return f"{reply.code} {reply.enhanced}"


@dataclass(frozen=True)
class Milestone:
    """A step in the SMTP AUTH basic-auth retirement; `end` set when it is a period, not a day."""

    start: date
    label: str
    end: date | None = None


# Exchange Team blog, 27 Jan 2026 (replacing the earlier March-April 2026 plan); replies from [AUTHSMTP].
BASIC_AUTH_MILESTONES = (
    Milestone(date(2026, 1, 27), "27 Jan 2026: Exchange Team blog announces the plan"),
    Milestone(date(2026, 1, 27), "Unchanged until December 2026", end=date(2026, 12, 31)),
    Milestone(
        date(2026, 12, 31),
        "End of December 2026: disabled by default for existing tenants "
        f"(admins may re-enable); then {_codes(R.AUTH_BASIC_DISABLED)} basic authentication is disabled",
    ),
    Milestone(date(2027, 1, 1), "New tenants after December 2026: unavailable by default"),
    Milestone(
        date(2027, 7, 1),
        "Final removal date announced in the second half of 2027; "
        f"after removal: {_codes(R.BASIC_AUTH_RETIRED)}",
        end=date(2027, 12, 31),
    ),
)


def basic_auth_timeline(ax: Axes | None = None, *, today: date | None = None) -> Figure:
    """The SMTP AUTH basic-auth retirement as milestones on a date axis, with a "today" marker."""
    today = today or date.today()
    fig, ax = _axes(ax, (12.0, 4.8))
    levels = (0.55, 0.3, 0.8, -0.45, 0.55)  # label heights, staggered so neighbours never collide
    for index, (milestone, level) in enumerate(zip(BASIC_AUTH_MILESTONES, levels, strict=True)):
        start = mdates.date2num(milestone.start)
        colour = "#4caf50" if index == 1 else QUOTA_COLOUR if index > 1 else "#777777"
        if milestone.end is not None:
            ax.axvspan(
                start,
                mdates.date2num(milestone.end),
                ymin=0.47,
                ymax=0.53,
                color=colour,
                alpha=0.5,
                gid=f"milestone-span:{index}",
            )
        ax.vlines(start, 0, level, color=colour, linewidth=1.2)
        ax.plot(start, 0, marker="o", color=colour, markersize=7, gid=f"milestone:{index}")
        ax.text(
            start,
            level,
            "\n".join(textwrap.wrap(milestone.label, 38)),
            ha="left",
            va="center",
            fontsize=8.5,
            gid=f"milestone-label:{index}",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": colour},
        )
    ax.axhline(0, color="#555555", linewidth=1.5, zorder=0)
    first, last = (
        min(date(2025, 10, 1), today - timedelta(days=60)),
        max(date(2028, 6, 30), today + timedelta(days=60)),
    )
    now = mdates.date2num(today)
    ax.axvline(now, color=TODAY_COLOUR, linestyle="--", linewidth=1.5, gid="today")
    ax.text(
        now,
        -0.92,
        f"today ({today:%d %b %Y})",
        ha="center",
        va="bottom",
        color=TODAY_COLOUR,
        fontsize=9,
        fontweight="bold",
        gid="today-label",
        bbox={"facecolor": "white", "edgecolor": "none"},
    )
    ax.set_xlim(mdates.date2num(first), mdates.date2num(last))
    ax.set_ylim(-1, 1)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.yaxis.set_visible(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title("SMTP AUTH with basic authentication (user name + password): the retirement timeline")
    return fig
