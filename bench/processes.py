"""The server processes a benchmark runs: bench.servers (lab, bare, durable) and Postfix's smtp-sink."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SMTP_SINK = "/usr/sbin/smtp-sink"


class ServerProcess:
    """``python -m bench.servers KIND`` in its own process, so the client never shares its interpreter."""

    def __init__(
        self,
        kind: str,
        lifetime_s: float = 900.0,
        per_address: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        command = [sys.executable, "-m", "bench.servers", kind, "--lifetime", str(lifetime_s)]
        if per_address is not None:
            command += ["--per-address", str(per_address)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, **env} if env else None,
        )
        hello = self._read()
        self.pid: int = hello["pid"]
        self.endpoints: dict[str, tuple[str, int]] = {k: (h, p) for k, (h, p) in hello["endpoints"].items()}

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench server {self.kind!r} exited (code {self.process.poll()})")
        return dict(json.loads(line))

    def command(self, text: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._read()

    def advance(self) -> None:
        """Move the lab clock one minute (bare servers answer too, so both sides pay the round trip)."""
        self.command("advance 1")

    def status(self) -> dict[str, Any]:
        return self.command("status")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit")
                self.process.wait(timeout=20)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Postfix's smtp-sink on 127.0.0.1, killed by ``timeout`` after ``lifetime_s`` whatever happens."""

    def __init__(self, lifetime_s: float = 300.0, backlog: int = 1024, max_sessions: int = 1000) -> None:
        self.port = free_port()
        command = ["timeout", str(int(lifetime_s)), SMTP_SINK]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # smtp-sink refuses to run as root without it
        # -m: sessions served at once (default 256; the others wait in the queue).
        command += ["-m", str(max_sessions), f"127.0.0.1:{self.port}", str(backlog)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.recv(512)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"smtp-sink exited: {self.process.stderr.read()!r}") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("smtp-sink did not answer within 10 s")

    @staticmethod
    def available() -> bool:
        return Path(SMTP_SINK).exists() and shutil.which("timeout") is not None

    def version(self) -> str:
        try:
            out = subprocess.run(
                ["postconf", "-h", "mail_version"], capture_output=True, text=True, timeout=10, check=False
            )
            return out.stdout.strip()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
