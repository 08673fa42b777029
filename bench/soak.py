"""`make soak`: mixed hostile and normal traffic against `mailflow-lab serve`, bounded in time (issue 18).

    python -m bench.soak [--seconds 600] [--out bench/soak.json]

Normal senders (SMTP AUTH submission with STARTTLS, direct send to the MX) run beside hostile ones:
garbage lines, BDAT chunks holding a forged transaction, headers over 256 KB, dripping uploads, clients
that half-close mid-message, wrong passwords, duplicate recipients. Everything is on 127.0.0.1. At the end
the server is stopped and its state folder read: every message the lab acknowledged with 250 must be on
disk, no forged message may exist, and the server must report no internal error. The server's RSS is
sampled every two seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from .servers import rss_kb

ROOT = Path(__file__).resolve().parent.parent
SCANNER = ("scanner@contoso.com", "Scan#2026")
SUBMISSION = "smtp.office365.com"
MX = "contoso-com.mail.protection.outlook.com"
FORGED = (
    b"RSET\r\nMAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<helpdesk@contoso.com>\r\nDATA\r\nSubject: forged\r\n"
)


class Soak:
    """One run: the server process, its endpoints, and what the clients saw."""

    def __init__(self, seconds: float, state: Path, mix: str = "both") -> None:
        self.mix = mix
        self.deadline = time.monotonic() + seconds
        self.state = state
        command = [sys.executable, "-m", "mailflow_lab", "serve", "--state", str(state)]
        self.server = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.ports: dict[str, int] = {}
        assert self.server.stdout is not None
        for line in self.server.stdout:
            found = re.match(r"(\S+):(\d+) -> 127\.0\.0\.1:(\d+)", line)
            if found:
                self.ports[f"{found[1]}:{found[2]}"] = int(found[3])
            if line.startswith("ready"):
                break
        self.context = ssl.create_default_context(cafile=str(state / "lab-ca.pem"))
        self.acknowledged: list[str] = []  # Message-IDs the lab took with 250 for alex@contoso.com
        self.outcomes: Counter[str] = Counter()
        self.internal_errors: list[str] = []
        self.rss_kb: list[int] = []
        self._lock = threading.Lock()
        self._serial = 0

    def alive(self) -> bool:
        return time.monotonic() < self.deadline

    def note(self, kind: str, reply: str) -> None:
        with self._lock:
            self.outcomes[f"{kind}: {reply[:3]}"] += 1
            if "4.7.0 Temporary server error" in reply:
                self.internal_errors.append(f"{kind}: {reply}")

    def message_id(self, kind: str) -> str:
        with self._lock:
            self._serial += 1
            return f"<{kind}-{self._serial}@soak.test>"

    def connect(self, endpoint: str, timeout: float = 15.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.ports[endpoint]), timeout=timeout)

    # -- normal traffic ------------------------------------------------------------------------------
    def submit(self) -> None:
        mid = self.message_id("submission")
        head = f"From: {SCANNER[0]}\r\nTo: alex@contoso.com\r\nSubject: soak\r\nMessage-ID: {mid}\r\n"
        body = head + "\r\nscan\r\n"
        with smtplib.SMTP("127.0.0.1", self.ports[f"{SUBMISSION}:587"], "soak.contoso.local", 15) as smtp:
            smtp._host = SUBMISSION  # type: ignore[attr-defined]  # the name the certificate is checked for
            smtp.starttls(context=self.context)
            smtp.login(*SCANNER)
            try:
                smtp.sendmail(SCANNER[0], ["alex@contoso.com", "pat@fabrikam.com"], body.encode())
            except smtplib.SMTPResponseException as error:
                self.note("submission", f"{error.smtp_code} {error.smtp_error.decode()}")
                return
        with self._lock:
            self.acknowledged.append(mid)
        self.note("submission", "250")

    def direct_send(self) -> None:
        mid = self.message_id("direct")
        body = f"From: printer@contoso.com\r\nSubject: soak\r\nMessage-ID: {mid}\r\n\r\nscan\r\n"
        with smtplib.SMTP("127.0.0.1", self.ports[f"{MX}:25"], "printer.contoso.local", 15) as smtp:
            try:
                smtp.sendmail("printer@contoso.com", ["alex@contoso.com", "ALEX@contoso.com"], body.encode())
            except smtplib.SMTPResponseException as error:
                self.note("direct send", f"{error.smtp_code} {error.smtp_error.decode()}")
                return
        with self._lock:
            self.acknowledged.append(mid)
        self.note("direct send", "250")

    # -- hostile traffic -----------------------------------------------------------------------------
    def _dialogue(self, sock: socket.socket, lines: list[bytes]) -> bytes:
        if lines:
            sock.sendall(b"".join(lines))
        sock.settimeout(5)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if received.endswith(b"\r\n") and b"221 " in received:
                    break
        except (TimeoutError, OSError):
            pass
        return received

    def _opening(self) -> list[bytes]:
        return [
            b"EHLO hostile.test\r\n",
            b"MAIL FROM:<printer@contoso.com>\r\n",
            b"RCPT TO:<alex@contoso.com>\r\n",
        ]

    def garbage(self) -> None:
        lines = [
            bytes(random.randrange(1, 256) for _ in range(random.randrange(1, 80))) + b"\r\n"
            for _ in range(8)
        ]
        with self.connect(f"{MX}:25") as sock:
            self.note("garbage", last_code(self._dialogue(sock, [b"EHLO hostile.test\r\n", *lines])))

    def forged_bdat(self) -> None:
        chunk = b"Subject: chunk\r\n\r\n" + FORGED * 3
        with self.connect(f"{MX}:25") as sock:
            batch = [*self._opening(), f"BDAT {len(chunk) + 200}\r\n".encode(), chunk]
            self._dialogue(sock, batch)  # 200 bytes short: the chunk never ends, then the client leaves
        self.note("forged bdat", "cut")

    def big_header(self) -> None:
        header = b"Subject: big\r\n" + (b"X-Pad: " + b"p" * 990 + b"\r\n") * 300 + b"\r\nbody\r\n.\r\n"
        with self.connect(f"{MX}:25") as sock:
            got = self._dialogue(sock, [*self._opening(), b"DATA\r\n", header, b"QUIT\r\n"])
        self.note("big header", "552" if b"552 5.3.4 Header size" in got else last_code(got))

    def drip(self) -> None:
        with self.connect(f"{MX}:25", timeout=5) as sock:
            sock.sendall(b"".join(self._opening()) + b"DATA\r\nSubject: drip\r\n\r\n")
            for _ in range(20):
                if not self.alive():
                    break
                try:
                    sock.sendall(b"x")
                except OSError:
                    break
                time.sleep(1)
        self.note("drip", "end")

    def half_close(self) -> None:
        with self.connect(f"{MX}:25") as sock:
            sock.sendall(b"".join(self._opening()) + b"DATA\r\nSubject: half\r\n\r\nhalf a mess")
            sock.shutdown(socket.SHUT_WR)
            self._dialogue(sock, [])
        self.note("half close", "end")

    def wrong_password(self) -> None:
        with smtplib.SMTP("127.0.0.1", self.ports[f"{SUBMISSION}:587"], "soak.contoso.local", 15) as smtp:
            smtp._host = SUBMISSION  # type: ignore[attr-defined]
            smtp.starttls(context=self.context)
            try:
                smtp.login("nobody@contoso.com", "wrong")
            except smtplib.SMTPAuthenticationError as error:
                self.note("wrong password", f"{error.smtp_code}")

    # -- the run -------------------------------------------------------------------------------------
    def worker(self, actions: list[Any]) -> None:
        while self.alive():
            action = random.choice(actions)
            try:
                action()
            except (OSError, smtplib.SMTPException) as error:
                with self._lock:
                    self.outcomes[f"{action.__name__}: {type(error).__name__}"] += 1

    def sample_rss(self) -> None:
        while self.alive():
            self.rss_kb.append(rss_kb(self.server.pid))
            time.sleep(2)

    def run(self) -> dict[str, Any]:
        normal = [self.submit, self.direct_send]
        hostile = [self.garbage, self.forged_bdat, self.big_header, self.half_close, self.wrong_password]
        threads = []
        if self.mix in ("both", "normal"):
            threads += [threading.Thread(target=self.worker, args=(normal,)) for _ in range(3)]
        if self.mix in ("both", "hostile"):
            threads += [threading.Thread(target=self.worker, args=(hostile,)) for _ in range(3)]
            threads += [threading.Thread(target=self.worker, args=([self.drip],)) for _ in range(2)]
        threads.append(threading.Thread(target=self.sample_rss))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        self.server.send_signal(signal.SIGTERM)
        _, stderr = self.server.communicate(timeout=60)
        self.internal_errors += [line for line in stderr.splitlines() if line.startswith("internal error")]
        stored = stored_message_ids(self.state)
        lost = [mid for mid in self.acknowledged if mid not in stored]
        half = len(self.rss_kb) // 2
        return {
            "mix": self.mix,
            "seconds": round(elapsed, 1),
            "acknowledged": len(self.acknowledged),
            "lost": lost,
            "forged": sum(1 for mid in stored if "forged" in mid),
            "internal_errors": self.internal_errors,
            "rss_mb": {
                "first_sample": round(self.rss_kb[0] / 1024, 1) if self.rss_kb else None,
                "max_first_half": round(max(self.rss_kb[:half] or [0]) / 1024, 1),
                "max_second_half": round(max(self.rss_kb[half:] or [0]) / 1024, 1),
                "last": round(self.rss_kb[-1] / 1024, 1) if self.rss_kb else None,
            },
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def last_code(received: bytes) -> str:
    """The code of the last complete reply line, or "closed" when there is none."""
    codes = re.findall(rb"^(\d{3}) ", received, re.MULTILINE)
    return codes[-1].decode() if codes else "closed"


def stored_message_ids(state: Path) -> set[str]:
    """The Message-IDs of every message in alex@contoso.com's mailbox and the scanner's (a submission over
    the per-minute limit waits for the lab clock: its Sent Items copy is what the 250 made durable), and
    a mark for any addressed to the help desk."""
    found: set[str] = set()
    parser = BytesParser()
    for path in (state / "mailboxes").glob("*/*/*/*"):
        if path.parent.name not in ("new", "cur"):
            continue
        owner = path.parts[-4]
        headers = parser.parsebytes(path.read_bytes(), headersonly=True)
        if owner == "helpdesk@contoso.com":
            found.add(f"forged:{headers.get('Message-ID', path.name)}")
        elif owner in ("alex@contoso.com", SCANNER[0]):
            found.add(str(headers.get("Message-ID", "")))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--mix", choices=("both", "hostile", "normal"), default="both", help="which traffic (default: both)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mailflow-soak-") as tmp:
        result = Soak(args.seconds, Path(tmp) / "state", args.mix).run()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    ok = not result["lost"] and not result["forged"] and not result["internal_errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
