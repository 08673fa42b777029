"""Delivery reports (policy/ndr.py): the NDR's parts, the DSN request, success notifications, reading back."""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default

import pytest

from mailflow_lab.policy import ndr
from mailflow_lab.policy import replies as R

WHEN = datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC)
ORIGINAL = (
    b"From: scanner@contoso.com\r\nTo: scans@contoso.com\r\nSubject: Scan 7\r\n"
    b"Message-ID: <scan7@contoso.com>\r\n\r\nthe scanned page\r\n"
)


def report(failures: list[ndr.Failure], dsn: ndr.Dsn = ndr.NO_DSN) -> bytes:
    return ndr.non_delivery_report(
        postmaster="MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.onmicrosoft.com",
        sender="scanner@contoso.com",
        subject="Scan 7",
        original=ORIGINAL,
        failures=failures,
        when=WHEN,
        message_id="<r1@x>",
        dsn=dsn,
    )


def parts(content: bytes) -> list[str]:
    message = BytesParser(policy=default).parsebytes(content)
    return [message.get_content_type(), *(p.get_content_type() for p in message.iter_parts())]


def test_an_ndr_has_the_three_parts_of_rfc_3464() -> None:
    content = report([ndr.Failure("scans@contoso.com", R.RECIPIENT_NOT_FOUND)])
    assert parts(content) == [
        "multipart/report",
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    message = BytesParser(policy=default).parsebytes(content)
    assert message.get_param("report-type") == "delivery-status"


FAILURES = [
    pytest.param(
        ndr.Failure("scans@contoso.com", R.RECIPIENT_NOT_FOUND), "wasn't found at contoso.com", "5.1.10"
    ),
    pytest.param(
        ndr.Failure("nobody@fabrikam.com", R.FABRIKAM_UNKNOWN_USER, "mail.fabrikam.com"),
        "doesn't exist",
        "5.1.1",
    ),
    pytest.param(ndr.Failure("pat@fabrikam.com", R.BARE_LINEFEEDS_ILLEGAL), "bare line feed", "5.6.11"),
    pytest.param(
        ndr.Failure("pat@fabrikam.com", R.fabrikam_dmarc_reject("contoso.com"), "mail.fabrikam.com"),
        "security",
        "5.7.1",
    ),
    pytest.param(
        ndr.Failure("pat@fabrikam.com", R.hand_off_failed("mail.fabrikam.com", "timed out")),
        "couldn't be delivered",
        "4.4.0",
    ),
]


@pytest.mark.parametrize(("failure", "for_users", "status"), FAILURES)
def test_each_failure_is_explained_and_quoted(failure: ndr.Failure, for_users: str, status: str) -> None:
    view = ndr.read_report(report([failure]))
    assert view is not None and view.subject == "Undeliverable: Scan 7"
    assert view.for_users.startswith(f"Your message to {failure.recipient} couldn't be delivered.")
    assert for_users in view.for_users
    assert f"Generating server: {ndr.GENERATING_SERVER}" in view.for_admins
    assert f"Remote server returned '{failure.reply}'" in view.for_admins
    per_message, per_recipient = view.fields
    assert per_message["Reporting-MTA"] == f"dns;{ndr.GENERATING_SERVER}"
    assert per_recipient["Final-Recipient"] == f"rfc822;{failure.recipient}"
    assert (per_recipient["Action"], per_recipient["Status"]) == ("failed", status)
    assert per_recipient["Diagnostic-Code"] == f"smtp;{failure.reply}"
    assert ("Remote-MTA" in per_recipient) == (failure.remote_server is not None)
    assert "Subject: Scan 7" in view.original_headers and "the scanned page" not in view.original_headers


def test_ret_full_returns_the_whole_message_and_envid_orcpt_are_echoed() -> None:
    dsn = ndr.parse_dsn(
        ("RET=FULL", "ENVID=QQ+2B314159"), {"scans@contoso.com": ("ORCPT=rfc822;Scans+40contoso.com",)}
    )
    content = report([ndr.Failure("scans@contoso.com", R.RECIPIENT_NOT_FOUND)], dsn)
    assert parts(content)[-1] == "message/rfc822"
    assert b"the scanned page" in content
    view = ndr.read_report(content)
    assert view is not None and view.fields[0]["Original-Envelope-Id"] == "QQ+314159"
    assert view.fields[1]["Original-Recipient"] == "rfc822;Scans@contoso.com"


@pytest.mark.parametrize(
    ("params", "failure", "success"),
    [
        ((), True, False),  # no NOTIFY: failures only (RFC 3461 §4.1)
        (("NOTIFY=NEVER",), False, False),
        (("notify=success",), False, True),
        (("NOTIFY=SUCCESS,FAILURE",), True, True),
        (("NOTIFY=DELAY",), False, False),
        (("ORCPT=rfc822;x@y",), True, False),
    ],
)
def test_notify(params: tuple[str, ...], failure: bool, success: bool) -> None:
    dsn = ndr.parse_dsn((), {"Alex@Contoso.com": params})
    assert dsn.wants("alex@contoso.com", "FAILURE") == failure
    assert dsn.wants("alex@contoso.com", "SUCCESS") == success


@pytest.mark.parametrize(
    ("params", "ret", "envid"),
    [((), None, None), (("RET=HDRS",), "HDRS", None), (("ret=full", "ENVID=a+3Db"), "FULL", "a=b"),
     (("RET=ALL",), None, None)],
)  # fmt: skip
def test_mail_parameters(params: tuple[str, ...], ret: str | None, envid: str | None) -> None:
    dsn = ndr.parse_dsn(params, {})
    assert (dsn.ret, dsn.envid) == (ret, envid)


@pytest.mark.parametrize(("relayed_to", "word", "action"), [(None, "Delivered", "delivered"),
                         ("mail.fabrikam.com", "Relayed", "relayed")])  # fmt: skip
def test_success_notifications(relayed_to: str | None, word: str, action: str) -> None:
    content = ndr.delivery_notification(
        postmaster="pm@contoso.onmicrosoft.com",
        sender="scanner@contoso.com",
        subject="Scan 7",
        original=ORIGINAL,
        recipient="alex@contoso.com",
        relayed_to=relayed_to,
        when=WHEN,
        message_id="<r2@x>",
    )
    view = ndr.read_report(content)
    assert view is not None and view.subject == f"{word}: Scan 7"
    assert (view.fields[1]["Action"], view.fields[1]["Status"]) == (action, "2.0.0")
    assert parts(content)[-1] == "text/rfc822-headers"


def test_a_subject_with_markup_is_kept_as_text() -> None:
    content = ndr.non_delivery_report(
        postmaster="pm@x", sender="a@contoso.com", subject="<script>alert(1)</script>", original=ORIGINAL,
        failures=[ndr.Failure("b@contoso.com", R.RECIPIENT_NOT_FOUND)], when=WHEN, message_id="<r3@x>",
    )  # fmt: skip
    view = ndr.read_report(content)
    assert view is not None and view.subject == "Undeliverable: <script>alert(1)</script>"


def test_other_messages_are_no_report() -> None:
    assert ndr.read_report(ORIGINAL) is None
    assert not ndr.is_report(ORIGINAL)
    assert ndr.is_report(report([ndr.Failure("scans@contoso.com", R.RECIPIENT_NOT_FOUND)]))
