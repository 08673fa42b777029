"""A send's fields checked before anything goes on the wire: none may hold a line break."""

from __future__ import annotations

import re

from ..world import model

_LINE_BREAK = re.compile(r"[\r\n]")


def field_with_line_break(
    device: model.Device, recipients: list[str], subject: str | None, header_from: str | None
) -> str | None:
    """The first field (of the device or of this send) holding a CR or LF, or None: a command line or a
    header cannot carry one (there it would start another SMTP command or another header)."""
    fields: list[tuple[str, str | None]] = [
        ("sender", device.sender),
        *(("recipient", r) for r in recipients),
        ("subject", subject),
        ("header_from", header_from),
        ("server", device.server),
        ("helo", device.helo),
        ("username", device.username),
        ("password", device.password),
        ("oauth_token", device.oauth_token),
    ]
    return next((name for name, value in fields if value and _LINE_BREAK.search(value)), None)


def line_break_error(field_name: str) -> str:
    """What a send says when one of its fields holds a line break (and so nothing was sent)."""
    return (
        f"nothing was sent: the {field_name} holds a line break (CR or LF), which no SMTP command or "
        "header line can carry; remove it and send again"
    )
