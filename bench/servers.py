"""A benchmark server process: the lab, or bare aiosmtpd servers, on loopback, driven by lines on stdin.

    python -m bench.servers lab|bare|durable [--lifetime SECONDS] [--per-address N]

Prints one JSON line (its pid and endpoints), then answers each command with one JSON line:
``advance MINUTES`` moves the lab clock (a no-op for bare servers, so both sides pay the same),
``where`` names the mailflow_lab package folder in use, ``status`` reports the process's RSS from
/proc/self/status, its CPU time, fsync and fdatasync calls (counted by wrapping ``os.fsync`` and
``os.fdatasync`` in this process), delivered messages and lab errors, ``quit`` (or the end of input)
stops the servers. A watchdog ends the process after --lifetime.

Each kind serves two endpoints, ``submission`` and ``mx``:

- ``lab``: ``Lab.start()``, the default world; smtp.office365.com:587 and the tenant MX on port 25.
- ``bare``: two aiosmtpd Controllers holding the same dialogues with a handler that does nothing:
  STARTTLS (required, the lab's own submission TLS context) and AUTH LOGIN with an authenticator
  that accepts; and plain SMTP.
Bare servers take messages up to the lab's advertised SIZE (150 MB), so a large upload costs both alike.

- ``durable``: as ``bare``, but the handler writes each message to a Maildir and syncs it (the file,
  then ``new/``) before 250, off the event loop: the least a server must do to keep the lab's promise
  that 250 means "on disk".
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import mailbox
import os
import resource
import shutil
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

FSYNCS = [0]  # fsync and fdatasync calls made in this process, from any thread
_FSYNCS_LOCK = threading.Lock()
_real_fsync = os.fsync
_real_fdatasync = os.fdatasync
MAX_MESSAGE_SIZE = 157286400  # the lab's advertised SIZE (150 MB), given to the bare servers too


def _counting_fsync(fd: int) -> None:
    with _FSYNCS_LOCK:
        FSYNCS[0] += 1
    _real_fsync(fd)


def _counting_fdatasync(fd: int) -> None:
    with _FSYNCS_LOCK:
        FSYNCS[0] += 1
    _real_fdatasync(fd)


def raise_open_files() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (500 sessions need 500+ descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
        return hard
    return soft


def rss_kb(pid: int | str = "self") -> int:
    """A process's resident set size in kB (this one's by default), from /proc/<pid>/status (Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on loopback now (aiosmtpd's Controller needs one up front: it connects to itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


SEND_AS_GRANT = (
    "Add-RecipientPermission -Identity helpdesk@contoso.com -Trustee scanner@contoso.com "
    "-AccessRights SendAs -Confirm:$false"
)


class NullHandler:
    """Accepts every message and does nothing with it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 OK"


class DurableHandler:
    """Writes every message to one Maildir and syncs it before 250, as the lab's store promises."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.maildir = mailbox.Maildir(root, factory=None, create=True)
        self._lock = threading.Lock()

    def _write(self, content: bytes) -> None:
        with self._lock:
            self.maildir.add(content)  # the standard library syncs the file before linking it into new/
        fd = os.open(self.root / "new", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.to_thread(self._write, envelope.original_content or b"")
        return "250 2.0.0 OK"

    def count(self) -> int:
        return len(os.listdir(self.root / "new"))


def accept_any(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


class Served:
    """What one server process runs: endpoints, a clock to advance, a status, a way to stop."""

    def __init__(self) -> None:
        self.endpoints: dict[str, tuple[str, int]] = {}
        self.advance: Callable[[float], None] = lambda minutes: None
        self.extra_status: Callable[[], dict[str, Any]] = dict
        self.stop: Callable[[], None] = lambda: None


def lab_limits(per_address: int | None) -> dict[str, Any]:
    """``Lab.start`` keyword arguments raising the sessions allowed per client address, where the lab has
    that limit (Exchange's MaxInboundConnectionPerSource, 20): every benchmark client comes from one
    loopback address. Empty when not asked for, or when this lab has no such setting."""
    if per_address is None:
        return {}
    from mailflow_lab import Lab

    parameters = inspect.signature(Lab.start).parameters
    options: dict[str, Any] = {}
    if "limits" in parameters:
        from mailflow_lab.policy.session import SessionLimits

        options["limits"] = SessionLimits(max_connections_per_address=per_address)
    if "submission_limits" in parameters:
        # One benchmark mailbox sends everything: its 3 sessions at once, 30 messages a minute and 10,000
        # recipients a day (Exchange's) would refuse or defer the concurrent rows. The checks still run.
        from mailflow_lab.policy.submission import SubmissionLimits

        options["submission_limits"] = SubmissionLimits(
            messages_per_minute=10**9,
            recipients_per_day=10**9,
            concurrent_connections_per_mailbox=per_address,
        )
    return options


def serve_lab(per_address: int | None) -> Served:
    from mailflow_lab import Lab

    options = lab_limits(per_address)
    lab = Lab.start(**options)
    # The submission benchmark sends as the shared mailbox: the SendAs check looks up the grant.
    granted = lab.powershell(SEND_AS_GRANT)
    if not lab.world.tenant.find_mailbox("helpdesk@contoso.com").send_as_trustees:
        lab.stop()
        raise RuntimeError(f"could not grant SendAs: {granted}")
    served = Served()
    served.endpoints = {
        "submission": lab.endpoint("smtp.office365.com", 587),
        "mx": lab.endpoint(lab.mx_host, 25),
    }

    def advance(minutes: float) -> None:
        lab.clock.advance(minutes=minutes)

    def status() -> dict[str, Any]:
        store = lab.runtime.store
        delivered = {
            f"{address} {folder}": store.count(address, folder)
            for address in ("alex@contoso.com", "scanner@contoso.com")
            for folder in ("Inbox", "Junk Email", "Sent Items")
        }
        return {
            "delivered": {k: v for k, v in delivered.items() if v},
            "trace_records": len(lab.runtime.trace),
            "deferred": len(lab.runtime.deferred),
            "lab_errors": list(lab.runtime.errors),
            "limits": repr(options.get("limits", "default")),
            "submission_limits": repr(options.get("submission_limits", "default")),
        }

    served.advance, served.extra_status, served.stop = advance, status, lab.stop
    return served


def submission_tls_context() -> ssl.SSLContext:
    """The very context the lab's submission endpoint uses (cached lab CA, EC P-256 leaf)."""
    from mailflow_lab.lab.tlsmaterial import LabCA
    from mailflow_lab.world.hosts import SUBMISSION_HOSTS

    return LabCA.load_or_create().server_context(list(SUBMISSION_HOSTS), min_version=ssl.TLSVersion.TLSv1)


def serve_bare(durable: bool) -> Served:
    from aiosmtpd.controller import Controller

    root = Path(tempfile.mkdtemp(prefix="mailflow-bench-"))
    handlers = [DurableHandler(root / "submission"), DurableHandler(root / "mx")] if durable else []
    submission_handler: Any = handlers[0] if durable else NullHandler()
    mx_handler: Any = handlers[1] if durable else NullHandler()
    submission = Controller(
        submission_handler,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="bench-submission.invalid",
        tls_context=submission_tls_context(),
        require_starttls=True,
        auth_require_tls=True,
        authenticator=accept_any,
        auth_exclude_mechanism=["PLAIN"],
        data_size_limit=MAX_MESSAGE_SIZE,
    )
    mx = Controller(
        mx_handler,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="bench-mx.invalid",
        data_size_limit=MAX_MESSAGE_SIZE,
    )
    submission.start()
    mx.start()
    served = Served()
    served.endpoints = {"submission": ("127.0.0.1", submission.port), "mx": ("127.0.0.1", mx.port)}

    def stop() -> None:
        submission.stop()
        mx.stop()
        shutil.rmtree(root, ignore_errors=True)

    def status() -> dict[str, Any]:
        return {"delivered": {h.root.name: h.count() for h in handlers}}

    served.extra_status, served.stop = status, stop
    return served


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("lab", "bare", "durable"))
    parser.add_argument("--lifetime", type=float, default=900.0, help="exit after this many seconds")
    parser.add_argument("--per-address", type=int, help="lab only: sessions allowed per client address")
    args = parser.parse_args(argv)
    watchdog = threading.Timer(args.lifetime, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    # aiosmtpd logs a warning on every AUTH that its own Session.login_data is deprecated: quiet for all.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    raise_open_files()
    os.fsync = _counting_fsync  # counts the lab's and the standard library's syncs alike
    os.fdatasync = _counting_fdatasync
    served = serve_lab(args.per_address) if args.kind == "lab" else serve_bare(durable=args.kind == "durable")

    def say(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    say({"pid": os.getpid(), "kind": args.kind, "endpoints": served.endpoints})
    try:
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "advance":
                served.advance(float(arg or 1))
                say({"ok": True})
            elif command == "status":
                cpu = os.times()
                say(
                    {
                        "rss_kb": rss_kb(),
                        "cpu_s": cpu.user + cpu.system,
                        "fsyncs": FSYNCS[0],
                        **served.extra_status(),
                    }
                )
            elif command == "where":  # which mailflow_lab this process runs (bench.profile --src)
                module = sys.modules.get("mailflow_lab")
                folder = Path(module.__file__).parent if module and module.__file__ else None
                say({"mailflow_lab": str(folder) if folder else None})
            elif command == "quit":
                break
            else:
                say({"error": f"unknown command {command!r}"})
    finally:
        served.stop()
    say({"stopped": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
