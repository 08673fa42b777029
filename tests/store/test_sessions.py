"""The session log (sessions.jsonl): records written whole and read back, damaged lines skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailflow_lab.policy.observed import AuthAttempt, SessionRecord
from mailflow_lab.policy.replies import Reply
from mailflow_lab.store.sessions import SessionLog, load_sessions, read_sessions


def test_records_round_trip_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    log = SessionLog(tmp_path / "sessions.jsonl")
    first = SessionRecord(
        "smtp.office365.com", 587, peer_ip="127.0.0.1", client_ip="203.0.113.10", ehlo="a.local",
        cert_names=["relay.contoso.com"],
    )  # fmt: skip
    first.auth.append(AuthAttempt("LOGIN", "scanner@contoso.com", Reply(235, "2.7.0", "ok")))
    first.mail("scanner@contoso.com")
    first.rcpt("alex@contoso.com")
    log.append(first)
    implicit = SessionRecord(
        "contoso-com.mail.protection.outlook.com",
        25,
        peer_ip="::1",
        client_ip="203.0.113.10",
        implicit_tls=True,
    )
    log.append(implicit)
    with open(log.path, "a", encoding="utf-8") as torn:
        torn.write('{"endpoint": "smtp.off')
    assert load_sessions(tmp_path) == [first, implicit]
    assert log.records()[0].to_dict() == first.to_dict()
    assert log.read().skipped == 1
    assert load_sessions(tmp_path / "missing") == []


GOOD = {"endpoint": "smtp.office365.com", "port": 587, "peer_ip": "127.0.0.1", "client_ip": "203.0.113.10"}


def _line(**changes: object) -> bytes:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    "damaged",
    [
        b"\xff\xfe\x00 not UTF-8 \xc3\x28",
        b'{"endpoint":"smtp.office365.com","port":587,"ehlo":["a"]}',  # was: TypeError, unhashable list
        _line(client_ip="notanip", transactions=[{"mail_from": "a@contoso.com"}]),  # was: spf.PermError
        _line(transactions=[{"mail_from": 5}]),  # was: AttributeError
        _line(client_ip=...),  # was: a cmdlet "-SenderIPAddresses " with no address
        _line(client_ip="fe80::1%eth0"),  # no address SPF or a connector can judge
        _line(peer_ip="somewhere"),
        _line(endpoint=None),
        _line(port="587"),
        _line(port=True),
        _line(port=70000),
        _line(xclient="yes"),
        _line(ehlo=5),
        _line(cert_names="relay.contoso.com"),
        _line(auth=[{"mechanism": "LOGIN", "user": ["a"]}]),
        _line(auth={"mechanism": "LOGIN"}),
        _line(
            transactions=[
                {
                    "mail_from": "a@contoso.com",
                    "recipients": [{"address": "b@contoso.com", "reply": {"code": "abc"}}],
                }
            ]
        ),
        _line(transactions=["a@contoso.com"]),
        _line(closing_reply={"code": 421.5}),
        _line(commands=-1),
        b"[" * 100_000,  # nested too deep for the JSON parser
        b"[]",
        b"null",
    ],
)
def test_a_damaged_line_is_skipped_and_counted(tmp_path: Path, damaged: bytes) -> None:
    path = tmp_path / "sessions.jsonl"
    path.write_bytes(
        _line(ehlo="before.local") + b"\n" + damaged + b"\n\n" + _line(ehlo="after.local") + b"\n"
    )
    read = read_sessions(path)
    assert [r.ehlo for r in read.records] == ["before.local", "after.local"]
    assert read.skipped == 1


def test_a_line_with_bytes_that_are_no_utf8_inside_a_string_keeps_the_rest(tmp_path: Path) -> None:
    """Decoded line by line with replacement: only the damaged name shows it."""
    (tmp_path / "sessions.jsonl").write_bytes(_line(ehlo="PLACE").replace(b"PLACE", b"bad\xffname") + b"\n")
    read = read_sessions(tmp_path)
    assert [r.ehlo for r in read.records] == ["bad\ufffdname"] and read.skipped == 0


def test_a_record_written_with_any_word_as_mechanism_is_read_without_it(tmp_path: Path) -> None:
    """Records written before mechanisms were checked may hold a password as the mechanism."""
    (tmp_path / "sessions.jsonl").write_bytes(
        _line(auth=[{"mechanism": "SCAN#2026", "reply": {"code": 504, "enhanced": "5.7.4", "text": "x"}}])
        + b"\n"
    )
    (record,) = load_sessions(tmp_path)
    assert record.auth == [AuthAttempt("(unrecognised)", None, Reply(504, "5.7.4", "x"))]


def test_a_zone_in_xclient_addr_is_refused(tmp_path: Path) -> None:
    """A link-local address with its zone is no address Microsoft 365 could see (nor SPF judge)."""
    import smtplib

    from mailflow_lab import Lab

    with Lab.start(state_dir=tmp_path / "state") as lab:
        host, port = lab.endpoint("contoso-com.mail.protection.outlook.com", 25)
        with smtplib.SMTP(host, port, local_hostname="zoned.local", timeout=10) as client:
            client.ehlo()
            assert client.docmd("XCLIENT", "ADDR=IPV6:fe80::1%lo")[0] == 501
            assert client.docmd("XCLIENT", "ADDR=IPV6:2001:db8::1")[0] == 220
        lab.settle()
        assert lab.runtime.errors == []
    assert [r.client_ip for r in load_sessions(tmp_path / "state")] == ["2001:db8::1"]


def test_a_report_read_right_after_a_send_has_that_send(tmp_path: Path) -> None:
    """The device's QUIT is answered before the server winds the session up: the report waits for it."""
    from mailflow_lab import Device, Lab
    from mailflow_lab.lab.readiness import lab_readiness

    device = Device(
        name="copier",
        helo="copier.contoso.local",
        server="smtp.office365.com",
        port=587,
        tls="starttls",
        username="scanner@contoso.com",
        password="Scan#2026",
        sender="scanner@contoso.com",
    )
    for n in range(5):  # a fresh lab each time: its first session is the one most often still closing
        with Lab.start(state_dir=tmp_path / f"state-{n}") as lab:
            device.send(lab, to=["alex@contoso.com"], subject=f"scan {n}")
            report = lab_readiness(lab)
            assert report.device("copier.contoso.local").option("smtp-auth").status == "works"
