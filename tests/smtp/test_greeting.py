"""Greeting and command syntax as Exchange Online answers them (the protocol sheet), over real sockets."""

from __future__ import annotations

import re
import smtplib

import pytest
from hostile_kit import FABRIKAM, MX, SUBMISSION, Wire

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.store.sessions import load_sessions

SUFFIX = re.compile(r" \[(\S+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([0-9A-F]{16})\]$")
OFFICE_IP = "203.0.113.10"


@pytest.mark.parametrize("name", ["printer.contoso.local.", "scan_01.contoso.local", "two words", ""])
@pytest.mark.parametrize("verb", ["EHLO", "HELO"])
def test_invalid_domain_names_are_refused_on_submission(lab: Lab, verb: str, name: str) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        reply = wire.cmd(f"{verb} {name}".rstrip())
        assert R.without_diagnostics(reply) == str(R.INVALID_DOMAIN_NAME)
        assert SUFFIX.search(reply)


@pytest.mark.parametrize("name", ["printer01", "printer.contoso.local", "[192.0.2.1]", "[IPv6:2001:db8::1]"])
def test_valid_names_and_address_literals_are_taken(lab: Lab, name: str) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        assert wire.ehlo(name)[-1].startswith("250 ")


def test_helo_answers_like_the_first_line_of_ehlo(lab: Lab) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        assert wire.cmd("HELO printer.contoso.local") == f"250 {R.SUBMISSION_FQDN} Hello [{OFFICE_IP}]"


def test_bare_helo_is_taken_on_the_mx_only(lab: Lab) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        assert wire.cmd("HELO") == f"250 {R.MX_FQDN} Hello [{OFFICE_IP}]"
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250 ")
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        assert R.without_diagnostics(wire.cmd("HELO")) == str(R.INVALID_DOMAIN_NAME)


def test_a_postfix_server_takes_any_helo_name(lab: Lab) -> None:
    with Wire(lab.endpoint(FABRIKAM, 25)) as wire:
        assert wire.ehlo("relay.example.")[-1].startswith("250 ")
        assert not SUFFIX.search(wire.cmd("FOO"))  # no Microsoft diagnostic suffix on Postfix


def test_smtplib_with_a_trailing_dot_host_name_gets_501(lab: Lab) -> None:
    host, port = lab.endpoint(SUBMISSION, 587)
    with smtplib.SMTP(host, port, local_hostname="app-server.contoso.local.", timeout=10) as client:
        code, message = client.ehlo()
        assert code == 501 and message.decode().startswith("5.5.4 Invalid domain name [")


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (["MAIL FROM:<printer@contoso.com>"], R.SEND_HELLO_FIRST),
        (["EHLO p.local", "RCPT TO:<alex@contoso.com>"], R.NEED_MAIL),
        (["EHLO p.local", "DATA"], R.NEED_MAIL),
        (["EHLO p.local", "MAIL FROM:<printer@contoso.com>", "DATA"], R.NEED_RCPT),
        (["EHLO p.local", "MAIL FROM:<printer@contoso.com>", "MAIL FROM:<printer@contoso.com>"],
         R.SENDER_ALREADY_SPECIFIED),
        (["EHLO p.local", "MAIL"], R.UNRECOGNIZED_PARAMETER),
        (["EHLO p.local", "FOO bar"], R.unrecognized_command("FOO")),
        (["EHLO p.local", "\x01\x02"], R.unrecognized_command("\x01\x02")),
    ],
    ids=["hello-first", "need-mail-rcpt", "need-mail-data", "need-rcpt", "sender-twice", "bare-mail",
         "unknown", "unprintable"],
)  # fmt: skip
def test_sequence_and_syntax_replies_at_the_mx(lab: Lab, commands: list[str], expected: R.Reply) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        for command in commands[:-1]:
            wire.send(f"{command}\r\n".encode())
            wire.reply()
        reply = wire.cmd(commands[-1])
        assert R.without_diagnostics(reply) == str(expected)
        assert SUFFIX.search(reply)[1] == R.EOP_DIAG  # type: ignore[index]


def test_one_session_id_in_the_banner_every_error_and_the_session_log(lab: Lab) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        banner = wire.banner[-1]
        found = re.search(r" \[([0-9A-F]{16})\]$", banner)
        assert found, banner
        assert re.search(r" ready at \w{3}, [1-9]\d? \w{3} \d{4} ", banner)  # no leading zero on the day
        errors = [wire.cmd("FOO"), wire.cmd("MAIL FROM:<a@contoso.com>")]
        ids = {SUFFIX.search(reply)[3] for reply in errors}  # type: ignore[index]
        assert ids == {found[1]}
        wire.cmd("QUIT")
    lab._servers.settle()
    [record] = [s for s in load_sessions(lab.state_dir) if s.endpoint == SUBMISSION]
    assert record.session_id == found[1]


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"user=scanner@contoso.com\x01\x01", R.XOAUTH2_BAD_DATA),  # no auth=Bearer
        (b"auth=Bearer abc\x01\x01", R.XOAUTH2_BAD_DATA),  # no user=
        (None, R.AUTH_BAD_BASE64),  # not base64 at all
    ],
    ids=["no-token", "no-user", "not-base64"],
)
def test_malformed_xoauth2_data(lab: Lab, blob: bytes | None, expected: R.Reply) -> None:
    import base64

    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo("app.contoso.local")
        wire.starttls(lab, SUBMISSION)
        wire.ehlo("app.contoso.local")
        argument = base64.b64encode(blob).decode() if blob is not None else "not*base64"
        reply = wire.cmd(f"AUTH XOAUTH2 {argument}")
        assert R.without_diagnostics(reply) == str(expected)
        assert SUFFIX.search(reply)
