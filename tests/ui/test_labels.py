"""Labels a learner must read whole: no mailbox name, toggle or host name cut off (issue 19, item 9)."""

from __future__ import annotations

import re

from mailflow_lab import Lab
from mailflow_lab.ui.breakfix import BreakFix
from mailflow_lab.ui.mailbox_view import MailboxViewer


def test_the_mailbox_list_is_as_wide_as_its_longest_name(lab: Lab) -> None:
    viewer = MailboxViewer(lab)
    longest = max(len(label) for label, _ in viewer.address.options)
    width = re.fullmatch(r"(\d+)ch", viewer.address.layout.width or "")
    assert width is not None and int(width[1]) >= longest + len("Mailbox")
    assert viewer.show_headers.layout.width == "auto"  # "Authentication headers", not "Authentication h..."


def test_the_breakfix_server_field_holds_a_whole_host_name(lab: Lab) -> None:
    ticket = BreakFix(lab, "reject-direct-send-connector")
    assert ticket.server.layout.width == "36em"
