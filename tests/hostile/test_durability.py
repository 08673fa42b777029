"""A message acknowledged with 250 is on disk: `mailflow-lab serve` is killed (SIGKILL) mid-burst.

Afterwards every acknowledged message is found whole in its Maildir, and no file in any new/ or cur/ is
half written (a tmp/ leftover is fine: that is what Maildir's tmp/ is for). The state folder then opens
again, its trace reads, and a fresh lab on it serves.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hostile_kit import MX, SCANNER

from mailflow_lab import Device, Lab
from mailflow_lab.store.trace import MessageTrace

BURST_S = 1.5  # the kill comes this long after the first acknowledgement
MAX_PER_THREAD = 400
BODY_LINES = 120  # about 9 kB a message: big enough to be caught half written


def body(marker: str) -> str:
    lines = [f"{marker} line {n:04d} " + "x" * 60 for n in range(BODY_LINES)]
    return "\r\n".join(lines) + f"\r\nEND-OF-{marker}\r\n"


def raw_message(marker: str, sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: alex@contoso.com\r\nSubject: {marker}\r\n"
        f"Message-ID: <{marker}@burst.test>\r\n\r\n{body(marker)}"
    ).encode()


def start_serve(state: Path) -> tuple[subprocess.Popen[str], dict[str, tuple[str, int]], Path]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mailflow_lab", "serve", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    endpoints: dict[str, tuple[str, int]] = {}
    ca_path = None
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.match(r"(\S+) -> (\S+):(\d+)$", line.strip())
        if found:
            endpoints[found[1]] = (found[2], int(found[3]))
        if line.startswith("lab CA certificate: "):
            ca_path = Path(line.split(": ", 1)[1].strip())
        if line.startswith("ready"):
            break
    else:
        process.kill()
        raise AssertionError("mailflow-lab serve did not get ready in 30 s")
    assert ca_path is not None, endpoints
    return process, endpoints, ca_path


def mx_sender(address: tuple[str, int], prefix: str, acked: list[str], stop: threading.Event) -> None:
    """Direct send, message after message, until the server dies (or the bounds are reached)."""
    try:
        with smtplib.SMTP(*address, local_hostname="burst.test", timeout=10) as smtp:
            for n in range(MAX_PER_THREAD):
                if stop.is_set():
                    return
                marker = f"{prefix}-{n:04d}"
                smtp.sendmail(
                    "printer@contoso.com", ["alex@contoso.com"], raw_message(marker, "printer@contoso.com")
                )
                acked.append(marker)  # sendmail returned: the server said 250
    except (smtplib.SMTPException, OSError):
        return


def submission_sender(address: tuple[str, int], ca: Path, acked: list[str], stop: threading.Event) -> None:
    """SMTP AUTH submission: its Sent Items copy is written before the 250."""
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with smtplib.SMTP(*address, local_hostname="burst.test", timeout=10) as smtp:
            smtp._host = "smtp.office365.com"  # the name the lab certificate carries
            smtp.starttls(context=context)
            smtp.ehlo()  # EHLO again after STARTTLS (RFC 3207 §4.2): AUTH before it is "Send hello first"
            code, _ = smtp.docmd("AUTH", "LOGIN " + base64.b64encode(SCANNER[0].encode()).decode())
            code, _ = smtp.docmd(base64.b64encode(SCANNER[1].encode()).decode())
            assert code == 235
            for n in range(MAX_PER_THREAD):
                if stop.is_set():
                    return
                marker = f"sub-{n:04d}"
                smtp.sendmail(SCANNER[0], ["alex@contoso.com"], raw_message(marker, SCANNER[0]))
                acked.append(marker)
    except (smtplib.SMTPException, OSError):
        return


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_a_burst_loses_no_acknowledged_message(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process, endpoints, ca = start_serve(state)
    try:
        # Loopback only, by default (the README's promise), whatever the endpoint.
        assert {host for host, _ in endpoints.values()} == {"127.0.0.1"}, endpoints
        acked: list[list[str]] = [[] for _ in range(4)]
        stop = threading.Event()
        threads = [
            threading.Thread(target=mx_sender, args=(endpoints[f"{MX}:25"], f"mx{i}", acked[i], stop))
            for i in range(3)
        ]
        threads.append(
            threading.Thread(
                target=submission_sender, args=(endpoints["smtp.office365.com:587"], ca, acked[3], stop)
            )
        )
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while not any(acked) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(BURST_S)
        os.kill(process.pid, signal.SIGKILL)  # mid-burst: senders are in the middle of messages
        process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    mx_acked = [m for group in acked[:3] for m in group]
    sub_acked = acked[3]
    assert len(mx_acked) > 10 and sub_acked, (len(mx_acked), len(sub_acked))
    print(f"acknowledged before the kill: {len(mx_acked)} at the MX, {len(sub_acked)} submitted")

    found: dict[str, list[Path]] = {}
    for path in state.glob("**/*"):
        if not path.is_file() or path.parent.name not in ("new", "cur"):
            continue
        raw = path.read_bytes()
        subject = re.search(rb"^Subject: (\S+)\r?$", raw, re.MULTILINE)
        assert subject is not None, f"a message file without its headers: {path}"
        marker = subject[1].decode()
        # Whole: every line of the body, and its last line, are there.
        assert raw.endswith(f"END-OF-{marker}\r\n".encode()), f"half-written message {path}"
        assert body(marker).encode() in raw, f"damaged message {path}"
        found.setdefault(marker, []).append(path)

    in_alex = {m for m, paths in found.items() if any("alex@contoso.com" in str(p) for p in paths)}
    in_quarantine = {m for m, paths in found.items() if any("quarantine" in p.parts for p in paths)}
    in_sent_items = {m for m, paths in found.items() if any("Sent Items" in p.parts for p in paths)}
    missing = [m for m in mx_acked if m not in in_alex | in_quarantine]
    assert not missing, f"{len(missing)} acknowledged messages are not on disk: {missing[:5]}"
    missing = [m for m in sub_acked if m not in in_sent_items]
    assert not missing, f"{len(missing)} acknowledged submissions have no Sent Items copy: {missing[:5]}"

    # The state folder is usable again: its trace reads (a line cut by the kill is skipped) and a lab
    # started on it serves.
    records = MessageTrace.load(state / "trace.jsonl").records()
    assert {r.subject for r in records} >= set(mx_acked)
    with Lab.start(state_dir=state) as lab:
        printer = Device("Printer", server=MX, port=25, tls="none", sender="printer@contoso.com")
        assert printer.send(lab, to=["alex@contoso.com"], subject="after the crash").accepted
        assert lab.runtime.errors == []
