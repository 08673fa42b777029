"""The device readiness report in a notebook: one card per device, its three options, the fixes to type."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..lab.readiness import ReadinessReport, lab_readiness
from ..policy.readiness import DeviceReadiness, OptionVerdict
from .base import STOPPED_HTML, lab_stopped

if TYPE_CHECKING:
    from ..lab.lab import Lab

COLOURS = {"works": "#1a7f37", "ready": "#1a7f37", "blocked": "#cf222e", "untested": "#6e7781"}


def readiness_html(report: ReadinessReport) -> str:
    """The report as HTML (layout only: every sentence, setting and cmdlet comes from the policy)."""
    if not report.devices:
        return "<p><i>No device has talked to the lab's Microsoft 365 endpoints yet.</i></p>"
    return '<div class="mfl-readiness">' + "".join(_device(d) for d in report.devices) + "</div>"


def _device(device: DeviceReadiness) -> str:
    e = html.escape
    seen = "".join(f"<li>{e(line)}</li>" for line in device.observed)
    options = "".join(_option(v, v.option == device.recommended) for v in device.options)
    usable = ", ".join(device.option(o).title for o in device.usable_today) or "none of the three options"
    settings = ""
    if device.recommended:
        chosen = device.option(device.recommended)
        rows = "".join(
            f"<tr><td style='padding:1px 6px'>{e(k)}</td><td><code>{e(v)}</code></td></tr>"
            for k, v in chosen.settings.items()
        )
        settings = f"<p><b>Device settings for {e(chosen.title)}</b></p><table>{rows}</table>"
    return (
        '<div class="mfl-device" style="border:1px solid #d0d7de;border-radius:6px;padding:6px 10px;'
        'margin:6px 0">'
        f"<h4 style='margin:2px 0'>{e(str(device.device))} "
        f"<small>({device.sessions} session{'s' if device.sessions != 1 else ''})</small></h4>"
        f"<p><b>Usable today:</b> {e(usable)}</p>"
        f"<details><summary>What the lab saw</summary><ul>{seen}</ul></details>"
        f"<ul style='list-style:none;padding-left:0'>{options}</ul>{settings}</div>"
    )


def _option(verdict: OptionVerdict, recommended: bool) -> str:
    e = html.escape
    colour = COLOURS[verdict.status]
    badge = (
        f"<span class='mfl-status mfl-{e(verdict.status)}' style='color:{colour};font-weight:bold'>"
        f"[{e(verdict.status)}]</span>"
    )
    mark = " <i>(recommended)</i>" if recommended else ""
    parts = [f"{badge} <b>{e(verdict.title)}</b>{mark}: {e(verdict.status_text)}"]
    for blocker in verdict.blockers:
        fixes = "".join(f"<li>On the device: <code>{e(s)}</code></li>" for s in blocker.device)
        fixes += "".join(f"<li>In the tenant: <code>{e(s)}</code></li>" for s in blocker.tenant)
        parts.append(f"<div style='margin-left:1.5em'>{e(blocker.why)}<ul>{fixes}</ul></div>")
    parts += [f"<div style='margin-left:1.5em'><i>{e(n)}</i></div>" for n in verdict.notes]
    return f"<li style='margin:4px 0'>{''.join(parts)}</li>"


class ReadinessView(widgets.HTML):
    """The readiness of the devices seen by a lab (all, or those whose EHLO names are given in `only`, in
    that order); call `refresh()` after a device sends again."""

    def __init__(self, lab: Lab, only: Sequence[str] | None = None) -> None:
        super().__init__()
        self.lab = lab
        self.only = tuple(only) if only is not None else None
        self.refresh()

    def report(self) -> ReadinessReport:
        report = lab_readiness(self.lab)
        if self.only is None:
            return report
        chosen = [d for name in self.only for d in report.devices if d.device.ehlo == name]
        return replace(report, devices=tuple(chosen))

    def refresh(self) -> None:
        self.value = STOPPED_HTML if lab_stopped(self.lab) else readiness_html(self.report())


def readiness_view(lab: Lab, only: Sequence[str] | None = None) -> ReadinessView:
    """The device readiness report of a running lab, as a notebook widget; `only`: the EHLO names of the
    devices to show (a notebook that sent with helper devices shows the one it talks about)."""
    return ReadinessView(lab, only)
