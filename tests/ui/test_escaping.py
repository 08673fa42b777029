"""Every HTML view of a send escapes what it shows: a `<script>` subject, a `<x@contoso.com>` message id."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest

from mailflow_lab import Lab
from mailflow_lab.client.device import SendResult
from mailflow_lab.policy.advice import DeviceFacts, recommend
from mailflow_lab.ui.mailbox_view import MailboxViewer
from mailflow_lab.ui.trace_view import trace_html
from mailflow_lab.ui.transcript_view import transcript_html
from mailflow_lab.ui.wizard import DecisionWizard

SUBJECT = "<script>alert(1)</script>"
MESSAGE_ID = "<x@contoso.com>"
SHOWN_ID = "&lt;x@contoso.com&gt;"


def hostile_send(lab: Lab) -> SendResult:
    """The office printer sends (direct send) a message whose subject is a script, its id in brackets."""
    printer = lab.device(next(d.name for d in lab.world.devices if not d.username and d.sender))
    message = EmailMessage()
    message["From"], message["To"] = printer.sender, "alex@contoso.com"
    message["Subject"], message["Message-ID"] = SUBJECT, MESSAGE_ID
    message.set_content("hello")
    result = printer.send(lab, to="alex@contoso.com", message=message)
    assert result.accepted and result.message_id == MESSAGE_ID, result
    return result


def _wizard_html(lab: Lab, result: SendResult) -> str:
    wizard = DecisionWizard(lab=lab)
    rec = recommend(DeviceFacts())
    device = wizard._device_for(lab, rec)
    return wizard._result_html(lab, rec, device, "alex@contoso.com", result, [SUBJECT])


def _mailbox_html(lab: Lab, result: SendResult) -> str:
    where = result.outcome["alex@contoso.com"].where
    viewer = MailboxViewer(lab, "alex@contoso.com")
    viewer.folder.value = where
    viewer.show_headers.value = True
    assert "alert(1)" in viewer.messages.value  # the message is listed
    return str(viewer.messages.value)


VIEWS: dict[str, tuple[Callable[[Lab, SendResult], str], bool]] = {
    "SendResult._repr_html_": (lambda lab, r: r._repr_html_(), True),
    "transcript_html": (lambda lab, r: transcript_html(r), True),
    "trace_html": (lambda lab, r: trace_html(lab.message_trace()), True),
    "wizard result": (_wizard_html, True),
    "mailbox viewer": (_mailbox_html, False),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_a_script_subject_and_a_bracketed_message_id_are_escaped(lab: Lab, view: str) -> None:
    result = hostile_send(lab)
    render, shows_id = VIEWS[view]
    markup = render(lab, result)
    assert "<script" not in markup.lower()
    assert "<x@contoso.com>" not in markup
    if shows_id:
        assert SHOWN_ID in markup
    if view == "trace_html":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup


def test_the_send_summary_shows_the_message_id() -> None:
    from mailflow_lab.client.transcript import Transcript

    result = SendResult("Printer <b>", True, None, Transcript(), message_id=MESSAGE_ID, error=SUBJECT)
    markup = result._repr_html_()
    assert f"Message-ID: <code>{SHOWN_ID}</code>" in markup
    assert "<script" not in markup and "Printer &lt;b&gt;" in markup
