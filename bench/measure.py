"""The measurements `make bench` takes, each against every server it names, in one process's turn."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clients import Dialogue, close_all, open_idle, throughput
from .concurrency import load
from .peers import MailDev
from .plan import LOAD_LEVELS, LOAD_TIMEOUT_S, MAX_MESSAGES, PER_SESSION, RUN_SECONDS, messages_each
from .processes import ROOT, SmtpSink
from .stall import noop_during_upload


@dataclass
class Server:
    """One server as the measurements see it: its dialogues by endpoint and what can be read of it."""

    name: str
    dialogues: dict[str, Dialogue]  # endpoint ("mx", "submission") -> the dialogue, with its port
    tick: Callable[[], None] | None = None  # moves the lab clock a minute (bench.servers only)
    cpu_s: Callable[[str], float] | None = None  # CPU time so far of the process serving an endpoint
    fsyncs: Callable[[], int] | None = None  # fsync + fdatasync calls so far (bench.servers only)
    rss_kb: Callable[[str], int] | None = None  # RSS of the process serving an endpoint
    alive: Callable[[], bool] = lambda: True


# -- the machine -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        from importlib.metadata import version

        aiosmtpd, aiosmtplib = version("aiosmtpd"), version("aiosmtplib")
    except Exception:  # noqa: BLE001 - informative only
        aiosmtpd = aiosmtplib = "?"
    postfix = ""
    if SmtpSink.available():
        out = subprocess.run(["postconf", "-h", "mail_version"], capture_output=True, text=True, timeout=10)
        postfix = out.stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "aiosmtpd": aiosmtpd,
        "aiosmtplib": aiosmtplib,
        "postfix": postfix,
        "maildev": MailDev.version() if MailDev.available() else "",
        "state_fs": _filesystem(Path(tempfile.gettempdir())),
    }


def _filesystem(path: Path) -> str:
    """The type of the file system holding `path` (where the lab keeps its Maildirs and trace)."""
    best, kind = "", "?"
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            _, mount_point, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount_point) and len(mount_point) > len(best):
                best, kind = mount_point, fstype
    return kind


def loadavg() -> list[float]:
    """1, 5 and 15 minute load averages: the machine may be shared, and the figures move with it."""
    return [round(x, 2) for x in os.getloadavg()]


# -- lab start ---------------------------------------------------------------------------------------


def lab_start() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.startup"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.startup failed: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout))


# -- memory per idle connection -----------------------------------------------------------------------


def idle_memory(server: Server, count: int) -> dict[str, Any]:
    """RSS of the MX's process before and after ``count`` connections each greeted with EHLO, left idle."""
    assert server.rss_kb is not None
    dialogue = server.dialogues["mx"]
    throughput(dialogue, messages=5, per_session=1, deadline_s=5)  # warm
    time.sleep(1.0)  # MailDev's garbage collector settles
    before = server.rss_kb("mx")
    sockets = open_idle(dialogue.host, dialogue.port, count)
    try:
        time.sleep(1.0)
        after = server.rss_kb("mx")
    finally:
        close_all(sockets)
    return {
        "connections": count,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "kb_per_connection": round((after - before) / count, 1),
    }


# -- sequential throughput ----------------------------------------------------------------------------


def throughput_runs(servers: list[Server], rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Every (server, endpoint, messages per session) once per round, the servers taken in turn."""
    plan = [(s, endpoint, dialogue) for s in servers for endpoint, dialogue in s.dialogues.items()]
    for server, _, dialogue in plan:  # warm: first deliveries make folders, first handshakes load keys
        throughput(dialogue, messages=10, per_session=1, deadline_s=5, tick=server.tick)
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for server, endpoint, dialogue in plan:
            for per_session in PER_SESSION:
                cpu = server.cpu_s(endpoint) if server.cpu_s else 0.0
                result = throughput(
                    dialogue,
                    messages=MAX_MESSAGES,
                    per_session=per_session,
                    deadline_s=RUN_SECONDS,
                    tick=server.tick,
                )
                cpu_ms = None  # the server process's CPU time per message (smtp-sink: not measured)
                if server.cpu_s and result.messages:
                    cpu_ms = (server.cpu_s(endpoint) - cpu) * 1000 / result.messages
                runs.setdefault(f"{server.name} {endpoint} {per_session}", []).append(
                    {
                        "dialogue": dialogue.kind,
                        "messages": result.messages,
                        "seconds": round(result.seconds, 3),
                        "per_s": round(result.rate, 1),
                        "errors": result.errors,
                        "first_error": result.first_error,
                        "session_p50_ms": round(result.session_p50_ms, 2),
                        "server_cpu_ms_per_message": round(cpu_ms, 2) if cpu_ms is not None else None,
                    }
                )
    return runs


# -- many senders at once -----------------------------------------------------------------------------


def load_runs(servers: list[Server]) -> list[dict[str, Any]]:
    """Per load level and endpoint, every server in turn: aiosmtplib senders at once, syncs counted."""
    out = []
    for senders in LOAD_LEVELS:
        for endpoint in ("mx", "submission"):
            entry: dict[str, Any] = {"senders": senders, "endpoint": endpoint}
            for server in servers:
                dialogue = server.dialogues.get(endpoint)
                if dialogue is None:
                    continue
                if not server.alive():
                    entry[server.name] = {"skipped": "the server process had ended"}
                    continue
                fsyncs = server.fsyncs() if server.fsyncs else None
                result = load(dialogue, senders, messages_each(senders), LOAD_TIMEOUT_S)
                result["dialogue"] = dialogue.kind
                if server.fsyncs and fsyncs is not None:
                    result["fsyncs"] = server.fsyncs() - fsyncs
                    result["fsyncs_per_message"] = round(result["fsyncs"] / max(result["messages"], 1), 2)
                entry[server.name] = result
            out.append(entry)
    return out


# -- NOOP during a big upload -------------------------------------------------------------------------


def stall_runs(servers: list[Server], megabytes: int) -> dict[str, Any]:
    out = {}
    for server in servers:
        mx, submission = server.dialogues["mx"], server.dialogues["submission"]
        out[server.name] = noop_during_upload(
            (mx.host, mx.port), (submission.host, submission.port), megabytes
        )
    return out


# -- scenarios and course -----------------------------------------------------------------------------


def timed(command: list[str], *, env: dict[str, str] | None = None, timeout: float) -> dict[str, Any]:
    began = time.perf_counter()
    try:
        out = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        return {"seconds": round(time.perf_counter() - began, 1), "returncode": None, "summary": "timed out"}
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if re.search(r"\d+ (passed|failed)", line)), "")
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "returncode": out.returncode,
        "summary": summary.strip("= "),
    }


def scenarios() -> dict[str, Any]:
    return timed([sys.executable, "-m", "mailflow_lab", "scenarios", "run", "--fix"], timeout=300)


def course() -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "notebooks/"]
    return timed(command, env={"MAILFLOW_LAB_SOLUTIONS": "1", "MPLBACKEND": "Agg"}, timeout=600)
