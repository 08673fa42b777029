"""The NDR's header block and parts, several recipients, Arrival-Date, DSN parameters that would break the
report (CR LF via xtext, a decoded Subject), and read_report on messages that only claim to be reports.

The parts per failure, NOTIFY, RET=FULL and success notifications are in test_reports.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default

import pytest

from mailflow_lab.policy import ndr
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.dates import header_date

WHEN = datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC)
ARRIVED = datetime(2026, 3, 3, 9, 27, 1, tzinfo=UTC)
POSTMASTER = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.onmicrosoft.com"
ORIGINAL = b"From: scanner@contoso.com\r\nTo: nobody@contoso.com\r\nSubject: Scan 7\r\n\r\npage\r\n"
NOT_FOUND = ndr.Failure("nobody@contoso.com", R.RECIPIENT_NOT_FOUND)
REFUSED = ndr.Failure("nobody@fabrikam.com", R.FABRIKAM_UNKNOWN_USER, "mail.fabrikam.com")


def report(
    failures: list[ndr.Failure] | None = None,
    dsn: ndr.Dsn = ndr.NO_DSN,
    subject: str = "Scan 7",
    arrived: datetime | None = None,
) -> bytes:
    return ndr.non_delivery_report(
        postmaster=POSTMASTER,
        sender="scanner@contoso.com",
        subject=subject,
        original=ORIGINAL,
        failures=failures or [NOT_FOUND],
        when=WHEN,
        message_id="<r1@LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM>",
        dsn=dsn,
        arrived=arrived,
    )


def test_the_header_block_is_exchanges_and_every_line_ends_in_crlf() -> None:
    content = report()
    head = content.partition(b"\r\n\r\n")[0].decode().replace("\r\n ", " ")  # unfolded (RFC 5322 §2.2.3)
    assert f"From: Microsoft Outlook <{POSTMASTER}>" in head.splitlines()
    assert "To: scanner@contoso.com" in head.splitlines()
    assert "Subject: Undeliverable: Scan 7" in head.splitlines()
    assert "Date: Tue, 3 Mar 2026 09:30:05 +0000" in head.splitlines()  # no leading zero on the day
    assert "Message-ID: <r1@LO2P265MB1234.GBRP265.PROD.OUTLOOK.COM>" in head.splitlines()
    assert "MIME-Version: 1.0" in head.splitlines()
    message = BytesParser(policy=default).parsebytes(content)
    assert (message.get_content_type(), message.get_param("report-type")) == (
        "multipart/report",
        "delivery-status",
    )
    assert b"\n" not in content.replace(b"\r\n", b"")  # CRLF throughout (policy SMTP), no bare LF


def test_several_recipients_share_one_report_with_a_block_each() -> None:
    view = ndr.read_report(report([NOT_FOUND, REFUSED]))
    assert view is not None
    assert "Your message to nobody@contoso.com couldn't be delivered." in view.for_users
    assert "Your message to nobody@fabrikam.com couldn't be delivered." in view.for_users
    per_message, first, second = view.fields
    assert "Final-Recipient" not in per_message
    assert (first["Final-Recipient"], first["Status"], "Remote-MTA" in first) == (
        "rfc822;nobody@contoso.com",
        "5.1.10",
        False,  # Microsoft 365 itself found no mailbox
    )
    assert (second["Final-Recipient"], second["Status"], second["Remote-MTA"]) == (
        "rfc822;nobody@fabrikam.com",
        "5.1.1",
        "dns;mail.fabrikam.com",
    )
    assert f"Remote server returned '{R.RECIPIENT_NOT_FOUND}'" in view.for_admins
    assert "Remote server: mail.fabrikam.com" in view.for_admins


@pytest.mark.parametrize(("arrived", "shown"), [(None, WHEN), (ARRIVED, ARRIVED)])
def test_arrival_date_is_when_the_message_was_taken_in(arrived: datetime | None, shown: datetime) -> None:
    view = ndr.read_report(report(arrived=arrived))
    assert view is not None and view.fields[0]["Arrival-Date"] == header_date(shown)


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        pytest.param((), "text/rfc822-headers", id="absent"),
        pytest.param(("RET=HDRS",), "text/rfc822-headers", id="hdrs"),
        pytest.param(("ret=Full",), "message/rfc822", id="full-any-case"),
    ],
)
def test_ret_chooses_headers_or_the_whole_message(params: tuple[str, ...], kind: str) -> None:
    content = report(dsn=ndr.parse_dsn(params, {}))
    message = BytesParser(policy=default).parsebytes(content)
    assert [p.get_content_type() for p in message.iter_parts()][-1] == kind
    assert (b"\r\n\r\npage\r\n" in content.partition(b"\r\n\r\n")[2]) == (kind == "message/rfc822")


# RFC 3461 §4.2 and §4.4: ENVID and ORCPT decode to printable US-ASCII (ENVID at most 100 characters).
@pytest.mark.parametrize(
    ("envid", "kept"),
    [
        pytest.param("QQ314159", "QQ314159", id="plain"),
        pytest.param("QQ+2B314+20159", "QQ+314 159", id="xtext-decoded"),
        pytest.param("a+0D+0ABcc:+20x@evil.example", None, id="cr-lf-smuggled"),
        pytest.param("caf+C3+A9", None, id="not-ascii"),
        pytest.param("x" * 101, None, id="over-100"),
        pytest.param("", None, id="empty"),
    ],
)
def test_envid_is_kept_only_when_valid(envid: str, kept: str | None) -> None:
    dsn = ndr.parse_dsn((f"ENVID={envid}",), {})
    assert dsn.envid == kept
    view = ndr.read_report(report(dsn=dsn))
    assert view is not None and view.fields[0].get("Original-Envelope-Id") == kept


@pytest.mark.parametrize(
    ("orcpt", "kept"),
    [
        pytest.param("rfc822;Nobody+40contoso.com", "rfc822;Nobody@contoso.com", id="xtext-decoded"),
        pytest.param("rfc822;nobody@contoso.com+0D+0AX-Evil:+20y", None, id="cr-lf-smuggled"),
        pytest.param("nobody@contoso.com", None, id="no-address-type"),
        pytest.param("rfc822;", None, id="no-address"),
    ],
)
def test_orcpt_is_kept_only_when_valid(orcpt: str, kept: str | None) -> None:
    dsn = ndr.parse_dsn((), {"Nobody@contoso.com": ("NOTIFY=FAILURE", f"ORCPT={orcpt}")})
    assert dsn.orcpt.get("nobody@contoso.com") == kept
    assert dsn.wants("nobody@contoso.com", "FAILURE")  # a bad ORCPT does not cost the NOTIFY beside it
    view = ndr.read_report(report(dsn=dsn))
    assert view is not None and view.fields[1].get("Original-Recipient") == kept


@pytest.mark.parametrize(
    ("subject", "shown"),
    [
        pytest.param("a\r\nBcc: victim@example.com", "Undeliverable: a Bcc: victim@example.com", id="cr-lf"),
        pytest.param("a\nb\rc", "Undeliverable: a b c", id="bare-lf-and-cr"),
        pytest.param("Übergabe ✓", "Undeliverable: Übergabe ✓", id="non-ascii"),
        pytest.param("<script>alert(1)</script>", "Undeliverable: <script>alert(1)</script>", id="markup"),
    ],
)
def test_a_decoded_subject_stays_one_header_line(subject: str, shown: str) -> None:
    content = report(subject=subject)
    message = BytesParser(policy=default).parsebytes(content)
    assert str(message["Subject"]) == shown
    assert message["Bcc"] is None


def test_read_report_gives_back_what_was_written() -> None:
    dsn = ndr.parse_dsn(("ENVID=QQ314159",), {"nobody@contoso.com": ("ORCPT=rfc822;nobody@contoso.com",)})
    view = ndr.read_report(report(dsn=dsn, arrived=ARRIVED))
    assert view == ndr.ReportView(
        subject="Undeliverable: Scan 7",
        for_users=view.for_users,
        for_admins=(
            f"Generating server: {ndr.GENERATING_SERVER}\n\nnobody@contoso.com\n"
            f"Remote server returned '{R.RECIPIENT_NOT_FOUND}'"
        ),
        fields=[
            {
                "Reporting-MTA": f"dns;{ndr.GENERATING_SERVER}",
                "Original-Envelope-Id": "QQ314159",
                "Arrival-Date": header_date(ARRIVED),
            },
            {
                "Final-Recipient": "rfc822;nobody@contoso.com",
                "Original-Recipient": "rfc822;nobody@contoso.com",
                "Action": "failed",
                "Status": "5.1.10",
                "Diagnostic-Code": f"smtp;{R.RECIPIENT_NOT_FOUND}",
            },
        ],
        original_headers="From: scanner@contoso.com\nTo: nobody@contoso.com\nSubject: Scan 7",
    )
    assert view.for_users.startswith("Your message to nobody@contoso.com couldn't be delivered.")
    assert "Check the recipient's address" in view.for_users


HEAD = (
    b"From: x@fabrikam.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
)


def part(headers: bytes, body: bytes) -> bytes:
    return b"--B\r\n" + headers + b"\r\n\r\n" + body + b"\r\n"


# Anyone can send a message that claims to be a report; the mailbox viewer reads each one.
@pytest.mark.parametrize(
    ("content", "for_users", "fields"),
    [
        pytest.param(
            HEAD + part(b"Content-Type: text/plain; charset=no-such-charset", b"hello") + b"--B--\r\n",
            "hello",
            [],
            id="unknown-charset",
        ),
        pytest.param(
            HEAD
            + part(b"Content-Type: multipart/alternative; boundary=C", b"")
            + b"--C\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
            + b"--C\r\nContent-Type: text/plain\r\n\r\n"
            + b"Your message to a@b couldn't be delivered.\r\n--C--\r\n"
            + b"--B--\r\n",
            "Your message to a@b couldn't be delivered.",
            [],
            id="alternative-as-exchange-writes-it",
        ),
        pytest.param(
            HEAD
            + part(b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64", b"!!")
            + b"--B--\r\n",
            "",
            [{}],
            id="delivery-status-encoded",
        ),
        pytest.param(
            HEAD
            + part(b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64", b"QQ==")
            + b"--B--\r\n",
            "",
            [],
            id="returned-message-encoded",
        ),
        pytest.param(
            HEAD + part(b"Content-Type: text/rfc822-headers; charset=nope", b"A: b") + b"--B--\r\n",
            "",
            [],
            id="headers-unknown-charset",
        ),
        pytest.param(HEAD + b"no parts at all\r\n", "", [], id="no-parts"),
    ],
)
def test_read_report_never_raises_on_a_message_that_claims_to_be_one(
    content: bytes, for_users: str, fields: list[dict[str, str]]
) -> None:
    view = ndr.read_report(content)
    assert view is not None and (view.for_users, view.fields) == (for_users, fields)


@pytest.mark.parametrize(
    "content",
    [
        ORIGINAL,
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=B\r\n\r\n--B--\r\n",
        b"",
    ],
)
def test_other_messages_are_no_report(content: bytes) -> None:
    assert ndr.read_report(content) is None
