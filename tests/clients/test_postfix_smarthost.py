"""Real Postfix as the on-premises smarthost in front of the lab: by certificate connector, and by SMTP AUTH.

A device hands a message to a private Postfix instance (its own config, queue and data folders, smtpd on a
free loopback port; the system instance is never touched), and Postfix relays it the two ways admins set it
up: to the tenant MX presenting a certificate an inbound connector recognises, or to smtp.office365.com:587
with SASL as a mailbox. The relay lines of main.cf come from the kit (`mailflow_lab.client.smarthost`, the
same lines notebook 04 shows); the lines that make a private instance on loopback are kept apart below.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.client import smarthost
from mailflow_lab.policy import replies as R
from real_clients import executable, needs

pytestmark = needs("postfix")

MX_HOST = "contoso-com.mail.protection.outlook.com"
CERT_NAME = "mail.contoso.com"  # the smarthost's name: in the accepted domain contoso.com
CONNECTOR = (
    "New-InboundConnector -Name 'Postfix smarthost' -ConnectorType OnPremises -SenderDomains * "
    f"-TlsSenderCertificateName {CERT_NAME} -RequireTls $true"
)
LOGIN, PASSWORD = "scanner@contoso.com", "Scan#2026"  # SMTP AUTH is on for this mailbox (contoso.toml)
ARRIVAL_TIMEOUT_S = 20
COMMAND_TIMEOUT_S = 30

# Test-only: what makes a private Postfix instance that listens on loopback and never looks up a name on the
# internet. The relay itself is configured only by the kit's lines.
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def private_instance(root: Path) -> dict[str, str]:
    """The main.cf lines of a throw-away instance in `root` (test-only, not part of a smarthost set-up)."""
    return {
        "compatibility_level": "3.6",
        "config_directory": str(root / "etc"),
        "queue_directory": str(root / "queue"),
        "data_directory": str(root / "data"),
        "maillog_file": str(root / "maillog"),  # Postfix logs to syslog otherwise (and quietly, if none runs)
        "maillog_file_prefixes": str(root),
        "myhostname": CERT_NAME,
        "myorigin": "contoso.com",
        "mydestination": "",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8",
        "alias_maps": "",
        "alias_database": "",
        "smtpd_peername_lookup": "no",
        "smtp_dns_support_level": "disabled",
        "smtp_host_lookup": "native",
        "smtp_tls_loglevel": "1",
        "biff": "no",
    }


class Postfix:
    """A private Postfix instance in its own folder: start it, stop it (always), read its log and queue."""

    def __init__(self, root: Path, relay: dict[str, str]) -> None:
        self.root = root
        self.config = root / "etc"
        self.config.mkdir()
        (root / "queue").mkdir(mode=0o755)  # `postfix start` makes its subfolders, not the folder itself
        self.port = free_port()
        lines = smarthost.main_cf(private_instance(root), comment="test only: a private instance on loopback")
        lines += smarthost.main_cf(relay, comment="the smarthost's relay (mailflow_lab.client.smarthost)")
        (self.config / "main.cf").write_text(lines)
        (self.config / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))

    def command(self, name: str, *args: str) -> str:
        path = executable(name)
        assert path is not None, name
        done = subprocess.run(
            [path, "-c", str(self.config), *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        )
        assert done.returncode == 0, (name, args, done.stdout, done.stderr, self.log())
        return done.stdout

    def start(self) -> None:
        self.command("postfix", "start")
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while not listening(self.port):
            assert time.monotonic() < deadline, f"Postfix did not listen on {self.port}:\n{self.log()}"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the master and its children; a master that ignores `postfix stop` is killed by its pid."""
        pid = self.master_pid()
        if pid is None:
            return
        path = executable("postfix")
        assert path is not None
        subprocess.run([path, "-c", str(self.config), "stop"], capture_output=True, timeout=COMMAND_TIMEOUT_S)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    def master_pid(self) -> int | None:
        try:
            return int((self.root / "queue" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def flush(self) -> None:
        self.command("postqueue", "-f")

    def queue(self) -> list[dict]:
        """`postqueue -j`: one JSON object per queued message (queue, sender, recipients, delay_reason)."""
        return [json.loads(line) for line in self.command("postqueue", "-j").splitlines() if line.strip()]

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


Starter = Callable[[dict[str, str]], Postfix]


@pytest.fixture
def postfix_root() -> Iterator[Path]:
    """The instance's folder: under /tmp with mode 0755, because Postfix's daemons run as the postfix user
    and must reach the queue (pytest's tmp_path sits in a root-only folder), and with a short path, since
    the queue holds Unix sockets (108 bytes at most)."""
    root = Path(tempfile.mkdtemp(prefix="mailflow-postfix-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def start_postfix(postfix_root: Path) -> Iterator[Starter]:
    """Start a private Postfix with the given relay lines; it is stopped after the test, whatever happens."""
    started: list[Postfix] = []

    def start(relay: dict[str, str]) -> Postfix:
        instance = Postfix(postfix_root, relay)
        started.append(instance)
        instance.start()
        return instance

    yield start
    for instance in started:
        instance.stop()


def device_sends(postfix: Postfix, sender: str, to: str, subject: str) -> str:
    """A device (Python smtplib, no TLS, no AUTH) hands one message to Postfix; returns its Message-ID."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@printer.contoso.com>"
    message.set_content("Sent by a device through the on-premises Postfix smarthost.\n")
    with smtplib.SMTP("127.0.0.1", postfix.port, local_hostname="printer.contoso.com", timeout=10) as smtp:
        smtp.send_message(message)
    return message["Message-ID"]


def wait_for(postfix: Postfix, found: Callable[[], object], what: str) -> None:
    """Flush Postfix's queue and poll until `found` gives something true; fail with Postfix's log if not."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while not found():
        assert time.monotonic() < deadline, f"{what} did not happen; Postfix's log:\n{postfix.log()}"
        postfix.flush()
        time.sleep(0.2)


def copy_in(lab: Lab, address: str, folder: str, message_id: str) -> EmailMessage | None:
    """The message with this Message-ID in a mailbox folder of the lab, or None."""
    mailbox = lab.mailbox(address)
    for message in mailbox.folder(folder) if folder in mailbox.folders() else []:
        if str(message.get("Message-ID", "")).strip() == message_id:
            return message
    return None


def received_chain(message: EmailMessage) -> list[str]:
    """The Received lines from the first hop to the last (each hop prepends its own), unfolded."""
    return [" ".join(str(line).split()) for line in reversed(message.get_all("Received", []))]


def postfix_result(postfix: Postfix, message_id: str, recipient: str) -> str:
    """Postfix's delivery line for one recipient of the message (`status=sent (...)` and so on), or ""."""
    log = postfix.log()
    queue_ids = [line.split(": ")[1] for line in log.splitlines() if f"message-id={message_id}" in line]
    for line in log.splitlines():
        if queue_ids and f" {queue_ids[0]}: to=<{recipient}>" in line and "status=" in line:
            return line
    return ""


def verdict(line: str) -> str:
    """The `status=sent (250 2.6.0)` of a Postfix delivery line: what the README matrix quotes."""
    found = re.search(r"status=(\w+) \((?:host \S+ said: )?(\d{3} \d\.\d{1,3}\.\d{1,3})", line)
    assert found is not None, line
    return f"status={found[1]} ({found[2]})"


@pytest.fixture
def tls_files(lab: Lab, postfix_root: Path) -> dict[str, str]:
    """The smarthost's lab-issued certificate for mail.contoso.com, its key, and the lab CA, as files."""
    cert_file, key_file = lab.client_certificate(CERT_NAME).write(postfix_root / "tls")
    ca_file = lab.ca.write_ca(postfix_root / "tls" / "lab-ca.pem")
    return {"cert_file": str(cert_file), "key_file": str(key_file), "ca_file": str(ca_file)}


def test_postfix_relays_by_certificate_connector_to_fabrikam(
    lab: Lab, tls_files: dict[str, str], start_postfix: Starter, matrix: Callable, landed: Callable
) -> None:
    assert lab.powershell(CONNECTOR).error is None
    relay = smarthost.connector_settings(smarthost.relayhost(*lab.endpoint(MX_HOST, 25)), **tls_files)
    postfix = start_postfix(relay)
    message_id = device_sends(postfix, "printer@contoso.com", "pat@fabrikam.com", "Delivery note via Postfix")
    wait_for(postfix, lambda: copy_in(lab, "pat@fabrikam.com", "Inbox", message_id), "delivery to Fabrikam")

    # Postfix verified the lab MX's certificate against the lab CA and handed the message over with 250.
    log = postfix.log()
    assert "Trusted TLS connection established to 127.0.0.1" in log, log
    sent = postfix_result(postfix, message_id, "pat@fabrikam.com")
    assert "dsn=2.6.0, status=sent (250 2.6.0 " in sent and "Queued mail for delivery" in sent, log
    # The lab took it as the organisation's own mail: through the connector the certificate matched.
    (record,) = [r for r in lab.message_trace(recipient="pat@fabrikam.com") if r.message_id == message_id]
    assert record.status == "Delivered"
    assert "Received via inbound connector Postfix smarthost" in [e.detail for e in record.events]

    copy = copy_in(lab, "pat@fabrikam.com", "Inbox", message_id)
    assert copy is not None
    results = " ".join(str(copy["Authentication-Results"]).split())
    assert "spf=pass" in results and "dkim=pass header.d=contoso.com" in results, results
    assert "dmarc=pass header.from=contoso.com" in results, results
    assert copy["X-MS-Exchange-CrossTenant-FromEntityHeader"] == "HybridOnPrem"
    # Every hop wrote its Received line: device -> Postfix -> the tenant MX (EOP) -> EOP outbound -> Fabrikam.
    chain = received_chain(copy)
    assert len(chain) == 4, chain
    device_hop, mx_hop, outbound_hop, fabrikam_hop = chain
    assert device_hop.startswith(f"from printer.contoso.com (unknown [127.0.0.1]) by {CERT_NAME} (Postfix)")
    assert mx_hop.startswith(f"from {CERT_NAME} (203.0.113.10) by {R.MX_DIAG} ")  # the office's NAT address
    assert "version=TLS1_3" in mx_hop and mx_hop.split(";")[0].endswith("via Frontend Transport"), mx_hop
    assert ".outbound.protection.outlook.com " in outbound_hop, outbound_hop
    assert fabrikam_hop.startswith("from EUR05-AM6-obe.outbound.protection.outlook.com ")
    assert "[40.107.22.45]) by mail.fabrikam.com (Postfix)" in fabrikam_hop, fabrikam_hop
    landing = landed(lab, "Delivery note via Postfix")
    assert landing.places == ("pat@fabrikam.com Inbox",)
    option = f"smarthost: MX port 25, STARTTLS, certificate {CERT_NAME} (connector), external recipient"
    matrix("Postfix", option, f"{verdict(sent)}; {landing} (DKIM pass, DMARC pass)")


def test_postfix_without_its_certificate_is_refused_relay(
    lab: Lab, tls_files: dict[str, str], start_postfix: Starter, matrix: Callable, landed: Callable
) -> None:
    """The same smarthost without its certificate is an anonymous sender: relay refused, Postfix bounces."""
    assert lab.powershell(CONNECTOR).error is None
    relay = smarthost.connector_settings(smarthost.relayhost(*lab.endpoint(MX_HOST, 25)), **tls_files)
    del relay["smtp_tls_cert_file"], relay["smtp_tls_key_file"]
    postfix = start_postfix(relay)
    message_id = device_sends(postfix, "printer@contoso.com", "pat@fabrikam.com", "No certificate")
    wait_for(postfix, lambda: postfix_result(postfix, message_id, "pat@fabrikam.com"), "Postfix's verdict")
    result = postfix_result(postfix, message_id, "pat@fabrikam.com")
    assert "status=bounced" in result, result
    assert f"said: {R.RELAY_DENIED} [" in result, result  # the diagnostic suffix follows
    assert "(in reply to RCPT TO command)" in result, result
    landing = landed(lab, "No certificate")
    assert landing.places == ()
    option = "smarthost: MX port 25, STARTTLS, no client certificate, external recipient"
    matrix("Postfix", option, f"{verdict(result)} at RCPT TO; {landing}")


def test_postfix_relays_with_sasl_to_smtp_office365(
    lab: Lab, postfix_root: Path, tls_files: dict[str, str], start_postfix: Starter,
    matrix: Callable, landed: Callable,
) -> None:  # fmt: skip
    """The common "Postfix relay to Microsoft 365" set-up: SMTP AUTH as one mailbox on smtp.office365.com."""
    relay = smarthost.relayhost(*lab.endpoint(smarthost.SUBMISSION_SERVER, smarthost.SUBMISSION_PORT))
    # texthash: the map is read as text, so no postmap step (a real set-up uses hash: and postmap).
    passwords = postfix_root / "sasl_passwd"
    passwords.write_text(smarthost.sasl_password_line(relay, LOGIN, PASSWORD))
    passwords.chmod(0o600)
    password_map = f"texthash:{passwords}"
    settings = smarthost.sasl_settings(relay, password_map=password_map, ca_file=tls_files["ca_file"])
    postfix = start_postfix(settings)

    # From the mailbox Postfix signs in as, to a colleague: delivered, with a copy in its Sent Items.
    own = device_sends(postfix, LOGIN, "alex@contoso.com", "Scan via Postfix and SMTP AUTH")
    wait_for(postfix, lambda: copy_in(lab, "alex@contoso.com", "Inbox", own), "delivery to Alex")
    sent = postfix_result(postfix, own, "alex@contoso.com")
    assert "dsn=2.0.0, status=sent (250 2.0.0 OK " in sent, postfix.log()
    assert "Trusted TLS connection established to 127.0.0.1" in postfix.log()
    landing = landed(lab, "Scan via Postfix and SMTP AUTH")
    assert landing.places == ("alex@contoso.com Inbox", f"{LOGIN} Sent Items")
    chain = received_chain(copy_in(lab, "alex@contoso.com", "Inbox", own) or EmailMessage())
    assert chain[0].startswith(f"from printer.contoso.com (unknown [127.0.0.1]) by {CERT_NAME} (Postfix)")
    assert chain[1].startswith(f"from {CERT_NAME} (203.0.113.10) by {R.SUBMISSION_HOST}."), chain

    # From the shared helpdesk mailbox, on which the scanner has no SendAs: refused at the end of DATA, the
    # way Exchange Online does, and Postfix bounces the message (a 5xx: no retry).
    other = device_sends(postfix, "helpdesk@contoso.com", "alex@contoso.com", "Not allowed to send as")
    wait_for(postfix, lambda: postfix_result(postfix, other, "alex@contoso.com"), "Postfix's verdict")
    refused = postfix_result(postfix, other, "alex@contoso.com")
    denied = R.send_as_denied(LOGIN, "helpdesk@contoso.com")
    said = f"status=bounced (host 127.0.0.1[127.0.0.1] said: {denied} (in reply to end of DATA command))"
    assert "dsn=5.2.252, " in refused and refused.endswith(said), refused
    refused_landing = landed(lab, "Not allowed to send as")
    assert refused_landing.places == ()
    assert all(other not in json.dumps(entry) for entry in postfix.queue())
    # The password Postfix sent (AUTH LOGIN: base64) is not in the lab's session log or message trace.
    secrets = (PASSWORD.encode(), base64.b64encode(PASSWORD.encode()))
    for kept in ("sessions.jsonl", "trace.jsonl"):
        content = (Path(lab.state_dir) / kept).read_bytes()
        assert LOGIN.encode() in content and not any(secret in content for secret in secrets), kept
    option = "smarthost: 587 STARTTLS, SASL AUTH LOGIN as scanner@contoso.com"
    matrix("Postfix", f"{option}, From the mailbox itself", f"{verdict(sent)}; {landing}")
    refusal = f"{verdict(refused)} at end of DATA; {refused_landing}"
    matrix("Postfix", f"{option}, From helpdesk@contoso.com (no SendAs)", refusal)
