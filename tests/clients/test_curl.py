"""curl (libcurl's SMTP client) against the lab: what curl tells its user, and where the message landed.

curl's own error line names the failing step and the reply code only ("curl: (67) Login denied",
"curl: (55) RCPT failed: 550"): the server's text is shown only in the -v transcript (lines "< " read, "> "
sent), so these tests run curl with -v, as an admin troubleshooting would, and check both. `--connect-to`
sends the world host name to the lab's loopback port, so curl checks the lab certificate against
smtp.office365.com (or the MX name) with the lab CA (--cacert): verification stays on.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from clients_kit import ALEX, MX, RUN_TIMEOUT_S, SCANNER, SUBMISSION, SUFFIX

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.reply import Reply
from real_clients import executable, needs

pytestmark = needs("curl")

CURL = executable("curl") or "curl"


@dataclass(frozen=True)
class CurlRun:
    """A finished curl run: exit code, its error line ("curl: (N) ..."), and the -v transcript."""

    exit_code: int
    stderr: str

    @property
    def error(self) -> str:
        return "\n".join(line for line in self.stderr.splitlines() if line.startswith("curl: ("))

    def sent(self) -> list[str]:
        return [line[2:] for line in self.stderr.splitlines() if line.startswith("> ")]

    def reply_to(self, command: str) -> str:
        """The last line of the server's reply to the first command sent that starts with ``command``; for
        AUTH, the reply that ends the exchange (after the 334 challenges and curl's answers to them)."""
        waiting = False
        for line in self.stderr.splitlines():
            if line.startswith("> ") and not (waiting and command.upper().startswith("AUTH")):
                waiting = line[2:].upper().startswith(command.upper())
            elif waiting and line.startswith("< ") and line[5:6] != "-" and not line.startswith("< 334"):
                return line[2:]
        raise AssertionError(f"no reply to {command!r} in:\n{self.stderr}")

    def final(self) -> str:
        """The reply to the end of the message (curl shows DATA, then the reply after its upload)."""
        lines = [line[2:] for line in self.stderr.splitlines() if line.startswith("< ")]
        assert lines and lines[-1].startswith("250 "), self.stderr
        return lines[-1]


@pytest.fixture
def curl(lab: Lab, tmp_path: Path) -> Callable[..., CurlRun]:
    ca = lab.ca.write_ca(tmp_path / "lab-ca.pem")

    def run(endpoint: tuple[str, int], sender: str, to: str, subject: str, *args: str) -> CurlRun:
        name, port = endpoint
        host, lab_port = lab.endpoint(*endpoint)
        message = tmp_path / f"{uuid.uuid4().hex}.eml"
        message.write_bytes(
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@curl.test>\r\n\r\nScanned document attached.\r\n".encode()
        )
        command = [
            CURL, "-sSv", "--max-time", "20",
            f"smtp://{name}:{port}/curl.contoso.local",  # the URL's path is curl's EHLO name
            "--connect-to", f"{name}:{port}:{host}:{lab_port}",
            "--ssl-reqd", "--cacert", str(ca),
            "--mail-from", sender, "--mail-rcpt", to, "--upload-file", str(message), *args,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
        return CurlRun(done.returncode, done.stderr)

    return run


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    return f"curl {request.node.name} {uuid.uuid4().hex[:8]}"


def short(line: str) -> str:
    """ "535 5.7.139" of a reply line: what the matrix quotes (the text is in the tests' assertions)."""
    reply = Reply.from_text(line)
    return f"{reply.code} {reply.enhanced}"


def refusal(run: CurlRun, reply: str) -> str:
    """The matrix result of a refused send: what curl said, and where the server's reply was to be seen."""
    text = Reply.from_text(reply).without_diagnostics().text
    seen = "in curl's error" if text in run.error else "only with -v"
    return f"exit {run.exit_code} '{run.error.split(') ', 1)[-1]}'; {short(reply)} text {seen}"


def spf_verdict(lab: Lab, address: str, folder: str, subject: str) -> str:
    """The spf= verdict Microsoft 365 stamped on the message (its Authentication-Results header)."""
    [message] = [m for m in lab.mailbox(address).folder(folder) if m["Subject"] == subject]
    found = re.match(r"spf=(\w+)", str(message["Authentication-Results"]))
    assert found, message["Authentication-Results"]
    return found[1]


@pytest.mark.parametrize(
    ("to", "option", "where"),
    [
        (
            "alex@contoso.com",
            "587 STARTTLS, AUTH LOGIN (--user), internal recipient",
            "alex@contoso.com Inbox",
        ),
        (
            "pat@fabrikam.com",
            "587 STARTTLS, AUTH LOGIN (--user), external recipient",
            "pat@fabrikam.com Inbox",
        ),
    ],
    ids=["internal", "external"],
)
def test_smtp_auth_submission(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str,
    to: str, option: str, where: str,
) -> None:  # fmt: skip
    run = curl(SUBMISSION, SCANNER[0], to, subject, "--user", ":".join(SCANNER))

    assert run.exit_code == 0 and run.error == "", run.stderr
    assert "AUTH LOGIN" in run.sent()  # the lab lists AUTH LOGIN XOAUTH2; with --user alone curl picks LOGIN
    assert run.reply_to("AUTH LOGIN") == str(R.AUTH_OK)
    assert re.fullmatch(r"250 2\.0\.0 OK <[0-9a-f]{32}@curl\.test> \[Hostname=\S+\]", run.final()), run.stderr
    landing = landed(lab, subject)
    assert landing.places == (where, "scanner@contoso.com Sent Items")
    matrix("curl", option, f"exit {run.exit_code}, {short(run.final())}; {landing}")


def test_xoauth2_submission(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str
) -> None:
    token = lab.issue_token(SCANNER[0])
    run = curl(SUBMISSION, SCANNER[0], ALEX[0], subject, "--user", SCANNER[0], "--oauth2-bearer", token)

    assert run.exit_code == 0, run.stderr
    assert "AUTH XOAUTH2" in run.sent()  # curl sends the token after the 334 (no initial response by default)
    assert run.reply_to("AUTH XOAUTH2") == str(R.AUTH_OK)
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Inbox", "scanner@contoso.com Sent Items")
    option = "587 STARTTLS, XOAUTH2 (--oauth2-bearer), internal recipient"
    matrix("curl", option, f"exit {run.exit_code}, {short(run.final())}; {landing}")


@pytest.mark.parametrize(
    ("login", "option", "expected"),
    [
        (
            ("scanner@contoso.com", "Scan#2025"),
            "587 STARTTLS, AUTH LOGIN, wrong password",
            R.AUTH_BAD_CREDENTIALS,
        ),
        (ALEX, "587 STARTTLS, AUTH LOGIN, SMTP AUTH disabled for the tenant", R.AUTH_DISABLED_TENANT),
    ],
    ids=["wrong-password", "smtp-auth-disabled"],
)
def test_refused_sign_in(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str,
    login: tuple[str, str], option: str, expected: Reply,
) -> None:  # fmt: skip
    # A wrong password is 535 5.7.3 (m365-device-mail.md), not 5.7.139: 5.7.139 is the switches' refusal.
    run = curl(SUBMISSION, login[0], ALEX[0], subject, "--user", ":".join(login))

    # curl's own line says only "Login denied" (CURLE_LOGIN_DENIED, exit 67): the same for both refusals.
    assert (run.exit_code, run.error) == (67, "curl: (67) Login denied"), run.stderr
    refused = run.reply_to("AUTH LOGIN")
    assert re.fullmatch(re.escape(str(expected)) + SUFFIX, refused), run.stderr
    assert not any(line.startswith("MAIL FROM") for line in run.sent())  # curl quits after the 535
    assert landed(lab, subject).places == ()
    matrix("curl", option, f"{refusal(run, refused)}; {landed(lab, subject)}")


def test_anonymous_submission(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str
) -> None:
    run = curl(SUBMISSION, SCANNER[0], ALEX[0], subject)  # STARTTLS, then MAIL FROM without --user

    # curl names the command and the code, not the text: "MAIL failed: 530" (CURLE_SEND_ERROR, exit 55).
    assert (run.exit_code, run.error) == (55, "curl: (55) MAIL failed: 530"), run.stderr
    refused = run.reply_to("MAIL FROM")
    assert re.fullmatch(re.escape(str(R.not_authenticated(None))) + SUFFIX, refused), run.stderr
    assert landed(lab, subject).places == ()
    matrix("curl", "587 STARTTLS, no --user", f"{refusal(run, refused)}; {landed(lab, subject)}")


def test_direct_send_to_an_internal_recipient(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str
) -> None:
    run = curl(MX, "printer@contoso.com", ALEX[0], subject)  # STARTTLS checked against the MX name

    assert run.exit_code == 0, run.stderr
    assert not any(line.startswith("AUTH") for line in run.sent())
    assert re.fullmatch(
        r"250 2\.6\.0 <[0-9a-f]{32}@curl\.test> \[InternalId=\d{12}, Hostname=\S+\] \d+ bytes in \d+\.\d{3}, "
        r"\d+\.\d{3} KB/sec Queued mail for delivery",
        run.final(),
    ), run.stderr
    # From 127.0.0.1 without XCLIENT the lab takes curl to be behind the office NAT address, which
    # contoso.com's SPF does not list: SPF fails, composite authentication fails, and the message is junked.
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Junk Email",)
    [record] = lab.message_trace(sender="printer@contoso.com")
    assert record.status == "FilteredAsSpam" and record.from_ip == "203.0.113.10"
    spf = spf_verdict(lab, ALEX[0], "Junk Email", subject)
    assert spf == "fail"
    matrix("curl", "MX port 25, STARTTLS, no auth, internal recipient",
           f"exit {run.exit_code}, {short(run.final())}; {landing} (spf={spf})")  # fmt: skip


def test_direct_send_to_an_external_recipient(
    lab: Lab, curl: Callable[..., CurlRun], landed: Callable, matrix: Callable, subject: str
) -> None:
    run = curl(MX, "printer@contoso.com", "pat@fabrikam.com", subject)

    assert (run.exit_code, run.error) == (55, "curl: (55) RCPT failed: 550"), run.stderr
    refused = run.reply_to("RCPT TO")
    assert re.fullmatch(re.escape(str(R.RELAY_DENIED)) + SUFFIX, refused), run.stderr
    assert "DATA" not in run.sent()
    assert landed(lab, subject).places == ()
    assert lab.message_trace(sender="printer@contoso.com") == []  # refused in the session: no trace
    option = "MX port 25, STARTTLS, no auth, external recipient"
    matrix("curl", option, f"{refusal(run, refused)}; {landed(lab, subject)}")
