"""MailDev, the Node mail catcher, as a benchmark peer: its own process on loopback, web UI off.

MailDev 2.2.0 (``npm`` ``maildev``, installed into .ci/node by ``make clients``) offers plain SMTP with
PIPELINING, 8BITMIME and SMTPUTF8 and never STARTTLS (its smtp-server options hard-code hideSTARTTLS).
With ``--incoming-user`` and ``--incoming-secure`` it takes AUTH LOGIN over TLS from the first byte
(implicit TLS, as on port 465). So two processes stand beside the lab's two endpoints:

- ``mx``: plain, no AUTH: the very dialogue of direct send (EHLO, MAIL, RCPT, DATA, QUIT);
- ``submission``: implicit TLS with the lab's own submission certificate (the same EC P-256 leaf), then
  EHLO and AUTH LOGIN: the lab's dialogue less the STARTTLS command and the second EHLO.

MailDev writes each message to a .eml file (not synced) and parses it into memory; it never fsyncs.
Its 2.2.0 ``listen`` callback reads an undefined global ``host`` and throws once listening; the launcher
defines that global first (nothing else is changed), and ends the process after ``lifetime_s``.
smtp-server (under MailDev) waits 100 ms before its banner, by design, to catch clients that talk
before it: one sequential client gets at most ten sessions a second from it, on any machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from .clients import client_tls_context
from .processes import ROOT, free_port
from .servers import rss_kb

MAILDEV_BIN = ROOT / ".ci" / "node" / "node_modules" / "maildev" / "bin" / "maildev"
MAILDEV_PACKAGE = ROOT / ".ci" / "node" / "node_modules" / "maildev" / "package.json"
USER, PASSWORD = "scanner@contoso.com", "Scan#2026"  # what the submission dialogue sends

_LAUNCHER = (
    "globalThis.host = '127.0.0.1';"  # maildev 2.2.0 lib/mailserver.js reads `host` in its listen callback
    "setTimeout(() => process.exit(3), Number(process.env.MAILDEV_BENCH_LIFETIME_MS)).unref();"
    "process.argv.splice(1, 0, 'maildev');"
    "require(process.argv.pop());"
)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (and its finished children: none here), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _split_pem(pem: bytes, directory: Path) -> tuple[Path, Path]:
    """The lab's cached leaf PEM (key then certificate) as two files, as MailDev's options want."""
    blocks = [
        (m.group(1), m.group(0))
        for m in re.finditer(rb"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----\n?", pem, re.S)
    ]
    key = b"".join(block for kind, block in blocks if b"PRIVATE KEY" in kind)
    cert = b"".join(block for kind, block in blocks if kind == b"CERTIFICATE")
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(key)
    key_path.chmod(0o600)
    cert_path.write_bytes(cert)
    return cert_path, key_path


def _probe(port: int, tls: bool) -> None:
    """Read the banner and say QUIT, over TLS for the implicit-TLS one: MailDev 2.2.0 throws (and exits)
    on a socket closed before its TLS handshake, or on any session error but a reset read."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
        sock = client_tls_context().wrap_socket(raw) if tls else raw
        banner = sock.recv(512)
        if not banner.startswith(b"220"):
            raise ConnectionError(f"unexpected banner {banner!r}")
        sock.sendall(b"QUIT\r\n")
        sock.recv(512)


class MailDev:
    """Two MailDev processes on 127.0.0.1 (``mx`` plain, ``submission`` implicit TLS + AUTH), web off."""

    def __init__(self, lifetime_s: float = 900.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailflow-bench-maildev-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.endpoints: dict[str, tuple[str, int]] = {}
        try:
            from mailflow_lab.lab.tlsmaterial import LabCA
            from mailflow_lab.world.hosts import SUBMISSION_HOSTS

            pem = LabCA.load_or_create().server_certificate_path(list(SUBMISSION_HOSTS)).read_bytes()
            cert, key = _split_pem(pem, self.root)
            tls = ["--incoming-user", USER, "--incoming-pass", PASSWORD, "--incoming-secure"]
            tls += ["--incoming-cert", str(cert), "--incoming-key", str(key)]
            for name, extra in (("mx", []), ("submission", tls)):
                self._start(name, extra, lifetime_s)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, extra: list[str], lifetime_s: float) -> None:
        port = free_port()
        folder = self.root / name
        command = ["node", "-e", _LAUNCHER, "--", "--smtp", str(port), "--ip", "127.0.0.1"]
        command += ["--disable-web", "--silent", "--mail-directory", str(folder), *extra, str(MAILDEV_BIN)]
        env = {**os.environ, "MAILDEV_BENCH_LIFETIME_MS": str(int(lifetime_s * 1000))}
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.processes[name] = process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                _probe(port, tls=bool(extra))
                break
            except OSError:
                if process.poll() is not None:
                    err = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"maildev {name} exited: {err[-800:]!r}") from None
                time.sleep(0.05)
        else:
            raise RuntimeError(f"maildev {name} did not listen within 20 s")
        self.endpoints[name] = ("127.0.0.1", port)

    @staticmethod
    def available() -> bool:
        return MAILDEV_BIN.exists() and shutil.which("node") is not None

    @staticmethod
    def version() -> str:
        try:
            return str(json.loads(MAILDEV_PACKAGE.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            return ""

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes.values())

    def exits(self) -> dict[str, str]:
        """The processes that ended early: their exit code and the end of what they wrote to stderr."""
        out = {}
        for name, process in self.processes.items():
            if process.poll() is not None:
                err = process.stderr.read() if process.stderr else b""
                out[name] = f"exit {process.returncode}: {err.decode(errors='replace').strip()[-300:]}"
        return out

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def cpu_s(self, name: str) -> float:
        return cpu_seconds(self.pid(name))

    def rss_kb(self, name: str) -> int:
        return rss_kb(self.pid(name))

    def stored(self, name: str) -> int:
        """Messages MailDev wrote (one .eml each)."""
        folder = self.root / name
        return sum(1 for p in folder.iterdir() if p.suffix == ".eml") if folder.exists() else 0

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> MailDev:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
