"""A delivery report (NDR) shown readably: the user section, the administrators' part, the status fields."""

from __future__ import annotations

import html
from email.message import EmailMessage

import ipywidgets as widgets

from ..policy.ndr import ReportView, read_report

_e = html.escape
_PRE = "font-family:monospace;font-size:11px;white-space:pre-wrap;margin:2px 0 6px 0"


def report_html(view: ReportView) -> str:
    """The report's sections as HTML; every value escaped (a subject may hold markup)."""
    rows = "".join(
        f"<tr><td><b>{_e(name)}</b></td><td>{_e(value)}</td></tr>"
        for block in view.fields
        for name, value in block.items()
    )
    return (
        f"<div class='mfl-report'><b>{_e(view.subject)}</b>"
        f"<div><i>For the sender</i></div><div style='{_PRE}'>{_e(view.for_users)}</div>"
        f"<div><i>Diagnostic information for administrators</i></div>"
        f"<div style='{_PRE}'>{_e(view.for_admins)}</div>"
        f"<div><i>Delivery status (message/delivery-status)</i></div>"
        f"<table style='font-size:11px'>{rows}</table>"
        f"<details><summary>Original message headers</summary>"
        f"<div style='{_PRE}'>{_e(view.original_headers)}</div></details></div>"
    )


def report_of(message: EmailMessage | bytes) -> ReportView | None:
    """The report's sections, or None when the message is no delivery report."""
    if isinstance(message, bytes):
        return read_report(message)
    if message.get_content_type() != "multipart/report":  # the viewer asks for every message in a folder
        return None
    return read_report(message.as_bytes())


def report_view(message: EmailMessage | bytes) -> widgets.HTML:
    """A widget showing one delivery report; a short note for a message that is none."""
    view = report_of(message)
    if view is None:
        return widgets.HTML("<i>This message is no delivery report (NDR).</i>")
    return widgets.HTML(report_html(view))


__all__ = ["report_html", "report_of", "report_view"]
