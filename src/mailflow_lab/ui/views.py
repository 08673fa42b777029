"""Widgets to look at a lab: the message trace, mailboxes, an SMTP transcript, and a DNS record editor."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import ipywidgets as widgets

from ..auth.spf import check_spf
from ..client.device import SendResult
from ..labdns.worlddns import load_world_dns
from ..policy.explain import Explanation, explain
from ..policy.replies import Reply
from ..store.trace import TraceRecord, format_received

if TYPE_CHECKING:
    from ..lab.lab import Lab

FOLDERS = ("Inbox", "Junk Email", "Sent Items")
AUTH_HEADERS = ("Authentication-Results", "Received-SPF", "X-Forefront-Antispam-Report")
RECORD_TYPES = ("TXT", "MX", "A", "AAAA", "CNAME", "NS")
STATUS_COLOURS = {
    "Delivered": "#2b6e2b",
    "FilteredAsSpam": "#c26a00",
    "Quarantined": "#7b3fa0",
    "Failed": "#b00020",
    "Pending": "#1f4e9c",
    "GettingStatus": "#777777",
    "Expanded": "#1f4e9c",
}
SIDE_COLOURS = {"C": "#1f4e9c", "S": "#2b6e2b", "*": "#777777"}
FAIL_COLOUR = "#b00020"
TXT_CHUNK = 255  # RFC 1035 §3.3: one character-string holds at most 255 octets
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3}) (.*)$", re.DOTALL)
_e = html.escape


# -- message trace -----------------------------------------------------------------------------------
def _status(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#777777")
    return (
        f'<span style="background:{colour};color:white;padding:1px 6px;border-radius:3px" '
        f'data-status="{_e(status)}">{_e(status)}</span>'
    )


def _trace_row(record: TraceRecord) -> str:
    events = "".join(
        f"<div>{_e(format_received(e.date))} <b>{_e(e.event)}</b> {_e(e.detail)} <i>({_e(e.rule)})</i></div>"
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
        self.value = trace_html(self.lab.message_trace(**self.filters))


def trace_table(lab: Lab, **filters: Any) -> TraceTable:
    """The message trace as a table; filters as `lab.message_trace` takes them (sender=, recipient=...)."""
    return TraceTable(lab, **filters)


# -- SMTP transcript ---------------------------------------------------------------------------------
def _reply_of(texts: list[str]) -> Reply:
    code = int(texts[0][:3])
    text = " ".join(t[4:] for t in texts)
    match = _ENHANCED.match(text)
    return Reply(code, match[1], match[2]) if match else Reply(code, None, text)


def _explanation_html(found: Explanation, colour: str = "#f0a000") -> str:
    return (
        f'<div class="mfl-explain" style="margin:2px 0 8px 4.5em;padding:4px 8px;background:#fff8e1;'
        f'border-left:4px solid {colour};font-family:sans-serif;white-space:normal">'
        f"<b>{_e(found.step)}</b>: {_e(found.headline)}<br><b>Fix:</b> <code>{_e(found.fix)}</code>"
        f' <span style="color:#777">({_e(found.rule)})</span></div>'
    )


def _line_html(side: str, text: str, *, failing: bool = False, command: bool = False) -> str:
    label = {"C": "device", "S": "server", "*": ""}[side]
    colour = FAIL_COLOUR if failing else SIDE_COLOURS[side]
    style = f"color:{colour};font-family:monospace;white-space:pre-wrap"
    if failing:
        style += ";background:#fde7ea;border-left:4px solid #b00020;font-weight:bold"
    elif command:
        style += ";background:#fff3f3"
    if side == "*":
        style += ";font-style:italic"
    css = "mfl-line mfl-fail" if failing else "mfl-line"
    return f'<div class="{css}" data-side="{side}" style="{style}"><b>{label:>6}</b> {_e(text)}</div>'


def transcript_html(result: SendResult, placeholders: Mapping[str, str] | None = None) -> str:
    """The dialogue, each refusal highlighted with its explanation under it; a note when no reply came."""
    lines = result.transcript.lines
    fill = dict(placeholders or {})
    failing: dict[int, Explanation] = {}  # index of the last line of a refusal -> its explanation
    marked: set[int] = set()
    commands: set[int] = set()
    start: int | None = None
    for index, line in enumerate(lines):
        if line.side == "*" and result.error and line.text == result.error:
            failing[index] = explain(None, error=result.error).filled(fill)
            marked.add(index)
        if line.side != "S" or not line.text[:3].isdigit():
            start = None
            continue
        start = index if start is None else start
        if line.text[3:4] == "-":
            continue
        group = range(start, index + 1)
        start = None
        reply = _reply_of([lines[i].text for i in group])
        if reply.code >= 400:
            failing[index] = explain(reply).filled(fill)
            marked.update(group)
            before = group.start - 1
            if before >= 0 and lines[before].side == "C":
                commands.add(before)
    parts = []
    for index, line in enumerate(lines):
        parts.append(_line_html(line.side, line.text, failing=index in marked, command=index in commands))
        if index in failing:
            parts.append(_explanation_html(failing[index]))
    if result.error and not any(line.side == "*" and line.text == result.error for line in lines):
        parts.append(_explanation_html(explain(None, error=result.error).filled(fill)))
    if result.accepted and result.reply is not None:
        parts.append(_explanation_html(explain(result.reply).filled(fill), colour="#2b6e2b"))
    return '<div class="mfl-transcript">' + "".join(parts) + "</div>"


def transcript_view(result: SendResult, *, placeholders: Mapping[str, str] | None = None) -> widgets.HTML:
    """A send's transcript: device and server lines coloured, refusals highlighted and explained."""
    return widgets.HTML(transcript_html(result, placeholders))


# -- mailboxes ---------------------------------------------------------------------------------------
def _message_html(message: EmailMessage, show_headers: bool) -> str:
    sender, subject, date = (_e(str(message.get(h, ""))) for h in ("From", "Subject", "Date"))
    rows = [f"<b>From:</b> {sender} &nbsp; <b>Subject:</b> {subject} &nbsp; <i>{date}</i>"]
    if show_headers:
        for name in AUTH_HEADERS:
            value = message.get(name)
            shown = _e(" ".join(str(value).split())) if value is not None else "<i>not stamped</i>"
            rows.append(f'<div style="font-family:monospace;font-size:11px"><b>{name}:</b> {shown}</div>')
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
        self.address = widgets.Dropdown(options=options, value=chosen, description="Mailbox")
        self.folder = widgets.ToggleButtons(options=list(FOLDERS), value="Inbox")
        self.show_headers = widgets.ToggleButton(value=False, description="Authentication headers")
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
        found = list(reversed(self.lab.mailbox(address).folder(folder)))
        items = "".join(_message_html(m, self.show_headers.value) for m in found)
        head = f"<b>{_e(folder)}</b> of {_e(address)}: {len(found)} message{'s' if len(found) != 1 else ''}"
        self.messages.value = f'<div class="mfl-mailbox">{head}<ul>{items}</ul></div>'


def mailbox_viewer(lab: Lab, address: str | None = None) -> MailboxViewer:
    """Browse the lab's mailboxes, Fabrikam's included (pat@fabrikam.com)."""
    return MailboxViewer(lab, address)


# -- DNS ---------------------------------------------------------------------------------------------
def txt_value(line: str) -> str:
    """A TXT value as typed (v=spf1 ...) in zone-file form: quoted, split into 255-octet strings."""
    if line.startswith('"'):
        return line  # already in zone-file form
    escaped = [
        line[i : i + TXT_CHUNK].replace("\\", "\\\\").replace('"', '\\"')
        for i in range(0, len(line), TXT_CHUNK)
    ]
    return " ".join(f'"{chunk}"' for chunk in escaped or [""])


def shown_value(rdtype: str, record: Any) -> str:
    """A record as a learner types it: TXT strings joined and unquoted, anything else as in a zone file."""
    if rdtype == "TXT":
        return b"".join(record.strings).decode("utf-8", "replace")
    return str(record.to_text())


class DNSEditor(widgets.VBox):
    """Edit the lab zones: a name and type, one value a line; Save publishes, Reset restores the zone file."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._original = load_world_dns(lab.world)
        default = next((d.name for d in lab.world.tenant.accepted_domains if d.default), "")
        zones = sorted((o.rstrip(".") for o in lab.dns.origins), key=lambda z: (z != default, z))
        self.zone = widgets.Dropdown(options=zones, value=zones[0], description="Zone")
        self.name = widgets.Combobox(description="Name", ensure_option=False, continuous_update=False)
        self.rdtype = widgets.Dropdown(options=list(RECORD_TYPES), value="TXT", description="Type")
        self.values = widgets.Textarea(
            rows=4, layout=widgets.Layout(width="95%"), placeholder="one record per line, e.g. v=spf1 -all"
        )
        self.save_button = widgets.Button(description="Save", button_style="primary", icon="save")
        self.reset_button = widgets.Button(
            description="Reset", icon="undo", tooltip="as the zone file has it"
        )
        self.status = widgets.HTML()
        self.zone.observe(lambda _change: self._zone_changed(), names="value")
        self.name.observe(lambda _change: self._name_changed(), names="value")
        self.rdtype.observe(lambda _change: self.load(), names="value")
        self.save_button.on_click(lambda _button: self.save())
        self.reset_button.on_click(lambda _button: self.reset())
        buttons = widgets.HBox([self.save_button, self.reset_button])
        super().__init__(
            [widgets.HBox([self.zone, self.name, self.rdtype]), self.values, buttons, self.status]
        )
        self._zone_changed()

    # -- choosing ------------------------------------------------------------------------------------
    def names(self, zone: str) -> list[str]:
        found = self.lab.dns.zone_for(zone)
        if found is None:
            return []
        names = {n.derelativize(found.origin).to_text(omit_final_dot=True) for n in found.nodes}
        return sorted(names, key=lambda n: (n != zone, n))

    def _zone_changed(self) -> None:
        options = self.names(self.zone.value)
        self.name.options = options
        if self.name.value == self.zone.value:
            self._name_changed()
        else:
            self.name.value = self.zone.value

    def _name_changed(self) -> None:
        present = [t for t in RECORD_TYPES if self._records(self.name.value, t)]
        if present and self.rdtype.value not in present:
            self.rdtype.value = present[0]  # loads through the observer
        else:
            self.load()

    def _records(self, name: str, rdtype: str) -> list[str]:
        if not name.strip():
            return []
        try:
            answer = self.lab.dns.resolve(name, rdtype, follow_cname=False)
        except dns.exception.DNSException:
            return []
        return [shown_value(rdtype, r) for r in answer.records]

    def load(self) -> None:
        """Show what the lab DNS publishes now at the chosen name and type."""
        self.values.value = "\n".join(self._records(self.name.value, self.rdtype.value))
        self._show("")

    # -- changing ------------------------------------------------------------------------------------
    def save(self) -> bool:
        """Publish the textarea's values (none: delete the records); False with a message on bad input."""
        name, rdtype = self.name.value.strip().rstrip("."), self.rdtype.value
        lines = [line.strip() for line in self.values.value.splitlines() if line.strip()]
        problem = self._check(name, rdtype, lines)
        if problem is not None:
            self._show(problem, error=True)
            return False
        values = [txt_value(v) if rdtype == "TXT" else v for v in lines]
        try:
            if values:
                self.lab.dns.set_records(name, rdtype, values)
            elif self._records(name, rdtype):
                self.lab.dns.remove_records(name, rdtype)
        except (dns.exception.DNSException, KeyError, ValueError) as exc:
            self._show(f"Not saved: {exc}", error=True)
            return False
        if name not in self.name.options and self.lab.dns.zone_for(name) is not None:
            self.name.options = self.names(self.zone.value)
        self._show("Saved.")
        return True

    def reset(self) -> None:
        """Restore the chosen name and type to what the world's zone file publishes."""
        name, rdtype = self.name.value.strip().rstrip("."), self.rdtype.value
        try:
            original = self._original.resolve(name, rdtype, follow_cname=False).records
            if original:
                self.lab.dns.set_records(name, rdtype, [r.to_text() for r in original])
            elif self._records(name, rdtype):
                self.lab.dns.remove_records(name, rdtype)
        except (dns.exception.DNSException, KeyError, ValueError) as exc:
            self._show(f"Not reset: {exc}", error=True)
            return
        self.values.value = "\n".join(self._records(name, rdtype))
        self._show("Reset to the zone file.")

    def _check(self, name: str, rdtype: str, lines: list[str]) -> str | None:
        """Why the input cannot be published, in a learner's words, or None."""
        try:
            qname = dns.name.from_text(name + ".")
        except dns.exception.DNSException as exc:
            return f"Not saved: {name!r} is not a valid DNS name ({exc})"
        zone = self.lab.dns.zone_for(qname)
        if zone is None:
            return f"Not saved: {name} is in no lab zone (zones: {', '.join(self.zone.options)})"
        kind = dns.rdatatype.from_text(rdtype)
        for line in lines:
            value = txt_value(line) if rdtype == "TXT" else line
            try:
                dns.rdata.from_text(dns.rdataclass.IN, kind, value, origin=zone.origin, relativize=False)
            except dns.exception.DNSException as exc:
                return f"Not saved: {line!r} is not a valid {rdtype} record ({exc})"
        return None

    def _show(self, message: str, *, error: bool = False) -> None:
        name, rdtype = self.name.value.strip().rstrip("."), self.rdtype.value
        colour = FAIL_COLOUR if error else "#2b6e2b"
        lines = [f'<div style="color:{colour}"><b>{_e(message)}</b></div>'] if message else []
        published = self._records(name, rdtype)
        shown = "<br>".join(_e(f"{name} IN {rdtype} {v}") for v in published) or f"<i>no {rdtype} records</i>"
        host, port = self.lab.dns_server
        lines.append(f'<div style="font-family:monospace">{shown}</div>')
        lines.append(f'<div style="color:#777">dig @{host} -p {port} {_e(name)} {rdtype}</div>')
        lines += [
            f'<div style="color:#c26a00">{_e(w)}</div>' for w in self._spf_notes(name, rdtype, published)
        ]
        self.status.value = "".join(lines)

    def _spf_notes(self, name: str, rdtype: str, published: list[str]) -> list[str]:
        spf = [v for v in published if v.lower().startswith("v=spf1")]
        if rdtype != "TXT" or not spf:
            return []
        notes = []
        if len(spf) > 1:
            notes.append("Two SPF records at one name: receivers give permerror (RFC 7208 §3.2).")
        office = str(self.lab.world.network.office.public_ip)
        verdict = check_spf(office, f"postmaster@{name}", name, dns=self.lab.dns)
        how = f" (matched {verdict.mechanism})" if verdict.mechanism else ""
        notes.append(f"SPF for the office IP {office} sending as @{name}: {verdict.result}{how}")
        return notes


def dns_editor(lab: Lab) -> DNSEditor:
    """Edit the lab's DNS records (SPF, MX, DMARC...) through `lab.dns.set_records`."""
    return DNSEditor(lab)


__all__ = [
    "DNSEditor",
    "MailboxViewer",
    "TraceTable",
    "dns_editor",
    "mailbox_viewer",
    "trace_html",
    "trace_table",
    "transcript_html",
    "transcript_view",
]
