"""The lab driven by the real swaks client: exact replies from swaks' transcript, and where mail ends up.

Two swaks facts shape these tests (swaks 20201014, the Debian/Ubuntu package):

- swaks sends XCLIENT only when the server's EHLO reply lists it: ``--xclient-no-verify`` skips the check
  of the listed *attributes*, not of XCLIENT itself, so against a default lab (whose EHLO reply is
  Microsoft's, without XCLIENT) swaks stops with "Host did not advertise XCLIENT". These tests therefore
  start their own lab with ``advertise_xclient=True``: every endpoint then lists ``XCLIENT ADDR NAME HELO``
  as the last EHLO keyword (after SMTPUTF8), to loopback clients only, and swaks talks to it directly.
  With ``--xclient-before-starttls`` swaks says EHLO, XCLIENT, EHLO again (after the lab's fresh 220),
  STARTTLS, EHLO: the same order as the lab's own client (device.py). Likewise swaks sends AUTH only when
  AUTH is listed, so a device that sends AUTH before STARTTLS is tested with smtplib, not here.
- swaks stops at the first refusal and quits; its transcript marks lines read (``<-``, ``<~`` inside TLS,
  ``<**``/``<~*`` for an unexpected reply), lines sent (``->``, ``~>``) and its own errors (``***``).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.world.model import InboundConnector
from real_clients import needs

SWAKS = shutil.which("swaks")
RUN_TIMEOUT_S = 30

pytestmark = needs("swaks")

SUBMISSION = ("smtp.office365.com", 587)
LEGACY = ("smtp-legacy.office365.com", 587)
MX = ("contoso-com.mail.protection.outlook.com", 25)
OFFICE_IP = "203.0.113.10"
BRANCH_IP = "198.51.100.23"

# The EHLO keywords of smtp.office365.com, in the sheet's order (m365-device-mail.md).
EHLO_BEFORE_TLS = [
    "SIZE 157286400",
    "PIPELINING",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "STARTTLS",
    "8BITMIME",
    "BINARYMIME",
    "CHUNKING",
    "SMTPUTF8",
]
EHLO_AFTER_TLS = [("AUTH LOGIN XOAUTH2" if k == "STARTTLS" else k) for k in EHLO_BEFORE_TLS]
# What Lab.start(advertise_xclient=True) adds after them, as the last keyword (loopback clients only).
XCLIENT_KEYWORD = "XCLIENT ADDR NAME HELO"

# The diagnostic suffix every Microsoft 365 error reply ends with: [<host> <UTC time> <session id>].
SUFFIX = r" \[\S+\.(?:PROD\.OUTLOOK\.COM|prod\.protection\.outlook\.com) \S+Z [0-9A-F]{16}\]"
AUTH_DISABLED_TENANT = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information."
)
TLS_LEGACY_REFUSED = (
    "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
    "Visit https://aka.ms/smtp_auth_tls"
)
DIRECT_SEND_REJECTED = (
    "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization "
    "from unauthorized sources"
)


# -- running swaks and reading its transcript ----------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One transcript line: its swaks hint (``<-``, ``~>``, ``***``...) and its text."""

    hint: str
    text: str

    @property
    def from_server(self) -> bool:
        return self.hint.startswith("<")

    @property
    def from_client(self) -> bool:
        return self.hint.endswith(">")


@dataclass(frozen=True)
class Run:
    """A finished swaks run: exit code and transcript (stdout and stderr interleaved, in order)."""

    command: list[str]
    exit_code: int
    output: str

    @property
    def lines(self) -> list[Line]:
        parsed = []
        for raw in self.output.splitlines():
            hint, text = raw[:3], raw[4:]
            if hint in ("<- ", "<~ ", "<**", "<~*", " ->", " ~>", "**>", "*~>", "===", "***"):
                parsed.append(Line(hint.strip(), text))
        return parsed

    @property
    def errors(self) -> list[str]:
        return [line.text for line in self.lines if line.hint == "***"]

    @property
    def sent(self) -> list[str]:
        return [line.text for line in self.lines if line.from_client]

    def replies(self) -> list[tuple[str, list[str]]]:
        """(the command sent, or "" for the greeting, the lines of the server's reply), in order."""
        result: list[tuple[str, list[str]]] = []
        command, reply = "", []
        for line in self.lines:
            if line.from_client:
                command = line.text
            elif line.from_server:
                reply.append(line.text)
                if len(line.text) < 4 or line.text[3] != "-":  # "250 x" ends a reply, "250-x" continues
                    result.append((command, reply))
                    reply = []
        return result

    def reply_to(self, command: str, occurrence: int = 0) -> str:
        """The (last line of the) reply to the n-th command that starts with ``command``."""
        found = [reply for sent, reply in self.replies() if sent.upper().startswith(command.upper())]
        assert len(found) > occurrence, f"no reply to {command!r} (#{occurrence}) in:\n{self}"
        return found[occurrence][-1]

    def ehlo_replies(self) -> list[list[str]]:
        return [reply for sent, reply in self.replies() if sent.upper().startswith("EHLO ")]

    @property
    def final(self) -> str:
        """The reply to the end of DATA (with --suppress-data swaks shows the message as "N lines sent")."""
        for sent, reply in self.replies():
            if sent.endswith(" lines sent"):
                return reply[-1]
        raise AssertionError(f"the message was never sent:\n{self}")

    def line(self, text: str) -> Line:
        """The first transcript line with exactly this text (a reply: with or without its suffix)."""
        found = [line for line in self.lines if text in (line.text, R.without_diagnostics(line.text))]
        assert found, f"no line {text!r} in:\n{self}"
        return found[0]

    def __str__(self) -> str:
        return f"$ {shlex.join(self.command)}\n(exit {self.exit_code})\n{self.output}"


@cache
def swaks_support() -> str:
    if SWAKS is None:
        return ""
    done = subprocess.run(
        [SWAKS, "--support"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    return done.stdout + done.stderr


def swaks_has_tls() -> bool:
    return "TLS supported" in swaks_support()


needs_tls = pytest.mark.skipif(  # (without swaks at all, pytestmark skips first)
    SWAKS is not None and not swaks_has_tls(),
    reason="this swaks cannot do TLS (it needs Net::SSLeay: apt-get install libnet-ssleay-perl)",
)


@dataclass
class Swaks:
    """Runs swaks against one lab, connected straight to the endpoint's port."""

    lab: Lab
    workdir: Path

    @property
    def ca(self) -> Path:
        path = self.workdir / "lab-ca.pem"
        if not path.exists():
            self.lab.ca.write_ca(path)
        return path

    def run(
        self,
        endpoint: tuple[str, int],
        *args: str,
        sender: str,
        to: str,
        subject: str,
        ehlo: str = "device.contoso.local",
    ) -> Run:
        host, port = self.lab.endpoint(*endpoint)
        command = [
            str(SWAKS),
            "--server",
            host,
            "--port",
            str(port),
            "--ehlo",
            ehlo,
            "--from",
            sender,
            "--to",
            to,
            "--header",
            f"Subject: {subject}",
            "--suppress-data",
            "--timeout",
            "20s",
            *args,
        ]
        done = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # swaks flushes every line: errors stay in transcript order
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        return Run(command, done.returncode, done.stdout)

    def tls_args(self) -> list[str]:
        return ["-tls", "--tls-ca-path", str(self.ca), "--tls-verify"]


@pytest.fixture
def swaks_lab(tmp_path: Path) -> Iterator[Lab]:
    """A fresh lab that lists XCLIENT in its EHLO replies, so that swaks agrees to send it."""
    with Lab.start(state_dir=tmp_path / "state", advertise_xclient=True) as running:
        yield running


@pytest.fixture
def swaks(swaks_lab: Lab, tmp_path: Path) -> Swaks:
    return Swaks(swaks_lab, tmp_path)


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name} {uuid.uuid4().hex[:8]}"


# -- where mail went ---------------------------------------------------------------------------------
def all_mailboxes(lab: Lab) -> list[str]:
    return [m.address for m in lab.world.tenant.mailboxes] + [
        a for org in lab.world.outside for a in org.mailboxes
    ]


def copies(lab: Lab, subject: str) -> dict[tuple[str, str], int]:
    """(mailbox, folder) -> how many messages with this subject it holds; quarantine as ("", "quarantine")."""
    found: dict[tuple[str, str], int] = {}
    for address in all_mailboxes(lab):
        view = lab.mailbox(address)
        for folder in dict.fromkeys(["Inbox", "Junk Email", "Sent Items", *view.folders()]):
            hits = sum(1 for m in view.folder(folder) if str(m.get("Subject", "")) == subject)
            if hits:
                found[(address, folder)] = hits
    held = sum(1 for m in lab.quarantine() if str(m.get("Subject", "")) == subject)
    if held:
        found[("", "quarantine")] = held
    return found


def assert_delivered_nowhere(lab: Lab, subject: str) -> None:
    """The invariant of a refused send: no mailbox (and no quarantine) holds the message."""
    assert copies(lab, subject) == {}


def only_message(lab: Lab, address: str, folder: str, subject: str) -> EmailMessage:
    matching = [m for m in lab.mailbox(address).folder(folder) if str(m.get("Subject", "")) == subject]
    assert len(matching) == 1, f"{address}/{folder}: {len(matching)} messages with subject {subject!r}"
    return matching[0]


def add_office_connector(lab: Lab, *, ip: str | None = None, certificate_name: str | None = None) -> None:
    """New-InboundConnector -ConnectorType OnPremises, by -SenderIPAddresses or -TlsSenderCertificateName."""
    lab.world.tenant.inbound_connectors.append(
        InboundConnector(
            name="Contoso devices",
            connector_type="OnPremises",
            sender_ip_addresses=[ipaddress.ip_network(ip)] if ip else [],
            tls_sender_certificate_name=certificate_name,
        )
    )


def login(user: str, password: str, *, optional: bool = False) -> list[str]:
    """AUTH LOGIN; ``optional`` lets swaks go on to MAIL FROM after a refused AUTH, as devices do."""
    return [*(["--auth-optional", "LOGIN"] if optional else ["-a", "LOGIN"]), "-au", user, "-ap", password]


def appear_as(address: str) -> list[str]:
    """XCLIENT ADDR= before STARTTLS, like the lab's own client (swaks checks that ADDR is listed)."""
    return ["--xclient-addr", address, "--xclient-before-starttls"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def authentication_results(message: EmailMessage, by: str = "") -> str:
    """The Authentication-Results header (the one that starts with ``by``, e.g. "mail.fabrikam.com;")."""
    values = [str(v) for v in message.get_all("Authentication-Results", [])]
    found = [v for v in values if v.startswith(by)]
    assert found, f"no Authentication-Results starting with {by!r} in {values}"
    return found[0]


# -- SMTP AUTH client submission (smtp.office365.com:587) ---------------------------------------------
@needs_tls
def test_scanner_sends_with_starttls_and_auth_login(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = swaks.run(
        SUBMISSION,
        *swaks.tls_args(),
        *login("scanner@contoso.com", "Scan#2026"),
        sender="scanner@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.exit_code == 0, run
    assert run.reply_to("STARTTLS") == "220 2.0.0 SMTP server ready"
    assert run.line("AUTH LOGIN").hint == "~>"  # sent inside TLS
    assert run.reply_to("AUTH LOGIN") == "334 VXNlcm5hbWU6"
    assert run.reply_to(b64("scanner@contoso.com")) == "334 UGFzc3dvcmQ6"
    assert run.reply_to(b64("Scan#2026")) == "235 2.7.0 Authentication successful"
    assert run.reply_to("MAIL FROM:") == "250 2.1.0 Sender OK"
    assert run.reply_to("RCPT TO:") == "250 2.1.5 Recipient OK"
    assert run.reply_to("DATA") == "354 Start mail input; end with <CRLF>.<CRLF>"
    assert re.fullmatch(r"250 2\.0\.0 OK <[^>]+> \[Hostname=\S+\.PROD\.OUTLOOK\.COM\]", run.final), run
    assert run.reply_to("QUIT") == "221 2.0.0 Service closing transmission channel"
    assert copies(swaks_lab, subject) == {
        ("alex@contoso.com", "Inbox"): 1,
        ("scanner@contoso.com", "Sent Items"): 1,
    }


@needs_tls
def test_ehlo_lists_before_and_after_starttls_in_microsofts_order(swaks: Swaks, subject: str) -> None:
    run = swaks.run(
        SUBMISSION,
        *swaks.tls_args(),
        "--quit-after",
        "helo",  # swaks' name for the EHLO after STARTTLS
        sender="scanner@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.exit_code == 0, run
    before, after = run.ehlo_replies()
    greeting = r"250-\S+\.outlook\.office365\.com Hello \[203\.0\.113\.10\]"
    assert re.fullmatch(greeting, before[0]), before
    assert re.fullmatch(greeting, after[0]), after
    # The sheet's lists, then the XCLIENT keyword this lab was started to add, after SMTPUTF8.
    assert [line[:4] for line in before] == ["250-"] * 10 + ["250 "]
    assert [line[:4] for line in after] == ["250-"] * 10 + ["250 "]
    assert [line[4:] for line in before[1:]] == [*EHLO_BEFORE_TLS, XCLIENT_KEYWORD]
    assert [line[4:] for line in after[1:]] == [*EHLO_AFTER_TLS, XCLIENT_KEYWORD]
    assert run.line("250-STARTTLS").hint == "<-"
    assert run.line("250-AUTH LOGIN XOAUTH2").hint == "<~"


@needs_tls
def test_smtp_auth_disabled_for_the_tenant(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    # alex follows the tenant ($null), and the tenant has SmtpClientAuthenticationDisabled $true.
    run = swaks.run(
        SUBMISSION,
        *swaks.tls_args(),
        *login("alex@contoso.com", "Alex#2026", optional=True),
        sender="alex@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert R.without_diagnostics(run.reply_to(b64("Alex#2026"))) == AUTH_DISABLED_TENANT
    assert run.line(AUTH_DISABLED_TENANT).hint == "<~*"
    assert (
        R.without_diagnostics(run.reply_to("MAIL FROM:"))
        == f"530 5.7.57 Client not authenticated to send mail. Error: {AUTH_DISABLED_TENANT}"
    )
    assert run.exit_code == 23, run  # swaks' exit code for a refused MAIL FROM
    assert_delivered_nowhere(swaks_lab, subject)


@needs_tls
def test_wrong_password(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = swaks.run(
        SUBMISSION,
        *swaks.tls_args(),
        *login("scanner@contoso.com", "not-the-password"),
        sender="scanner@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    refused = run.reply_to(b64("not-the-password"))
    assert re.fullmatch(r"535 5\.7\.3 Authentication unsuccessful" + SUFFIX, refused), run
    assert run.exit_code == 28, run  # swaks: "No authentication type succeeded", then QUIT
    assert "No authentication type succeeded" in run.errors
    assert not any(sent.startswith("MAIL FROM") for sent in run.sent)
    assert_delivered_nowhere(swaks_lab, subject)


def test_mail_before_starttls(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = swaks.run(SUBMISSION, sender="scanner@contoso.com", to="alex@contoso.com", subject=subject)

    refused = run.reply_to("MAIL FROM:")
    assert re.fullmatch(r"451 5\.7\.3 STARTTLS is required to send mail" + SUFFIX, refused), run
    assert run.line(refused).hint == "<**"
    assert run.exit_code == 23, run
    assert_delivered_nowhere(swaks_lab, subject)


# AUTH before STARTTLS is not tested here: swaks sends AUTH only when the EHLO reply lists it, and the lab
# lists AUTH only inside TLS. tests/smtp/test_submission.py::test_auth_refused_before_tls_or_unoffered
# sends it in the clear with smtplib and checks the 504 5.7.4.


@needs_tls
def test_send_as_denied_at_the_end_of_data(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = swaks.run(
        SUBMISSION,
        *swaks.tls_args(),
        *login("scanner@contoso.com", "Scan#2026"),
        sender="helpdesk@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.reply_to("MAIL FROM:") == "250 2.1.0 Sender OK"
    assert run.reply_to("RCPT TO:") == "250 2.1.5 Recipient OK"
    assert run.final.startswith(
        "554 5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as helpdesk@contoso.com; "
        "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
        "Failed to process message due to a permanent exception with message "
        "[BeginDiagnosticData]Cannot submit message."
    ), run
    assert run.exit_code == 26, run
    assert_delivered_nowhere(swaks_lab, subject)  # not even scanner's Sent Items


def _legacy_tls_run(swaks: Swaks, endpoint: tuple[str, int], subject: str) -> Run:
    run = swaks.run(
        endpoint,
        *swaks.tls_args(),
        # OpenSSL 3 allows TLS 1.0 only at security level 0, on both ends (the lab sets it on its end).
        "--tls-protocol",
        "tlsv1",
        "--tls-cipher",
        "DEFAULT:@SECLEVEL=0",
        *login("scanner@contoso.com", "Scan#2026"),
        sender="scanner@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )
    if any(error.startswith(("TLS startup failed", "STARTTLS attempted but failed")) for error in run.errors):
        pytest.skip(f"this swaks/OpenSSL cannot negotiate TLS 1.0: {run.errors}")
    started = [line.text for line in run.lines if line.text.startswith("TLS started with cipher ")]
    assert started and started[0].startswith("TLS started with cipher TLSv1:"), run
    return run


@needs_tls
def test_tls_1_0_is_refused_with_421(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = _legacy_tls_run(swaks, SUBMISSION, subject)

    assert (
        R.without_diagnostics(run.reply_to("EHLO", 1)) == TLS_LEGACY_REFUSED
    )  # the EHLO after the handshake
    assert run.line(TLS_LEGACY_REFUSED).hint == "<~*"
    # swaks falls back to HELO on the closed connection and gives up.
    assert "Remote host closed connection unexpectedly." in run.errors
    assert not any(sent.startswith(("AUTH", "MAIL")) for sent in run.sent)
    assert run.exit_code == 6, run  # swaks: connection closed unexpectedly
    assert_delivered_nowhere(swaks_lab, subject)


@needs_tls
def test_tls_1_0_is_taken_by_the_legacy_endpoint_once_allowed(
    swaks_lab: Lab, swaks: Swaks, subject: str
) -> None:
    # Set-TransportConfig -AllowLegacyTLSClients $true
    swaks_lab.world.tenant.settings.allow_legacy_tls_clients = True

    run = _legacy_tls_run(swaks, LEGACY, subject)

    assert run.exit_code == 0, run
    assert run.reply_to(b64("Scan#2026")) == "235 2.7.0 Authentication successful"
    assert run.final.startswith("250 2.0.0 OK <"), run
    assert copies(swaks_lab, subject) == {
        ("alex@contoso.com", "Inbox"): 1,
        ("scanner@contoso.com", "Sent Items"): 1,
    }


# -- the tenant MX (port 25): XCLIENT, direct send, connectors ----------------------------------------
def test_xclient_is_not_advertised_by_default_so_swaks_will_not_send_it(
    lab: Lab, tmp_path: Path, subject: str
) -> None:
    # Why this file starts its labs with advertise_xclient=True: against the default lab (conftest's `lab`,
    # whose EHLO reply is Microsoft's) swaks 20201014 refuses to send XCLIENT, --xclient-no-verify or not.
    run = Swaks(lab, tmp_path).run(
        MX,
        *appear_as(BRANCH_IP),
        "--xclient-no-verify",
        sender="printer@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    [ehlo] = run.ehlo_replies()
    assert [line[4:] for line in ehlo[1:]] == EHLO_BEFORE_TLS, run  # no XCLIENT line
    assert not any("XCLIENT" in line.text for line in run.lines if line.from_server), run
    assert not any(sent.startswith("XCLIENT") for sent in run.sent), run
    assert "Host did not advertise XCLIENT" in run.errors, run
    assert run.exit_code == 33, run
    assert_delivered_nowhere(lab, subject)


def test_direct_send_lands_in_junk_with_spf_fail(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    run = swaks.run(
        MX,
        *appear_as(OFFICE_IP),
        sender="printer@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.exit_code == 0, run
    assert run.ehlo_replies()[0][-1] == f"250 {XCLIENT_KEYWORD}"  # the last keyword, so swaks sends it
    assert run.line("XCLIENT ADDR=203.0.113.10").hint == "->"
    # Postfix-style: XCLIENT is answered with a fresh greeting, and swaks says EHLO again.
    assert re.fullmatch(
        r"220 \S+\.mail\.protection\.outlook\.com Microsoft ESMTP MAIL Service ready at .+",
        run.reply_to("XCLIENT ADDR=203.0.113.10"),
    ), run
    assert len(run.ehlo_replies()) == 2
    assert run.reply_to("RCPT TO:") == "250 2.1.5 Recipient OK"
    assert re.fullmatch(
        r"250 2\.6\.0 <[^>]+> \[InternalId=\d{12}, Hostname=\S+\] \d+ bytes in \d+\.\d{3}, \d+\.\d{3} KB/sec "
        r"Queued mail for delivery",
        run.final,
    ), run
    assert copies(swaks_lab, subject) == {("alex@contoso.com", "Junk Email"): 1}
    message = only_message(swaks_lab, "alex@contoso.com", "Junk Email", subject)
    assert authentication_results(message) == (  # the EOP sheet's example, word for word
        "spf=fail (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com; dkim=none (message not signed) "
        "header.d=none;dmarc=fail action=none header.from=contoso.com;compauth=fail reason=601"
    )
    assert str(message["X-MS-Exchange-Organization-AuthAs"]) == "Anonymous"
    assert "SCL:5;" in str(message["X-Forefront-Antispam-Report"])
    [record] = swaks_lab.message_trace(sender="printer@contoso.com")
    assert (record.status, record.from_ip) == ("FilteredAsSpam", OFFICE_IP)


def _publish_office_ip_in_spf(lab: Lab) -> None:
    lab.dns.set_records(
        "contoso.com",
        "TXT",
        ['"v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"', '"MS=ms48123456"'],
    )


def test_direct_send_lands_in_inbox_once_spf_lists_the_office(
    swaks_lab: Lab, swaks: Swaks, subject: str
) -> None:
    _publish_office_ip_in_spf(swaks_lab)

    run = swaks.run(
        MX,
        *appear_as(OFFICE_IP),
        sender="printer@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.exit_code == 0, run
    assert run.final.startswith("250 2.6.0 <"), run
    assert copies(swaks_lab, subject) == {("alex@contoso.com", "Inbox"): 1}
    assert authentication_results(only_message(swaks_lab, "alex@contoso.com", "Inbox", subject)) == (
        "spf=pass (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com; dkim=none (message not signed) "
        "header.d=none;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100"
    )
    [record] = swaks_lab.message_trace(sender="printer@contoso.com")
    assert record.status == "Delivered"


def test_xclient_address_is_the_one_spf_judges(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    # SPF lists the office; the device appears from the branch office instead, so SPF fails again.
    _publish_office_ip_in_spf(swaks_lab)

    run = swaks.run(
        MX,
        *appear_as(BRANCH_IP),
        sender="copier@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.exit_code == 0, run
    first, second = run.ehlo_replies()
    assert first[0].endswith(f"Hello [{OFFICE_IP}]")  # before XCLIENT: the office NAT address
    assert second[0].endswith(f"Hello [{BRANCH_IP}]")
    assert copies(swaks_lab, subject) == {("alex@contoso.com", "Junk Email"): 1}
    results = authentication_results(only_message(swaks_lab, "alex@contoso.com", "Junk Email", subject))
    assert results.startswith(f"spf=fail (sender IP is {BRANCH_IP}) smtp.mailfrom=contoso.com;"), results


def test_direct_send_to_an_outside_recipient_is_relay_denied(
    swaks_lab: Lab, swaks: Swaks, subject: str
) -> None:
    run = swaks.run(
        MX,
        *appear_as(OFFICE_IP),
        sender="printer@contoso.com",
        to="pat@fabrikam.com",
        subject=subject,
    )

    refused = run.reply_to("RCPT TO:")
    assert re.fullmatch(r"550 5\.7\.64 TenantAttribution; Relay Access Denied" + SUFFIX, refused), run
    assert run.line(refused).hint == "<**"
    assert run.exit_code == 24, run
    assert not any(sent == "DATA" for sent in run.sent)
    assert_delivered_nowhere(swaks_lab, subject)
    assert swaks_lab.message_trace(sender="printer@contoso.com") == []  # refused in the session: no trace


def test_reject_direct_send(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    # Set-OrganizationConfig -RejectDirectSend $true
    swaks_lab.world.tenant.settings.reject_direct_send = True

    run = swaks.run(
        MX,
        *appear_as(OFFICE_IP),
        sender="printer@contoso.com",
        to="alex@contoso.com",
        subject=subject,
    )

    assert run.reply_to("MAIL FROM:") == "250 2.1.0 Sender OK"
    assert R.without_diagnostics(run.reply_to("RCPT TO:")) == DIRECT_SEND_REJECTED
    assert run.exit_code == 24, run
    assert_delivered_nowhere(swaks_lab, subject)
    assert swaks_lab.message_trace(sender="printer@contoso.com") == []  # rejected at the protocol layer


def _assert_relayed_to_pat(lab: Lab, run: Run, subject: str) -> None:
    assert run.exit_code == 0, run
    assert run.reply_to("RCPT TO:") == "250 2.1.5 Recipient OK"
    assert re.fullmatch(
        r"250 2\.6\.0 <[^>]+> \[InternalId=\d{12}, Hostname=\S+\] \d+ bytes in \d+\.\d{3}, \d+\.\d{3} KB/sec "
        r"Queued mail for delivery",
        run.final,
    ), run
    assert copies(lab, subject) == {("pat@fabrikam.com", "Inbox"): 1}
    message = only_message(lab, "pat@fabrikam.com", "Inbox", subject)
    # Fabrikam's server stamps its own verdicts: Microsoft 365 relayed from its range and DKIM-signed.
    assert authentication_results(message, by="mail.fabrikam.com;") == (
        "mail.fabrikam.com; spf=pass smtp.mailfrom=contoso.com; dkim=pass header.d=contoso.com; "
        "dmarc=pass header.from=contoso.com"
    )
    [record] = lab.message_trace(recipient="pat@fabrikam.com")
    assert record.status == "Delivered"


def test_connector_by_ip_relays_to_an_outside_recipient(swaks_lab: Lab, swaks: Swaks, subject: str) -> None:
    add_office_connector(swaks_lab, ip="203.0.113.10/32")

    run = swaks.run(
        MX,
        *appear_as(OFFICE_IP),
        sender="printer@contoso.com",
        to="pat@fabrikam.com",
        subject=subject,
    )

    _assert_relayed_to_pat(swaks_lab, run, subject)


@needs_tls
@pytest.mark.parametrize("certificate_name", ["*.contoso.com", "relay.contoso.com"])
def test_connector_by_certificate_relays_to_an_outside_recipient(
    swaks_lab: Lab, swaks: Swaks, subject: str, tmp_path: Path, certificate_name: str
) -> None:
    add_office_connector(swaks_lab, certificate_name=certificate_name)
    cert, key = swaks_lab.client_certificate("relay.contoso.com").write(tmp_path / "client")

    run = swaks.run(
        MX,
        *appear_as(BRANCH_IP),  # a dynamic address no connector lists: only the certificate can match
        *swaks.tls_args(),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        sender="copier@contoso.com",
        to="pat@fabrikam.com",
        subject=subject,
    )

    assert run.line('TLS local DN="/CN=relay.contoso.com"').hint == "==="
    assert run.line("RCPT TO:<pat@fabrikam.com>").hint == "~>"
    _assert_relayed_to_pat(swaks_lab, run, subject)


@needs_tls
def test_certificate_connector_without_the_certificate_is_relay_denied(
    swaks_lab: Lab, swaks: Swaks, subject: str
) -> None:
    add_office_connector(swaks_lab, certificate_name="*.contoso.com")

    run = swaks.run(
        MX,
        *appear_as(BRANCH_IP),
        *swaks.tls_args(),
        sender="copier@contoso.com",
        to="pat@fabrikam.com",
        subject=subject,
    )

    assert re.fullmatch(
        r"550 5\.7\.64 TenantAttribution; Relay Access Denied" + SUFFIX, run.reply_to("RCPT TO:")
    )
    assert run.exit_code == 24, run
    assert_delivered_nowhere(swaks_lab, subject)
