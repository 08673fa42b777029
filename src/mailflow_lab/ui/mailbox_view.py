"""The mailbox viewer: a lab mailbox's Inbox, Junk Email and Sent Items, authentication headers on demand."""

from __future__ import annotations

import html
from email.message import EmailMessage
from typing import TYPE_CHECKING

import ipywidgets as widgets

from .base import STOPPED_HTML, lab_stopped
from .report_view import report_html, report_of

if TYPE_CHECKING:
    from ..lab.lab import Lab

FOLDERS = ("Inbox", "Junk Email", "Sent Items")
AUTH_HEADERS = ("Authentication-Results", "Received-SPF", "X-Forefront-Antispam-Report")
_e = html.escape


def _message_html(message: EmailMessage, show_headers: bool) -> str:
    sender, subject, date = (_e(str(message.get(h, ""))) for h in ("From", "Subject", "Date"))
    rows = [f"<b>From:</b> {sender} &nbsp; <b>Subject:</b> {subject} &nbsp; <i>{date}</i>"]
    if show_headers:
        for name in AUTH_HEADERS:
            value = message.get(name)
            shown = _e(" ".join(str(value).split())) if value is not None else "<i>not stamped</i>"
            rows.append(f'<div style="font-family:monospace;font-size:11px"><b>{name}:</b> {shown}</div>')
    report = report_of(message)
    if report is not None:  # a non-delivery report: its sections, readably
        rows.append(f"<details><summary>Read this report</summary>{report_html(report)}</details>")
    return '<li style="margin-bottom:4px">' + "".join(rows) + "</li>"


class MailboxViewer(widgets.VBox):
    """A mailbox's Inbox, Junk Email and Sent Items, newest first; headers on demand."""

    def __init__(self, lab: Lab, address: str | None = None) -> None:
        self.lab = lab
        tenant = lab.world.tenant
        options = [(f"{m.address} ({m.display_name})", m.address.lower()) for m in tenant.mailboxes]
        options += [(f"{a} ({o.name})", a.lower()) for o in lab.world.outside for a in o.mailboxes]
        values = [v for _, v in options]
        chosen = (address or values[0]).lower()
        if chosen not in values:
            raise KeyError(f"no mailbox {address} in the lab (mailboxes: {', '.join(values)})")
        # Wide enough for the longest "address (display name)", so no name is cut off.
        longest = max(len(label) for label, _ in options)
        self.address = widgets.Dropdown(
            options=options,
            value=chosen,
            description="Mailbox",
            layout=widgets.Layout(width=f"{longest + 8}ch"),
        )
        self.folder = widgets.ToggleButtons(options=list(FOLDERS), value="Inbox")
        self.show_headers = widgets.ToggleButton(
            value=False, description="Authentication headers", layout=widgets.Layout(width="auto")
        )
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.messages = widgets.HTML()
        for control in (self.address, self.folder, self.show_headers):
            control.observe(lambda _change: self.refresh(), names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())
        top = widgets.HBox([self.address, self.refresh_button, self.show_headers])
        super().__init__([top, self.folder, self.messages])
        self.refresh()

    def refresh(self) -> None:
        address, folder = self.address.value, self.folder.value
        if lab_stopped(self.lab):  # its folders are gone with it: "0 messages" would mislead
            self.messages.value = STOPPED_HTML
            return
        found = list(reversed(self.lab.mailbox(address).folder(folder)))
        items = "".join(_message_html(m, self.show_headers.value) for m in found)
        head = f"<b>{_e(folder)}</b> of {_e(address)}: {len(found)} message{'s' if len(found) != 1 else ''}"
        self.messages.value = f'<div class="mfl-mailbox">{head}<ul>{items}</ul></div>'


def mailbox_viewer(lab: Lab, address: str | None = None) -> MailboxViewer:
    """Browse the lab's mailboxes, Fabrikam's included (pat@fabrikam.com)."""
    return MailboxViewer(lab, address)


__all__ = ["AUTH_HEADERS", "FOLDERS", "MailboxViewer", "mailbox_viewer"]
