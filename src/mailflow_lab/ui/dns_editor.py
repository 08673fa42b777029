"""The DNS record editor: a lab zone's name and type, one value a line; Save publishes, Reset restores."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.name
import ipywidgets as widgets

from ..auth.spf import check_spf
from ..labdns.worlddns import load_world_dns
from ..labdns.zones import typed_value
from .base import STOPPED_HTML, lab_stopped
from .palette import FAIL_COLOUR

if TYPE_CHECKING:
    from ..lab.lab import Lab

RECORD_TYPES = ("TXT", "MX", "A", "AAAA", "CNAME", "NS")
TXT_CHUNK = 255  # RFC 1035 §3.3: one character-string holds at most 255 octets
_e = html.escape


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
        if lab_stopped(self.lab):
            self.status.value = STOPPED_HTML
            return False
        checked = self._check(name, rdtype, lines)
        if isinstance(checked, str):
            self._show(checked, error=True)
            return False
        values = checked
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
        changed = [
            f"{t} saved as {v}" for t, v in zip(lines, values, strict=True) if rdtype != "TXT" and t != v
        ]
        self.values.value = "\n".join(self._records(name, rdtype))  # as published: names made absolute
        self._show("Saved." + (" " + "; ".join(changed) + "." if changed else ""))
        return True

    def reset(self) -> None:
        """Restore the chosen name and type to what the world's zone file publishes."""
        name, rdtype = self.name.value.strip().rstrip("."), self.rdtype.value
        if lab_stopped(self.lab):
            self.status.value = STOPPED_HTML
            return
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

    def _check(self, name: str, rdtype: str, lines: list[str]) -> list[str] | str:
        """The values to publish, in zone-file form with absolute names, or why not in a learner's words.

        Names in values are taken as a DNS host's web form takes them: with a dot, absolute (the final dot
        optional, as the admin center shows them); a single label, relative to the zone.
        """
        try:
            qname = dns.name.from_text(name + ".")
        except dns.exception.DNSException as exc:
            return f"Not saved: {name!r} is not a valid DNS name ({exc})"
        zone = self.lab.dns.zone_for(qname)
        if zone is None:
            return f"Not saved: {name} is in no lab zone (zones: {', '.join(self.zone.options)})"
        values = []
        for line in lines:
            try:
                values.append(typed_value(rdtype, txt_value(line) if rdtype == "TXT" else line, zone.origin))
            except ValueError as exc:
                return f"Not saved: {exc}"
        return values

    def _show(self, message: str, *, error: bool = False) -> None:
        name, rdtype = self.name.value.strip().rstrip("."), self.rdtype.value
        if lab_stopped(self.lab):  # its DNS server is gone: what dig would get is nothing
            self.status.value = STOPPED_HTML
            return
        colour = FAIL_COLOUR if error else "#2b6e2b"
        lines = [f'<div style="color:{colour}"><b>{_e(message)}</b></div>'] if message else []
        published = self._records(name, rdtype)
        shown = (
            "<br>".join(_e(f"{name} IN {rdtype} {v}") for v in published) or f"<i>no {_e(rdtype)} records</i>"
        )
        host, port = self.lab.dns_server
        lines.append(f'<div style="font-family:monospace">{shown}</div>')
        lines.append(f'<div style="color:#777">dig @{_e(host)} -p {port} {_e(name)} {_e(rdtype)}</div>')
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


__all__ = ["RECORD_TYPES", "TXT_CHUNK", "DNSEditor", "dns_editor", "shown_value", "txt_value"]
