"""`make bench`: the lab next to its building blocks, measured side by side in one run, as ratios.

    python -m bench.run [--out bench/results.json] [--rounds 3] [--skip course,scenarios]

Everything listens on 127.0.0.1 and every loop is bounded in count and time. Servers run in their own
processes (bench.servers, smtp-sink) so the clients here never share an interpreter with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .clients import Dialogue, close_all, concurrent, open_idle, throughput
from .processes import ROOT, ServerProcess, SmtpSink

# The world's SMTP AUTH mailbox sends as the shared mailbox it has SendAs on (granted by bench.servers);
# direct send comes from the office printer's address (no XCLIENT: the office NAT address, SPF fail,
# DMARC p=none, so EOP files it in Junk Email).
SUBMISSION = Dialogue(
    "submission",
    "127.0.0.1",
    0,
    mail_from="scanner@contoso.com",
    rcpt="alex@contoso.com",
    header_from="helpdesk@contoso.com",
    username="scanner@contoso.com",
    password="Scan#2026",
)
DIRECT_SEND = Dialogue(
    "plain", "127.0.0.1", 0, "printer@contoso.com", "alex@contoso.com", "printer@contoso.com"
)

PER_SESSION = (1, 5)
RUN_SECONDS = 1.5  # each throughput run: this long, or MAX_MESSAGES, whichever comes first
MAX_MESSAGES = 1500
CONCURRENCY = (50, 200, 500)
CONCURRENCY_TIMEOUT_S = 45.0  # per step of a session; the gate waits a third of it at most
IDLE_CONNECTIONS = 400
PER_ADDRESS = 2000  # sessions allowed per client address in the raised-limit lab (see README)

TARGETS = {"throughput_ratio": 0.8, "concurrent_errors": 0, "start_ratio": 3.0}


# -- the machine -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        from importlib.metadata import version

        aiosmtpd = version("aiosmtpd")
    except Exception:  # noqa: BLE001 - informative only
        aiosmtpd = "?"
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
        "postfix": postfix,
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


# -- lab start ---------------------------------------------------------------------------------------


def lab_start() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.startup"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.startup failed: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout))


# -- memory per idle connection -----------------------------------------------------------------------


def idle_memory(server: ServerProcess, count: int) -> dict[str, Any]:
    host, port = server.endpoints["mx"]
    throughput(DIRECT_SEND.with_port(host, port), messages=5, per_session=1, deadline_s=5)  # warm
    before = server.status()["rss_kb"]
    sockets = open_idle(host, port, count)
    try:
        time.sleep(0.5)
        after = server.status()["rss_kb"]
    finally:
        close_all(sockets)
    return {
        "connections": count,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "kb_per_connection": round((after - before) / count, 1),
    }


# -- throughput ---------------------------------------------------------------------------------------


def throughput_runs(
    servers: dict[str, ServerProcess], sink: SmtpSink | None, rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Every (server, endpoint, messages per session) once per round, the servers taken in turn."""
    plan: list[tuple[str, str, Dialogue, Callable[[], None] | None]] = []
    for name, server in servers.items():
        for endpoint, dialogue in (("submission", SUBMISSION), ("mx", DIRECT_SEND)):
            plan.append((name, endpoint, dialogue.with_port(*server.endpoints[endpoint]), server.advance))
    if sink is not None:
        plan.append(("smtp-sink", "mx", DIRECT_SEND.with_port("127.0.0.1", sink.port), None))
    for _, _, dialogue, tick in plan:  # warm: first deliveries make folders, first handshakes load keys
        throughput(dialogue, messages=10, per_session=1, deadline_s=5, tick=tick)
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(rounds):
        for name, endpoint, dialogue, tick in plan:
            server = servers.get(name)
            for per_session in PER_SESSION:
                cpu = server.status()["cpu_s"] if server else 0.0
                result = throughput(
                    dialogue,
                    messages=MAX_MESSAGES,
                    per_session=per_session,
                    deadline_s=RUN_SECONDS,
                    tick=tick,
                )
                cpu_ms = None  # the server process's CPU time per message (smtp-sink: not measured)
                if server and result.messages:
                    cpu_ms = (server.status()["cpu_s"] - cpu) * 1000 / result.messages
                runs.setdefault(f"{name} {endpoint} {per_session}", []).append(
                    {
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


def _median_rate(runs: list[dict[str, Any]]) -> float:
    return statistics.median(r["per_s"] for r in runs)


def _median_ratio(lab: list[dict[str, Any]], ref: list[dict[str, Any]]) -> float:
    """The median of per-round ratios: each round's runs were taken minutes apart at most."""
    return statistics.median(a["per_s"] / b["per_s"] for a, b in zip(lab, ref, strict=True) if b["per_s"])


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


# -- the table ----------------------------------------------------------------------------------------


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: what, the lab's value, the building block's, the ratio, the target, met?"""
    out: list[dict[str, Any]] = []

    def row(what: str, lab: str, block: str = "", ratio: str = "", target: str = "", met: bool | None = None):
        out.append({"what": what, "lab": lab, "block": block, "ratio": ratio, "target": target, "met": met})

    start = results.get("start")
    if start:
        ratio = start["ratio_lab_to_controller"]
        row(
            "lab start, ms (median; first in a process)",
            f"{start['lab_start_ms']:.1f} ({start['first_lab_start_ms']:.0f})",
            f"{start['controller_start_ms']:.1f} bare Controller",
            f"{ratio:.1f}x",
            f"<= {TARGETS['start_ratio']:g}x",
            ratio <= TARGETS["start_ratio"],
        )
        row(
            f"  vs {start['lab_endpoints']} Controllers + 2 TLS contexts",
            "",
            f"{start['blocks_start_ms']:.1f}",
            f"{start['ratio_lab_to_blocks']:.2f}x",
        )
    runs = results.get("throughput")
    if runs:
        names = {"submission": "submission (STARTTLS+AUTH)", "mx": "direct send to MX (plain)"}
        for endpoint in ("submission", "mx"):
            for per_session in PER_SESSION:
                key = f"{endpoint} {per_session}"
                lab, bare = runs[f"lab {key}"], runs[f"bare {key}"]
                ratio = _median_ratio(lab, bare)
                row(
                    f"{names[endpoint]}, msg/s, {per_session}/session",
                    f"{_median_rate(lab):.0f}",
                    f"{_median_rate(bare):.0f} bare aiosmtpd",
                    f"{ratio:.2f}",
                    f">= {TARGETS['throughput_ratio']:g}",
                    ratio >= TARGETS["throughput_ratio"],
                )
                durable = runs.get(f"durable {key}")
                if durable:
                    row(
                        "  vs bare aiosmtpd + fsync'd Maildir",
                        "",
                        f"{_median_rate(durable):.0f}",
                        f"{_median_ratio(lab, durable):.2f}",
                    )
                sink = runs.get(f"smtp-sink {key}")
                if sink:
                    row(
                        "  vs Postfix smtp-sink (native)",
                        "",
                        f"{_median_rate(sink):.0f}",
                        f"{_median_ratio(lab, sink):.3f}",
                    )
    fsyncs = results.get("fsyncs_per_message")
    if fsyncs:
        row("fsyncs per message (lab; durable bare)", f"{fsyncs['lab']:.1f}", f"{fsyncs['durable']:.1f}")
    if runs:
        for endpoint in ("submission", "mx"):

            def cpu(name: str, endpoint: str = endpoint) -> float:
                values = [r["server_cpu_ms_per_message"] for r in runs.get(f"{name} {endpoint} 1", [])]
                return statistics.median(v for v in values if v is not None) if values else float("nan")

            row(
                f"server CPU per message, ms, {endpoint}, 1/session",
                f"{cpu('lab'):.1f}",
                f"{cpu('bare'):.1f} bare; {cpu('durable'):.1f} durable",
                f"{cpu('lab') / cpu('bare'):.1f}x",
            )
    for entry in results.get("concurrency", []):
        lab, bare, sink = entry["lab"], entry.get("bare"), entry.get("smtp-sink")
        refs = []
        if bare:
            refs.append(f"aiosmtpd {bare['errors']} err, p99 {bare['session_p99_ms'] / 1000:.1f}s")
        if sink:
            refs.append(f"sink {sink['errors']} err, p99 {sink['session_p99_ms'] / 1000:.2f}s")
        row(
            f"{entry['clients']} concurrent MX sessions: errors, p50/p99 s",
            f"{lab['errors']} err, {lab['session_p50_ms'] / 1000:.2f}/{lab['session_p99_ms'] / 1000:.2f}",
            "; ".join(refs),
            "",
            "0 errors" if entry["clients"] == max(CONCURRENCY) else "",
            lab["errors"] == 0 if entry["clients"] == max(CONCURRENCY) else None,
        )
    default = results.get("default_limits")
    if default:
        row(
            f"  {default['clients']} at once, default limits",
            f"{default['ok']} ok, {default['errors']} refused",
            "",
            "",
            "",
            None,
        )
    memory = results.get("memory")
    if memory:
        row(
            f"memory per idle connection, KB ({memory['lab']['connections']} open)",
            f"{memory['lab']['kb_per_connection']:.1f}",
            f"{memory['bare']['kb_per_connection']:.1f} bare aiosmtpd",
            f"{memory['lab']['kb_per_connection'] / max(memory['bare']['kb_per_connection'], 0.1):.1f}x",
        )
    for key, what in (
        ("scenarios", "scenario catalog, broken and fixed, s"),
        ("course", "whole course under nbval, s"),
    ):
        if key in results:
            entry = results[key]
            row(what, f"{entry['seconds']:.1f}", entry["summary"])
    return out


def render(table: list[dict[str, Any]]) -> str:
    header = {
        "what": "measure",
        "lab": "lab",
        "block": "building block",
        "ratio": "ratio",
        "target": "target",
    }
    cells = [header] + [
        {
            **r,
            "target": (r["target"] + (" met" if r["met"] else " MISSED"))
            if r["met"] is not None
            else r["target"],
        }
        for r in table
    ]
    widths = {k: max(len(str(c[k])) for c in cells) for k in header}
    lines = []
    for n, c in enumerate(cells):
        lines.append("| " + " | ".join(str(c[k]).ljust(widths[k]) for k in header) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (widths[k] + 2) for k in header) + "|")
    return "\n".join(lines)


# -- the run ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (servers taken in turn)")
    parser.add_argument(
        "--skip", default="", help="comma list: start,throughput,concurrency,memory,scenarios,course"
    )
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "command": "make bench", "config": _config()}
    results["loadavg_before"] = _loadavg()

    def step(name: str) -> bool:
        if name in skip:
            return False
        print(f"[{time.perf_counter() - began:6.1f}s] {name}", file=sys.stderr, flush=True)
        return True

    if step("start"):
        results["start"] = lab_start()
    servers: dict[str, ServerProcess] = {}
    sink: SmtpSink | None = None
    try:
        servers = {
            "lab": ServerProcess("lab", per_address=PER_ADDRESS),
            "bare": ServerProcess("bare"),
            "durable": ServerProcess("durable"),
        }
        sink = SmtpSink(lifetime_s=600) if SmtpSink.available() else None
        if step("memory"):
            results["memory"] = {
                "lab": idle_memory(servers["lab"], IDLE_CONNECTIONS),
                "bare": idle_memory(servers["bare"], IDLE_CONNECTIONS),
            }
        if step("throughput"):
            fsyncs_before = {k: servers[k].status()["fsyncs"] for k in ("lab", "durable")}
            runs = throughput_runs(servers, sink, args.rounds)
            results["throughput"] = runs
            sent = {
                k: sum(r["messages"] for key, rs in runs.items() if key.startswith(k + " ") for r in rs)
                for k in ("lab", "durable")
            }
            # Warm-up messages are counted in the fsyncs but not in `sent`: a small overestimate.
            results["fsyncs_per_message"] = {
                k: (servers[k].status()["fsyncs"] - fsyncs_before[k]) / max(sent[k], 1) for k in sent
            }
        if step("concurrency"):
            results["concurrency"] = []
            for clients in CONCURRENCY:
                entry: dict[str, Any] = {"clients": clients}
                for name, (host, port) in (
                    ("lab", servers["lab"].endpoints["mx"]),
                    ("bare", servers["bare"].endpoints["mx"]),
                    *((("smtp-sink", ("127.0.0.1", sink.port)),) if sink is not None else ()),
                ):
                    entry[name] = concurrent(
                        DIRECT_SEND.with_port(host, port), clients, CONCURRENCY_TIMEOUT_S
                    )
                results["concurrency"].append(entry)
            with ServerProcess("lab") as default_lab:
                results["default_limits"] = concurrent(
                    DIRECT_SEND.with_port(*default_lab.endpoints["mx"]), CONCURRENCY[0], CONCURRENCY_TIMEOUT_S
                )
        results["lab_status"] = servers["lab"].status()
    finally:
        for server in servers.values():
            server.stop()
        if sink is not None:
            sink.stop()
    if step("scenarios"):
        results["scenarios"] = scenarios()
    if step("course"):
        results["course"] = course()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["loadavg_after"] = _loadavg()
    results["table"] = rows(results)
    text = render(results["table"])
    print(text)
    m = results["machine"]
    print(
        f"\n{m['nproc']} CPUs, {m['mem_gib']} GiB, Python {m['python']}, Linux {m['kernel']}, aiosmtpd "
        f"{m['aiosmtpd']}, Postfix {m['postfix'] or '-'}, state on {m['state_fs']}; load average "
        f"{results['loadavg_before'][0]} before, {results['loadavg_after'][0]} after; {results['seconds']} s"
    )
    for warning in _warnings(results):
        print(f"warning: {warning}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _warnings(results: dict[str, Any]) -> list[str]:
    """What would make a comparison unfair or a figure wrong: failed sends, deferred or lost messages."""
    out = []
    for key, runs in results.get("throughput", {}).items():
        errors = sum(r["errors"] for r in runs)
        if errors:
            first = next(r["first_error"] for r in runs if r["errors"])
            out.append(f"{key}: {errors} failed sessions ({first})")
    status = results.get("lab_status", {})
    if status.get("deferred"):
        out.append(f"the lab deferred {status['deferred']} messages (per-minute limit): fewer were delivered")
    if status.get("lab_errors"):
        out.append(f"the lab noted errors: {status['lab_errors'][:3]}")
    if not SmtpSink.available():
        out.append("smtp-sink is not installed (Debian: apt-get install postfix): no native reference")
    return out


def _loadavg() -> list[float]:
    """1, 5 and 15 minute load averages: the machine may be shared, and the figures move with it."""
    return [round(x, 2) for x in os.getloadavg()]


def _config() -> dict[str, Any]:
    return {
        "per_session": PER_SESSION,
        "run_seconds": RUN_SECONDS,
        "max_messages": MAX_MESSAGES,
        "concurrency": CONCURRENCY,
        "idle_connections": IDLE_CONNECTIONS,
        "per_address_limit_raised_to": PER_ADDRESS,
        "targets": TARGETS,
    }


if __name__ == "__main__":
    raise SystemExit(main())
