"""Course charts: throttling per minute, the rolling daily quota, the outcome grid, the auth timeline."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib import dates as mdates
from matplotlib.colors import to_rgba
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from mailflow_lab.ui import plots

START = datetime(2026, 3, 10, 9, 0, 30, tzinfo=UTC)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG"), "not a PNG"
    return data


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def bars(fig: Figure) -> dict[str, list[float]]:
    (ax,) = fig.axes
    return {
        c.get_label(): [bar.get_height() for bar in c] for c in ax.containers if isinstance(c, BarContainer)
    }


def one_gid(fig: Figure, gid: str) -> object:
    (artist,) = [a for a in fig.findobj() if a.get_gid() == gid]
    return artist


def burst(count: int, outcome: str, at: datetime = START, spacing: float = 1.0) -> list[tuple[datetime, str]]:
    return [(at + timedelta(seconds=i * spacing), outcome) for i in range(count)]


# -- throttling per minute ---------------------------------------------------------------------------------


def test_31_messages_in_one_minute_are_30_delivered_and_1_delayed() -> None:
    events = [*burst(30, "delivered"), (START + timedelta(seconds=45), "delayed")]
    assert plots.minute_counts(events) == {"delivered": [30], "delayed": [1], "refused": [0]}
    fig = plots.throttling_timeline(events)
    png(fig)
    assert bars(fig) == {"delivered": [30], "delayed": [1], "refused": [0]}
    (ax,) = fig.axes
    delayed = next(c for c in ax.containers if c.get_label() == "delayed")
    assert delayed[0].get_y() == 30  # stacked on top of the delivered ones
    assert delayed[0].get_facecolor() == to_rgba(plots.BAR_COLOURS["delayed"])
    limit = one_gid(fig, "limit")
    assert limit.get_ydata()[0] == 30  # type: ignore[attr-defined]
    assert limit.get_linestyle() == "--"  # type: ignore[attr-defined]
    assert ax.get_xlabel() == "minutes since the first message"
    assert "limit: 30 messages per minute" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_forty_at_once_show_the_ten_carried_into_the_next_minute() -> None:
    """Notebook 02's burst: 40 sent in one frozen minute, 10 held, delivered when the clock moves on."""
    events = [*burst(30, "delivered", spacing=0), *burst(10, "delayed", spacing=0)]
    events += burst(10, "delivered", at=START + timedelta(minutes=1), spacing=0)
    fig = plots.throttling_timeline(events)
    assert bars(fig) == {"delivered": [30, 10], "delayed": [10, 0], "refused": [0, 0]}
    (ax,) = fig.axes
    assert ax.get_xlim()[0] < 0 < 1 < ax.get_xlim()[1]  # both minutes on the axis


def test_minutes_count_from_the_first_event_and_gaps_are_zero() -> None:
    # 09:00:30 + 59 s is still minute 0; +60 s is minute 1; nothing in minute 2; one refusal in minute 3.
    events = [
        (START + timedelta(seconds=59), "delivered"),
        (START, "delivered"),
        (START + timedelta(seconds=60), "refused"),
        (START + timedelta(minutes=3, seconds=5), "refused"),
    ]
    assert plots.minute_counts(events) == {
        "delivered": [2, 0, 0, 0],
        "delayed": [0, 0, 0, 0],
        "refused": [0, 1, 0, 1],
    }
    fig = plots.throttling_timeline(events, limit_per_minute=2)
    assert bars(fig)["refused"] == [0, 1, 0, 1]
    assert one_gid(fig, "limit").get_ydata()[0] == 2  # type: ignore[attr-defined]


def test_no_events_still_draws_the_limit() -> None:
    fig = plots.throttling_timeline([])
    png(fig)
    assert "no messages yet" in texts(fig)
    assert bars(fig) == {"delivered": [], "delayed": [], "refused": []}


def test_an_unknown_outcome_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"\['bounced'\].*'delivered', 'delayed', 'refused'"):
        plots.throttling_timeline([(START, "bounced")])


def test_draws_into_a_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.throttling_timeline(burst(3, "delivered"), ax=ax) is fig
    assert plots.daily_quota([(START, 5)], ax=fig.add_subplot(2, 1, 2)) is fig


# -- the rolling 24 hour recipient quota ---------------------------------------------------------------------


def test_rolling_recipients_forget_what_is_24_hours_old() -> None:
    points = [(START, 4000), (START + timedelta(hours=12), 4000), (START + timedelta(hours=24), 4000)]
    totals = [total for _, total in plots.rolling_recipients(list(reversed(points)))]
    assert totals == [4000, 8000, 8000]  # at 24 h the first send has left the window


def test_daily_quota_marks_the_sends_over_10000() -> None:
    points = [(START + timedelta(hours=hour), 1500) for hour in range(0, 16, 2)]  # 8 sends, 12,000 recipients
    fig = plots.daily_quota(points)
    png(fig)
    quota = one_gid(fig, "quota")
    assert quota.get_ydata()[0] == 10_000  # type: ignore[attr-defined]
    assert quota.get_linestyle() == "--"  # type: ignore[attr-defined]
    over = one_gid(fig, "over-quota")
    assert len(over.get_offsets()) == 2  # type: ignore[attr-defined]  # 10,500 and 12,000
    (ax,) = fig.axes
    (line,) = [line for line in ax.get_lines() if line.get_label() == "recipients in the last 24 h"]
    assert list(line.get_ydata()) == [1500 * n for n in range(1, 9)]
    assert list(line.get_xdata()) == [float(h) for h in range(0, 16, 2)]
    assert "quota: 10,000 per 24 h" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_daily_quota_under_the_limit_has_no_marks() -> None:
    fig = plots.daily_quota([(START, 20)], quota=100)
    assert not [a for a in fig.findobj() if a.get_gid() == "over-quota"]
    assert plots.daily_quota([]).findobj(lambda a: isinstance(a, Text) and a.get_text() == "no messages yet")


# -- the outcome grid ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Inbox", "Inbox"),
        ("delivered to Inbox", "Inbox"),
        ("Junk Email", "Junk Email"),
        ("Junk Email (SPF fail)", "Junk Email"),
        ("quarantine", "quarantine"),
        ("Quarantined (high confidence phish)", "quarantine"),
        ("rejected", "rejected"),
        ("refused 5.7.64", "rejected"),
        ("550 5.7.68 Direct Send not allowed", "rejected"),
        ("n/a", "n/a"),
        ("", "n/a"),
    ],
)
def test_outcome_colour(text: str, key: str) -> None:
    assert plots.outcome_colour(text) == plots.OUTCOME_COLOURS[key]


def test_outcome_matrix_colours_each_cell_and_writes_its_text() -> None:
    rows = ["Lobby scanner", "Warehouse printer"]
    columns = ["smtp-auth", "direct-send", "relay"]
    cells = {
        ("Lobby scanner", "smtp-auth"): "Inbox",
        ("Lobby scanner", "direct-send"): "Junk Email",
        ("Lobby scanner", "relay"): "quarantine",
        ("Warehouse printer", "smtp-auth"): "rejected 535 5.7.139",
        ("Warehouse printer", "direct-send"): "refused",
    }
    fig = plots.outcome_matrix(rows, columns, cells)
    png(fig)
    expected = {
        ("Lobby scanner", "smtp-auth"): "Inbox",
        ("Lobby scanner", "direct-send"): "Junk Email",
        ("Lobby scanner", "relay"): "quarantine",
        ("Warehouse printer", "smtp-auth"): "rejected",
        ("Warehouse printer", "direct-send"): "rejected",
        ("Warehouse printer", "relay"): "n/a",  # not given
    }
    for (row, column), key in expected.items():
        cell = one_gid(fig, f"cell:{row}|{column}")
        assert isinstance(cell, Rectangle)
        assert cell.get_facecolor() == to_rgba(plots.OUTCOME_COLOURS[key]), (row, column)
        text = one_gid(fig, f"cell-text:{row}|{column}")
        assert text.get_text() == cells.get((row, column), "n/a")  # type: ignore[attr-defined]
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == columns
    assert [t.get_text() for t in ax.get_yticklabels()] == rows
    # The first row is drawn on top.
    assert one_gid(fig, "cell:Lobby scanner|relay").get_y() == 0  # type: ignore[attr-defined]


# -- the basic-auth retirement timeline ---------------------------------------------------------------------


def test_basic_auth_timeline_shows_the_milestones_and_today() -> None:
    today = date(2026, 5, 27)
    fig = plots.basic_auth_timeline(today=today)
    png(fig)
    shown = " ".join(t.replace("\n", " ") for t in texts(fig))
    for needle in [
        "27 Jan 2026: Exchange Team blog",
        "Unchanged until December 2026",
        "End of December 2026: disabled by default for existing tenants (admins may re-enable)",
        "New tenants after December 2026: unavailable by default",
        "Final removal date announced in the second half of 2027",
        "550 5.7.30",
        "today (27 May 2026)",
    ]:
        assert needle in shown, needle
    marker = one_gid(fig, "today")
    assert marker.get_xdata()[0] == mdates.date2num(today)  # type: ignore[attr-defined]
    milestones = [a for a in fig.findobj() if (a.get_gid() or "").startswith("milestone:")]
    assert len(milestones) == len(plots.BASIC_AUTH_MILESTONES) == 5
    assert {m.start for m in plots.BASIC_AUTH_MILESTONES} >= {date(2026, 12, 31), date(2027, 7, 1)}
    (ax,) = fig.axes
    left, right = ax.get_xlim()
    assert left < mdates.date2num(date(2026, 1, 27)) and mdates.date2num(date(2027, 12, 31)) < right


def test_the_timeline_stretches_to_a_far_today() -> None:
    fig = plots.basic_auth_timeline(today=date(2029, 2, 1))
    (ax,) = fig.axes
    assert ax.get_xlim()[1] > mdates.date2num(date(2029, 2, 1))
    assert "today (01 Feb 2029)" in texts(fig)


def test_the_timeline_defaults_to_the_real_today() -> None:
    fig = plots.basic_auth_timeline()
    assert f"today ({date.today():%d %b %Y})" in texts(fig)


# -- notebooks ---------------------------------------------------------------------------------------------


def test_figures_show_as_images_in_a_notebook_without_pyplot() -> None:
    from IPython.core.formatters import DisplayFormatter

    for fig in [
        plots.throttling_timeline(burst(2, "delivered")),
        plots.basic_auth_timeline(today=date(2026, 6, 1)),
    ]:
        assert isinstance(fig, plots.NotebookFigure)
        data, _ = DisplayFormatter().format(fig)
        assert data["image/png"].startswith(b"\x89PNG")
