"""The message trace (Get-MessageTrace) as an HTML table widget, newest first."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..store.trace import TraceRecord, format_received
from .base import STOPPED_HTML, lab_stopped

if TYPE_CHECKING:
    from ..lab.lab import Lab

STATUS_COLOURS = {
    "Delivered": "#2b6e2b",
    "FilteredAsSpam": "#c26a00",
    "Quarantined": "#7b3fa0",
    "Failed": "#b00020",
    "Pending": "#1f4e9c",
    "GettingStatus": "#777777",
    "Expanded": "#1f4e9c",
}
_e = html.escape


def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#777777")
    return (
        f'<span style="background:{colour};color:white;padding:1px 6px;border-radius:3px" '
        f'data-status="{_e(status)}">{_e(status)}</span>'
    )


def _trace_row(record: TraceRecord) -> str:
    events = "".join(
        f'<div title="rule: {_e(e.rule)}" data-rule="{_e(e.rule)}">{_e(format_received(e.date))} '
        f"<b>{_e(e.event)}</b> {_e(e.detail)}</div>"
        for e in record.events
    )
    details = (
        f"<details><summary>{len(record.events)} events</summary>{events}"
        f"<div>MessageId {_e(record.message_id)}<br>MessageTraceId {_e(record.message_trace_id)}</div>"
        "</details>"
    )
    cells = [
        _e(format_received(record.received)),
        _e(record.sender_address),
        _e(record.recipient_address),
        _e(record.subject),
        _status(record.status),
        _e(record.from_ip),
        _e(record.to_ip),
        str(record.size),
        details,
    ]
    return (
        "<tr>" + "".join(f'<td style="padding:2px 6px;vertical-align:top">{c}</td>' for c in cells) + "</tr>"
    )


def trace_html(records: Iterable[TraceRecord]) -> str:
    """Get-MessageTrace rows as an HTML table, in the order given (the lab gives newest first)."""
    columns = ("Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "FromIP", "ToIP", "Size")
    head = "".join(f'<th style="text-align:left;padding:2px 6px">{c}</th>' for c in (*columns, "Detail"))
    rows = "".join(_trace_row(r) for r in records)
    if not rows:
        rows = f'<tr><td colspan="{len(columns) + 1}"><i>No messages in the trace yet.</i></td></tr>'
    return (
        '<table class="mfl-trace" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


class TraceTable(widgets.HTML):
    """The lab's message trace (Get-MessageTrace), newest first; call `refresh()` after sending."""

    def __init__(self, lab: Lab, **filters: Any) -> None:
        super().__init__()
        self.lab = lab
        self.filters = filters
        self.refresh()

    def refresh(self) -> None:
        if lab_stopped(self.lab):
            self.value = STOPPED_HTML
            return
        self.value = trace_html(self.lab.message_trace(**self.filters))


def trace_table(lab: Lab, **filters: Any) -> TraceTable:
    """The message trace as a table; filters as `lab.message_trace` takes them (sender=, recipient=...)."""
    return TraceTable(lab, **filters)


__all__ = ["STATUS_COLOURS", "TraceTable", "trace_html", "trace_table"]
