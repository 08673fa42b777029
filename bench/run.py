"""`make bench`: the lab next to its building blocks and peers, measured side by side in one run, as ratios.

    python -m bench.run [--out bench/results.json] [--rounds 3] [--skip course,scenarios]

Everything listens on 127.0.0.1 and every loop is bounded in count and time. Servers run in their own
processes (bench.servers for the lab and bare aiosmtpd, smtp-sink, MailDev under node) so the clients
here never share an interpreter with them. Groups (each can be skipped): start, memory, throughput,
concurrency (aiosmtplib senders at 1, 10, 100 and 500 at once, syncs per message), stall (NOOP during a
100 MB upload), peers (MailDev), scenarios, course.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .clients import DIRECT_SEND, SUBMISSION
from .concurrency import load
from .measure import (
    Server,
    course,
    idle_memory,
    lab_start,
    load_runs,
    loadavg,
    machine,
    scenarios,
    stall_runs,
    throughput_runs,
)
from .peers import MailDev
from .plan import (
    DEFAULT_LIMITS_CLIENTS,
    IDLE_CONNECTIONS,
    LOAD_TIMEOUT_S,
    PER_ADDRESS,
    UPLOAD_MB,
    config,
)
from .processes import ROOT, ServerProcess, SmtpSink
from .servers import raise_open_files
from .table import render, rows

GROUPS = ("start", "memory", "throughput", "concurrency", "stall", "peers", "scenarios", "course")


def bench_server(process: ServerProcess) -> Server:
    """A bench.servers process (lab, bare, durable): both endpoints, its clock, CPU, syncs and RSS."""
    return Server(
        process.kind,
        {
            "submission": SUBMISSION.with_port(*process.endpoints["submission"]),
            "mx": DIRECT_SEND.with_port(*process.endpoints["mx"]),
        },
        tick=process.advance,
        cpu_s=lambda endpoint: float(process.status()["cpu_s"]),
        fsyncs=lambda: int(process.status()["fsyncs"]),
        rss_kb=lambda endpoint: int(process.status()["rss_kb"]),
        alive=lambda: process.process.poll() is None,
    )


def maildev_server(maildev: MailDev) -> Server:
    """MailDev's two processes: plain MX dialogue, and implicit TLS + AUTH LOGIN for submission."""
    return Server(
        "maildev",
        {
            "submission": SUBMISSION.with_port(*maildev.endpoints["submission"], kind="smtps"),
            "mx": DIRECT_SEND.with_port(*maildev.endpoints["mx"]),
        },
        cpu_s=maildev.cpu_s,
        rss_kb=maildev.rss_kb,
        alive=maildev.alive,
    )


def sink_server(sink: SmtpSink) -> Server:
    return Server("smtp-sink", {"mx": DIRECT_SEND.with_port("127.0.0.1", sink.port)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (servers taken in turn)")
    parser.add_argument("--skip", default="", help="comma list of: " + ",".join(GROUPS))
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(GROUPS)
    if unknown:
        parser.error(f"unknown --skip names: {', '.join(sorted(unknown))} (known: {', '.join(GROUPS)})")
    open_files = raise_open_files()  # 500 sessions at once; servers started from here inherit it
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "command": "make bench", "config": config()}
    results["open_files_limit"] = open_files
    results["loadavg_before"] = loadavg()
    results["skipped"] = sorted(skip)

    def step(name: str) -> bool:
        if name in skip:
            return False
        print(f"[{time.perf_counter() - began:6.1f}s] {name}", file=sys.stderr, flush=True)
        return True

    if step("start"):
        results["start"] = lab_start()
    processes: dict[str, ServerProcess] = {}
    sink: SmtpSink | None = None
    maildev: MailDev | None = None
    try:
        processes = {
            "lab": ServerProcess("lab", per_address=PER_ADDRESS),
            "bare": ServerProcess("bare"),
            "durable": ServerProcess("durable"),
        }
        sink = SmtpSink(lifetime_s=900) if SmtpSink.available() else None
        if "peers" not in skip and MailDev.available():
            maildev = MailDev(lifetime_s=900)
        servers = {name: bench_server(process) for name, process in processes.items()}
        if maildev is not None:
            servers["maildev"] = maildev_server(maildev)
        if sink is not None:
            servers["smtp-sink"] = sink_server(sink)
        if step("memory"):
            results["memory"] = {
                name: idle_memory(servers[name], IDLE_CONNECTIONS)
                for name in ("lab", "bare", "maildev")
                if name in servers
            }
        if step("throughput"):
            fsyncs_before = {k: processes[k].status()["fsyncs"] for k in ("lab", "durable")}
            runs = throughput_runs(list(servers.values()), args.rounds)
            results["throughput"] = runs
            sent = {
                k: sum(r["messages"] for key, rs in runs.items() if key.startswith(k + " ") for r in rs)
                for k in ("lab", "durable")
            }
            # Warm-up messages are counted in the syncs but not in `sent`: a small overestimate.
            results["fsyncs_per_message"] = {
                k: (processes[k].status()["fsyncs"] - fsyncs_before[k]) / max(sent[k], 1) for k in sent
            }
        if step("concurrency"):
            results["concurrency"] = load_runs(list(servers.values()))
            with ServerProcess("lab") as default_lab:
                results["default_limits"] = load(
                    DIRECT_SEND.with_port(*default_lab.endpoints["mx"]),
                    DEFAULT_LIMITS_CLIENTS,
                    1,
                    LOAD_TIMEOUT_S,
                )
        if step("stall"):
            results["stall"] = stall_runs([servers[k] for k in ("lab", "bare", "durable")], UPLOAD_MB)
        results["lab_status"] = processes["lab"].status()
        if maildev is not None:
            results["maildev_exits"] = maildev.exits()
    finally:
        for process in processes.values():
            process.stop()
        if sink is not None:
            sink.stop()
        if maildev is not None:
            maildev.stop()
    if step("scenarios"):
        results["scenarios"] = scenarios()
    if step("course"):
        results["course"] = course()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["loadavg_after"] = loadavg()
    results["table"] = rows(results)
    print(render(results["table"]))
    m = results["machine"]
    print(
        f"\n{m['nproc']} CPUs, {m['mem_gib']} GiB, Python {m['python']}, Linux {m['kernel']}, aiosmtpd "
        f"{m['aiosmtpd']}, aiosmtplib {m['aiosmtplib']}, Postfix {m['postfix'] or '-'}, MailDev "
        f"{m['maildev'] or '-'}, state on {m['state_fs']}; load average {results['loadavg_before'][0]} "
        f"before, {results['loadavg_after'][0]} after; {results['seconds']} s"
    )
    for warning in warnings(results, skip):
        print(f"warning: {warning}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def warnings(results: dict[str, Any], skip: set[str]) -> list[str]:
    """What would make a comparison unfair or a figure wrong: failed sends, deferred or lost messages."""
    out = []
    for key, runs in results.get("throughput", {}).items():
        errors = sum(r["errors"] for r in runs)
        if errors:
            first = next(r["first_error"] for r in runs if r["errors"])
            out.append(f"{key}: {errors} failed sessions ({first})")
    for entry in results.get("concurrency", []):
        for name, r in entry.items():
            if isinstance(r, dict) and r.get("errors"):
                kinds = "; ".join(f"{n}x {k}" for k, n in r["error_kinds"].items())
                out.append(
                    f"{name} {entry['endpoint']} {entry['senders']} at once: {r['errors']} failed ({kinds})"
                )
    for name, r in results.get("stall", {}).items():
        if "error" in r["upload"] or not r["upload"].get("reply", "").startswith("250"):
            out.append(f"{name}: the {r['upload_mb']} MB upload did not end in 250: {r['upload']}")
    for name, exit_text in results.get("maildev_exits", {}).items():
        out.append(f"MailDev {name} ended during the run: {exit_text}")
    status = results.get("lab_status", {})
    if status.get("deferred"):
        out.append(f"the lab deferred {status['deferred']} messages (per-minute limit): fewer were delivered")
    if status.get("lab_errors"):
        out.append(f"the lab noted errors: {status['lab_errors'][:3]}")
    if not SmtpSink.available():
        out.append("smtp-sink is not installed (Debian: apt-get install postfix): no native reference")
    if "peers" not in skip and not MailDev.available():
        out.append("MailDev is not installed (make clients: npm into .ci/node): no MailDev rows")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
