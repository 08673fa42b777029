"""An SMTP transcript as HTML: device and server lines coloured, each refusal highlighted and explained."""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as widgets

from ..client.device import SendResult
from ..policy.explain import Explanation, explain
from ..policy.replies import Reply
from .palette import FAIL_COLOUR

SIDE_COLOURS = {"C": "#1f4e9c", "S": "#2b6e2b", "*": "#777777"}
_e = html.escape


def _reply_of(texts: list[str]) -> Reply:
    """The reply a run of server lines ("250-..." then "250 ...") carries.

    `Transcript.server` writes those lines from smtplib's code and message, so they are read back as the
    device read the reply: the first line's code, the lines' texts joined (`Reply.from_smtplib`).
    """
    return Reply.from_smtplib(int(texts[0][:3]), "\n".join(t[4:] for t in texts))


def _explanation_html(found: Explanation, colour: str = "#f0a000") -> str:
    return (
        f'<div class="mfl-explain" title="rule: {_e(found.rule)}" data-rule="{_e(found.rule)}" '
        f'style="margin:2px 0 8px 4.5em;padding:4px 8px;background:#fff8e1;'
        f'border-left:4px solid {colour};font-family:sans-serif;white-space:normal">'
        f"<b>{_e(found.step)}</b>: {_e(found.headline)}<br><b>Fix:</b> <code>{_e(found.fix)}</code></div>"
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


__all__ = ["SIDE_COLOURS", "transcript_html", "transcript_view"]
