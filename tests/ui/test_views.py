"""The trace table, mailbox viewer, transcript view and DNS editor, driven headlessly against a real lab."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import pytest  # noqa: E402
from ui_kit import text_of  # noqa: E402

from mailflow_lab import Lab  # noqa: E402
from mailflow_lab.client.device import SendResult  # noqa: E402
from mailflow_lab.client.transcript import Transcript  # noqa: E402
from mailflow_lab.policy import replies as R  # noqa: E402
from mailflow_lab.policy.replies import Reply  # noqa: E402
from mailflow_lab.ui.dns_editor import DNSEditor, dns_editor, txt_value  # noqa: E402
from mailflow_lab.ui.mailbox_view import mailbox_viewer  # noqa: E402
from mailflow_lab.ui.trace_view import trace_html, trace_table  # noqa: E402
from mailflow_lab.ui.transcript_view import _reply_of, transcript_view  # noqa: E402

OFFICE_IP = "203.0.113.10"
SPF_WITH_OFFICE = f"v=spf1 ip4:{OFFICE_IP} include:spf.protection.outlook.com -all"


def printer_sends(lab: Lab, subject: str, to: str = "alex@contoso.com") -> SendResult:
    """Direct send from the warehouse printer: SPF fails for the office IP, so it lands in Junk Email."""
    return lab.device("Warehouse printer").send(lab, to=to, subject=subject)


# -- message trace -----------------------------------------------------------------------------------


def test_trace_table_shows_a_sent_message_with_its_status(lab: Lab) -> None:
    table = trace_table(lab)
    assert isinstance(table, widgets.HTML)
    assert "No messages in the trace yet" in table.value
    printer_sends(lab, "Invoice 4711")
    lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject="Scan 0815")
    table.refresh()
    shown = text_of(table.value)
    for column in ("Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "FromIP", "ToIP"):
        assert column in shown
    assert "Invoice 4711" in shown and "Scan 0815" in shown
    assert 'data-status="FilteredAsSpam"' in table.value and 'data-status="Delivered"' in table.value
    # Newest first, as Get-MessageTrace lists them.
    assert shown.index("Scan 0815") < shown.index("Invoice 4711")
    assert "FilteredAsSpam" in shown and "#c26a00" in table.value  # Junk is orange
    assert OFFICE_IP in shown
    # The detail events carry their rule for an instructor's hover, not in the text a learner reads.
    assert 'data-rule="antispam.compauth-fail"' in table.value and "antispam.compauth-fail" not in shown


def test_trace_table_filters_like_get_messagetrace(lab: Lab) -> None:
    printer_sends(lab, "For alex")
    lab.device("Lobby scanner").send(lab, to="pat@fabrikam.com", subject="For pat")
    shown = text_of(trace_table(lab, recipient="pat@fabrikam.com").value)
    assert "For pat" in shown and "For alex" not in shown


def test_trace_html_escapes_subjects() -> None:
    assert "No messages" in trace_html([])


# -- mailbox viewer ----------------------------------------------------------------------------------


def test_mailbox_viewer_lists_mailboxes_folders_and_messages(lab: Lab) -> None:
    viewer = mailbox_viewer(lab)
    addresses = [value for _, value in viewer.address.options]
    assert {"alex@contoso.com", "scanner@contoso.com", "pat@fabrikam.com"} <= set(addresses)
    assert list(viewer.folder.options) == ["Inbox", "Junk Email", "Sent Items"]
    assert viewer.address.value == "alex@contoso.com"
    assert "0 messages" in text_of(viewer.messages.value)

    printer_sends(lab, "Toner low")
    viewer.refresh_button.click()
    assert "Toner low" not in text_of(viewer.messages.value)  # direct send failing SPF is not in the Inbox
    viewer.folder.value = "Junk Email"
    shown = text_of(viewer.messages.value)
    assert "Toner low" in shown and "printer@contoso.com" in shown and "1 message" in shown
    assert "Authentication-Results" not in shown  # headers only on demand

    viewer.show_headers.value = True
    shown = text_of(viewer.messages.value)
    assert "Authentication-Results: spf=fail (sender IP is 203.0.113.10)" in shown
    assert "X-Forefront-Antispam-Report: CIP:203.0.113.10" in shown and "SFV:SPM" in shown


def test_mailbox_viewer_shows_fabrikam_and_sent_items(lab: Lab) -> None:
    lab.device("Lobby scanner").send(lab, to="pat@fabrikam.com", subject="Quote for Fabrikam")
    viewer = mailbox_viewer(lab, "pat@fabrikam.com")
    assert "Quote for Fabrikam" in text_of(viewer.messages.value)
    viewer.address.value = "scanner@contoso.com"
    viewer.folder.value = "Sent Items"
    assert "Quote for Fabrikam" in text_of(viewer.messages.value)


def test_mailbox_viewer_newest_first(lab: Lab) -> None:
    scanner = lab.device("Lobby scanner")
    scanner.send(lab, to="alex@contoso.com", subject="First scan")
    scanner.send(lab, to="alex@contoso.com", subject="Second scan")
    shown = text_of(mailbox_viewer(lab).messages.value)
    assert shown.index("Second scan") < shown.index("First scan")


def test_mailbox_viewer_refuses_an_unknown_address(lab: Lab) -> None:
    with pytest.raises(KeyError, match="nobody@contoso.com"):
        mailbox_viewer(lab, "nobody@contoso.com")


# -- transcript view ---------------------------------------------------------------------------------


def test_transcript_view_highlights_and_explains_the_refusal(lab: Lab) -> None:
    lab.powershell("Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $null")
    result = lab.device("Lobby scanner").send(lab, to="alex@contoso.com")
    view = transcript_view(result, placeholders={"mailbox": "scanner@contoso.com"})
    assert isinstance(view, widgets.HTML)
    failing = re.findall(r'<div class="mfl-line mfl-fail"[^>]*>(.*?)</div>', view.value)
    assert len(failing) == 1 and "535 5.7.139" in failing[0]
    shown = text_of(view.value)
    assert "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false" in shown
    assert "AUTH : SMTP AUTH is off for the whole tenant" in shown
    assert "Scan#2026" not in view.value  # the password stays masked
    # The explanation sits right under the failing line, and device and server lines have their colours.
    assert view.value.index("535 5.7.139") < view.value.index("mfl-explain")
    assert 'data-side="C"' in view.value and 'data-side="S"' in view.value


def test_transcript_view_without_a_reply_explains_the_error(lab: Lab) -> None:
    scanner = lab.device("Lobby scanner")
    scanner.port, scanner.tls = 465, "implicit"
    shown = text_of(transcript_view(scanner.send(lab, to="alex@contoso.com")).value)
    assert "Nothing answers on port 465" in shown and "port 587" in shown


def test_transcript_view_of_a_success_ends_with_what_happened(lab: Lab) -> None:
    result = lab.device("Lobby scanner").send(lab, to="alex@contoso.com")
    view = transcript_view(result)
    assert "mfl-fail" not in view.value
    assert "a copy is saved in Sent Items" in text_of(view.value)


def test_transcript_view_joins_multiline_refusals() -> None:
    transcript = Transcript()
    transcript.client("MAIL FROM:<a@contoso.com>")
    transcript.server(550, "5.7.64 TenantAttribution;\nRelay Access Denied")
    view = transcript_view(SendResult("x", False, None, transcript))
    assert view.value.count("mfl-line mfl-fail") == 2
    assert "New-InboundConnector" in text_of(view.value)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (R.RELAY_DENIED.code, f"{R.RELAY_DENIED.enhanced} {R.RELAY_DENIED.text}"),
        (550, "5.7.64 TenantAttribution;\nRelay Access Denied"),
        (250, "contoso.com Hello [203.0.113.10]\nSIZE 157286400\nPIPELINING"),
        (354, "Start mail input; end with <CRLF>.<CRLF>"),
    ],
)
def test_transcript_lines_are_read_back_as_the_reply_the_device_got(code: int, message: str) -> None:
    transcript = Transcript()
    transcript.server(code, message)  # as the device records what smtplib handed it
    assert _reply_of([line.text for line in transcript.lines]) == Reply.from_smtplib(code, message)


# -- DNS editor --------------------------------------------------------------------------------------


def test_dns_editor_opens_on_the_tenant_domain_spf(lab: Lab) -> None:
    editor = dns_editor(lab)
    assert isinstance(editor, DNSEditor)
    assert editor.zone.value == "contoso.com"
    assert "fabrikam.com" in editor.zone.options
    assert editor.name.value == "contoso.com" and "_dmarc.contoso.com" in editor.name.options
    assert editor.rdtype.value == "TXT"
    assert "v=spf1 include:spf.protection.outlook.com -all" in editor.values.value.splitlines()
    assert "MS=ms48123456" in editor.values.value.splitlines()


def test_dns_editor_saves_a_new_spf_record(lab: Lab) -> None:
    editor = dns_editor(lab)
    editor.values.value = f"{SPF_WITH_OFFICE}\nMS=ms48123456\n"
    editor.save_button.click()
    assert sorted(lab.dns.txt("contoso.com")) == sorted([SPF_WITH_OFFICE, "MS=ms48123456"])
    status = text_of(editor.status.value)
    assert "Saved." in status
    assert f"contoso.com IN TXT {SPF_WITH_OFFICE}" in status
    assert f"SPF for the office IP {OFFICE_IP} sending as @contoso.com: pass" in status
    # The change reaches mail flow: direct send from the office now lands in the Inbox.
    printer_sends(lab, "After the SPF fix")
    assert [m["Subject"] for m in lab.mailbox("alex@contoso.com").folder("Inbox")] == ["After the SPF fix"]


def test_dns_editor_reset_restores_the_zone_file(lab: Lab) -> None:
    editor = dns_editor(lab)
    editor.values.value = "v=spf1 -all"
    assert editor.save()
    assert lab.dns.txt("contoso.com") == ["v=spf1 -all"]
    editor.reset_button.click()
    assert sorted(lab.dns.txt("contoso.com")) == [
        "MS=ms48123456",
        "v=spf1 include:spf.protection.outlook.com -all",
    ]
    assert "Reset to the zone file" in text_of(editor.status.value)


@pytest.mark.parametrize(
    ("name", "rdtype", "value", "words"),
    [
        pytest.param(
            "contoso.com", "TXT", '"v=spf1 -all', "is not a valid TXT record", id="txt-unbalanced-quote"
        ),
        pytest.param(
            "office.contoso.com", "A", "999.1.1.1", "is not a valid A record", id="a-not-an-address"
        ),
        pytest.param(
            "contoso.com", "MX", "mail.contoso.com", "is not a valid MX record", id="mx-no-preference"
        ),
        pytest.param("www.example.org", "A", "192.0.2.1", "is in no lab zone", id="outside-the-zones"),
        pytest.param("bad..name.contoso.com", "A", "192.0.2.1", "is not a valid DNS name", id="bad-name"),
    ],
)
def test_dns_editor_rejects_bad_input_with_a_message(
    lab: Lab, name: str, rdtype: str, value: str, words: str
) -> None:
    editor = dns_editor(lab)
    before = lab.dns.txt("contoso.com")
    editor.name.value = name
    editor.rdtype.value = rdtype
    editor.values.value = value
    editor.save_button.click()  # no exception escapes the click
    status = text_of(editor.status.value)
    assert "Not saved" in status and words in status
    assert "Traceback" not in editor.status.value
    assert lab.dns.txt("contoso.com") == before


def test_dns_editor_warns_about_two_spf_records_but_publishes_them(lab: Lab) -> None:
    editor = dns_editor(lab)
    editor.values.value = f"{SPF_WITH_OFFICE}\nv=spf1 include:spf.protection.outlook.com -all"
    assert editor.save()
    assert len(lab.dns.txt("contoso.com")) == 2
    status = text_of(editor.status.value)
    assert "Two SPF records at one name" in status and "permerror" in status


def test_dns_editor_adds_a_name_and_edits_other_types(lab: Lab) -> None:
    editor = dns_editor(lab)
    editor.name.value = "scanner.contoso.com"
    editor.rdtype.value = "A"
    assert editor.values.value == ""
    editor.values.value = "203.0.113.20"
    assert editor.save()
    assert lab.dns.addresses("scanner.contoso.com") == ["203.0.113.20"]
    assert "scanner.contoso.com" in editor.name.options
    editor.values.value = ""  # an empty box deletes the records
    assert editor.save()
    assert lab.dns.addresses("scanner.contoso.com") == []


def test_dns_editor_follows_the_zone_and_name(lab: Lab) -> None:
    editor = dns_editor(lab)
    editor.zone.value = "fabrikam.com"
    assert editor.name.value == "fabrikam.com"
    editor.name.value = "_dmarc.contoso.com"
    assert editor.values.value.startswith("v=DMARC1")
    editor.name.value = "office.contoso.com"
    assert editor.rdtype.value == "A" and editor.values.value == OFFICE_IP


@pytest.mark.parametrize(
    ("typed", "zone_form"),
    [
        ("v=spf1 -all", '"v=spf1 -all"'),
        ('"already" "quoted"', '"already" "quoted"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("x" * 300, f'"{"x" * 255}" "{"x" * 45}"'),
    ],
)
def test_txt_value(typed: str, zone_form: str) -> None:
    assert txt_value(typed) == zone_form


# -- the notebooks' import path ----------------------------------------------------------------------


def test_views_still_offers_what_the_notebooks_import() -> None:
    from mailflow_lab.ui import views

    assert views.dns_editor is dns_editor and views.DNSEditor is DNSEditor and views.txt_value is txt_value
    assert views.mailbox_viewer is mailbox_viewer
    assert views.trace_table is trace_table and views.trace_html is trace_html
    assert views.transcript_view is transcript_view
    assert all(hasattr(views, name) for name in views.__all__)


def test_mailbox_viewer_reads_an_ndr_out_and_escapes_it(lab: Lab) -> None:
    """The scanner's bounce for an address no mailbox has: its sections, readably; markup in it escaped."""
    from mailflow_lab.ui.report_view import report_view

    lab.device("Lobby scanner").send(lab, to="scans@contoso.com", subject="<b>Scan</b> <script>x()</script>")
    viewer = mailbox_viewer(lab, "scanner@contoso.com")
    html = viewer.messages.value
    assert "<script>" not in html and "&lt;script&gt;" in html
    shown = text_of(html)
    assert "Read this report" in shown and "Diagnostic information for administrators" in shown
    assert "Remote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound" in shown
    assert "Final-Recipient" in shown and "rfc822;scans@contoso.com" in shown
    [bounce] = lab.mailbox("scanner@contoso.com").folder("Inbox")
    assert "5.1.10" in text_of(report_view(bounce).value)
    assert "no delivery report" in text_of(report_view(b"Subject: hi\r\n\r\nhello\r\n").value)
