"""BDAT (RFC 3030) from a real, widely used client: Exim's smtp transport, which sends BDAT wherever CHUNKING
is advertised (``hosts_try_chunking = *``, its default since 4.88).

Exim is not installed (Debian's exim4-daemon-* conflicts with postfix, which other tests need): it is
unpacked with ``dpkg -x`` by ``.ci/install-exim-client`` into ``$MAILFLOW_LAB_EXIM`` (default
/opt/exim-client) and run once per test as a client, ``exim4 -C <config> -odf -oi -v -f SENDER RCPT``: it
takes the message on stdin, then delivers it at once through a manualroute router to the lab's loopback
port, printing its SMTP conversation (``-v``: ``SMTP>>`` sent, ``SMTP|>``/``SMTP+>`` sent pipelined,
``SMTP<<`` read). Three facts shape how it is run:

- Debian's binary insists on its ``Debian-exim`` user, which only the package's postinst adds to
  /etc/passwd. nss_wrapper (libnss-wrapper, unpacked beside it) supplies that user, and the lab's host names
  for ``byname`` routing (so TLS certificates are verified against the real names), through LD_PRELOAD.
- Exim re-executes itself for delivery (``-Mc``) after dropping to that user; a set-uid binary started so
  ignores LD_PRELOAD, so the unpacked copy has its set-uid bit off, and the tests run as root (``-C`` is
  honoured for root; the spool belongs to the exim user).
- In the clear, with pipelining, Exim writes ``MAIL``, ``RCPT``, ``BDAT n LAST`` + the message and ``QUIT``
  in one go and then half-closes its side (shutdown(SHUT_WR), ``SMTP(shutdown)>>``). aiosmtpd cancels the
  session on that EOF (its ``eof_received``), so the lab once took the message in without answering it; it
  now reads on to the end of what was sent and answers it all (smtp/timers.py): the last test below.
  Inside TLS Exim does not half-close, and without pipelining the BDAT is answered before the QUIT is sent.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_kit import stored_messages

import real_clients
from mailflow_lab import Lab

EXIM_HOME = Path(os.environ.get("MAILFLOW_LAB_EXIM", "/opt/exim-client"))
EXIM = EXIM_HOME / "usr/sbin/exim4"
NSS_WRAPPER = next(iter(sorted(EXIM_HOME.glob("usr/lib/*/libnss_wrapper.so"))), None)
EXIM_UID = 64999  # Debian-exim, as nss_wrapper tells it: an otherwise unused uid
RUN_TIMEOUT_S = 60

MX = ("contoso-com.mail.protection.outlook.com", 25)
SUBMISSION = ("smtp.office365.com", 587)

pytestmark = [
    pytest.mark.skipif(
        not EXIM.is_file() or NSS_WRAPPER is None,
        reason=f"{real_clients.entries()['exim']['about']} is not in {EXIM_HOME} (or set "
        f"MAILFLOW_LAB_EXIM to its folder) {real_clients.REASON_TAIL}",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="Exim runs as root here (-C config, a spool owned by its exim user)"
    ),
]

CONFIG = """\
exim_path = {exim}
primary_hostname = {helo}
qualify_domain = contoso.com
spool_directory = {home}/spool
log_file_path = {home}/spool/%slog
log_selector = +all
keep_environment = LD_PRELOAD : LD_LIBRARY_PATH : NSS_WRAPPER_PASSWD : NSS_WRAPPER_GROUP : NSS_WRAPPER_HOSTS
host_lookup =
rfc1413_hosts =

begin routers
lab:
  driver = manualroute
  route_list = * {host} byname
  self = send
  transport = lab_smtp
  no_more

begin transports
lab_smtp:
  driver = smtp
  port = {port}
  allow_localhost
  helo_data = {helo}
  hosts_try_chunking = *
  tls_verify_certificates = {home}/ca.pem
{options}

begin authenticators
login:
  driver = plaintext
  public_name = LOGIN
  client_send = : scanner@contoso.com : Scan#2026

begin retry
* * F,1h,1h
"""


@dataclass
class EximRun:
    returncode: int
    transcript: str  # what -v printed: the SMTP conversation, exim's log lines
    mainlog: str

    def sent(self) -> list[str]:
        """Commands exim wrote, pipelined or not, in order (message bytes are not shown)."""
        return re.findall(r"^\s+SMTP[>|+]> (.*)$", self.transcript, re.M)

    def replies(self) -> list[str]:
        return re.findall(r"^\s+SMTP<< (.*)$", self.transcript, re.M)


@pytest.fixture
def exim_home() -> Iterator[Path]:
    # Not pytest's tmp_path: its folders are 0700, and exim's delivery runs as the exim user.
    home = Path(tempfile.mkdtemp(prefix="mailflow-exim-"))
    home.chmod(0o755)
    yield home
    subprocess.run(["rm", "-rf", str(home)], check=False)


def message(subject: str, sender: str, body: str) -> bytes:
    """A message as a program hands it to sendmail: LF line ends (exim sends CRLF)."""
    return (
        f"From: {sender}\nTo: alex@contoso.com\nSubject: {subject}\n"
        f"Date: Wed, 02 Dec 2026 09:00:00 +0000\nMessage-ID: <{subject}@exim.test>\n\n{body}"
    ).encode()


def run_exim(
    lab: Lab, home: Path, endpoint: tuple[str, int], options: str, sender: str, content: bytes
) -> EximRun:
    host, port = lab.endpoint(*endpoint)
    assert host == "127.0.0.1"
    nss = home / "nss"
    nss.mkdir()
    (nss / "passwd").write_text(
        f"root:x:0:0:root:/root:/bin/sh\nDebian-exim:x:{EXIM_UID}:{EXIM_UID}::/nonexistent:/bin/false\n"
    )
    (nss / "group").write_text(f"root:x:0:\nDebian-exim:x:{EXIM_UID}:\n")
    (nss / "hosts").write_text(f"127.0.0.1 {MX[0]}\n127.0.0.1 {SUBMISSION[0]}\n")
    ca = lab.ca.ca_pem
    (home / "ca.pem").write_bytes(ca if isinstance(ca, bytes) else str(ca).encode())
    spool = home / "spool"
    spool.mkdir()
    os.chown(spool, EXIM_UID, EXIM_UID)
    helo = "printer.contoso.local" if sender.startswith("printer@") else "scanner.contoso.local"
    config = home / "exim.conf"
    config.write_text(
        CONFIG.format(exim=EXIM, home=home, helo=helo, host=endpoint[0], port=port, options=options)
    )
    for path in (nss / "passwd", nss / "group", nss / "hosts", home / "ca.pem", config):
        path.chmod(0o644)
    multiarch = NSS_WRAPPER.parent.name  # type: ignore[union-attr]
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LD_PRELOAD": str(NSS_WRAPPER),
        # Libraries this machine lacked, unpacked beside exim by .ci/install-exim-client (if any).
        "LD_LIBRARY_PATH": f"{EXIM_HOME}/usr/lib/{multiarch}:{EXIM_HOME}/lib/{multiarch}",
        "NSS_WRAPPER_PASSWD": str(nss / "passwd"),
        "NSS_WRAPPER_GROUP": str(nss / "group"),
        "NSS_WRAPPER_HOSTS": str(nss / "hosts"),
    }
    command = [str(EXIM), "-C", str(config), "-odf", "-oi", "-v", "-f", sender, "alex@contoso.com"]
    done = subprocess.run(
        command,
        input=content,
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    lab.settle()
    mainlog = spool / "mainlog"
    return EximRun(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        mainlog.read_text("utf-8", "replace") if mainlog.exists() else "",
    )


def assert_sent_with_bdat(run: EximRun, content: bytes, accepted: str) -> None:
    """Exim wrote the message in BDAT chunks, never DATA, and the lab's 250 to LAST completed delivery."""
    sent = run.sent()
    size = len(content.replace(b"\n", b"\r\n"))  # what exim sends: exim's own Received header on top
    bdats = [c for c in sent if c.startswith("BDAT ")]
    # Exim 4.96 sends the header block as one chunk, then the body as the LAST one.
    assert bdats and re.fullmatch(r"BDAT \d+ LAST", bdats[-1]), run.transcript
    assert all(re.fullmatch(r"BDAT \d+", c) for c in bdats[:-1]), run.transcript
    assert sum(int(c.split()[1]) for c in bdats) > size, run.transcript
    for chunk in bdats[:-1]:
        assert f"250 2.0.0 {chunk.split()[1]} bytes received" in run.replies(), run.transcript
    assert "DATA" not in sent, run.transcript
    assert "will write message using CHUNKING" in run.transcript
    assert [r for r in run.replies() if r.startswith(accepted)], run.transcript
    # The delivery line: K = sent with CHUNKING, C= the lab's reply to the last chunk.
    [delivered] = [line for line in run.mainlog.splitlines() if " => alex@contoso.com " in line]
    assert " K " in delivered and f'C="{accepted}' in delivered, run.mainlog
    assert "Completed" in run.mainlog and run.returncode == 0, run.transcript


def assert_arrived_intact(lab: Lab, subject: str, content: bytes, folders: set[str]) -> None:
    # (A submitted message also has its copy in the sender's Sent Items.)
    [stored] = [m for m in stored_messages(lab) if m.subject == subject and m.mailbox == "alex@contoso.com"]
    assert stored.folder in folders
    # Headers the lab and exim add go on top: every byte the sender wrote follows, CRLF-terminated.
    assert stored.raw.endswith(content.replace(b"\n", b"\r\n")), stored.raw[-300:]
    assert re.search(rb"\r\nReceived: from root by \S+ with local \(Exim 4\.\d+\)", stored.raw)


# A body longer than one of the lab's chunk reads (64 KiB), with lines that DATA would have to dot-stuff.
BODY = "".join(f".line {n:05d} of a scanned page, dot first\n" for n in range(2000)) + ".\n..\nend\n"


def test_exim_mx_direct_send_starttls_pipelined_bdat(lab: Lab, exim_home: Path) -> None:
    """Exim's transport as it comes: STARTTLS (verified), pipelined MAIL/RCPT/BDAT LAST/QUIT."""
    content = message("exim-mx-tls", "printer@contoso.com", BODY)
    run = run_exim(lab, exim_home, MX, "  tls_verify_hosts = *", "printer@contoso.com", content)
    assert_sent_with_bdat(run, content, "250 2.6.0 <exim-mx-tls@exim.test> ")
    assert run.sent()[:3] == ["EHLO printer.contoso.local", "STARTTLS", "EHLO printer.contoso.local"]
    assert re.search(r"^\s+SMTP\|> MAIL FROM:<printer@contoso.com> SIZE=\d+$", run.transcript, re.M)
    assert re.search(r"^\s+SMTP\|> RCPT TO:<alex@contoso.com>$", run.transcript, re.M)  # pipelined
    assert "CV=yes" in run.mainlog and f'DN="CN={MX[0]}"' in run.mainlog  # the lab's certificate, verified
    assert run.replies()[-1].startswith("221 2.0.0 ")
    # Direct send from the office address, which SPF does not list: Junk Email (Inbox is fine too).
    assert_arrived_intact(lab, "exim-mx-tls", content, {"Junk Email", "Inbox"})


def test_exim_mx_direct_send_in_the_clear_without_pipelining(lab: Lab, exim_home: Path) -> None:
    content = message("exim-mx-plain", "printer@contoso.com", BODY)
    options = "  hosts_avoid_tls = *\n  hosts_avoid_pipelining = *"
    run = run_exim(lab, exim_home, MX, options, "printer@contoso.com", content)
    assert_sent_with_bdat(run, content, "250 2.6.0 <exim-mx-plain@exim.test> ")
    assert "STARTTLS" not in run.sent()
    assert_arrived_intact(lab, "exim-mx-plain", content, {"Junk Email", "Inbox"})


def test_exim_smtp_auth_submission_starttls_auth_login_bdat(lab: Lab, exim_home: Path) -> None:
    content = message("exim-submission", "scanner@contoso.com", BODY)
    options = "  hosts_require_tls = *\n  hosts_require_auth = *\n  tls_verify_hosts = *"
    run = run_exim(lab, exim_home, SUBMISSION, options, "scanner@contoso.com", content)
    assert_sent_with_bdat(run, content, "250 2.0.0 OK <exim-submission@exim.test> ")
    assert "AUTH LOGIN" in run.sent() and "235 2.7.0 Authentication successful" in run.replies()
    assert " A=login " in run.mainlog and "CV=yes" in run.mainlog
    assert_arrived_intact(lab, "exim-submission", content, {"Inbox"})


def test_exim_mx_in_the_clear_pipelined_then_half_closed(lab: Lab, exim_home: Path) -> None:
    content = message("exim-mx-halfclose", "printer@contoso.com", "hello\n")
    run = run_exim(lab, exim_home, MX, "  hosts_avoid_tls = *", "printer@contoso.com", content)
    assert "SMTP(shutdown)>>" in run.transcript  # exim's half-close after the pipelined QUIT
    assert_sent_with_bdat(run, content, "250 2.6.0 <exim-mx-halfclose@exim.test> ")
    assert re.search(r"^\s*SMTP<< 221 ", run.transcript, re.MULTILINE), run.transcript  # QUIT answered too
    assert len([m for m in stored_messages(lab) if b"exim-mx-halfclose" in m.raw]) == 1
