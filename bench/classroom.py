"""Classroom load test: N learners' labs started at once on this machine, each doing a notebook's sends."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# One learner: start a lab, do what notebook 02 does in its first minutes, report timings and memory.
LEARNER = r"""
import json, os, time
t0 = time.perf_counter()
from mailflow_lab import Device, Lab
t_import = time.perf_counter() - t0
t1 = time.perf_counter()
lab = Lab.start()
t_start = time.perf_counter() - t1
errors = 0
t2 = time.perf_counter()
scanner = lab.device("Lobby scanner")
printer = lab.device("Warehouse printer")
for i in range(5):
    errors += not scanner.send(lab, to=["alex@contoso.com", "pat@fabrikam.com"], subject=f"scan {i}").accepted
errors += not printer.send(lab, to="alex@contoso.com", subject="toner").accepted
lab.powershell("Set-CASMailbox -Identity alex -SmtpClientAuthenticationDisabled $false")
alex = Device("app", server="smtp.office365.com", port=587, tls="starttls", username="alex@contoso.com",
              password="Alex#2026", sender="alex@contoso.com")
errors += not alex.send(lab, to="pat@fabrikam.com", subject="invoice").accepted
t_sends = time.perf_counter() - t2
import io  # what a notebook kernel also loads: the widgets and a diagram
import ipywidgets
from mailflow_lab.ui.diagrams import draw_option
draw_option("smtp-auth").savefig(io.BytesIO(), format="png")
rss = max(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(("VmRSS", "VmHWM")))
lab.stop()
report = {"import_s": t_import, "start_s": t_start, "sends_s": t_sends, "rss_kb": rss, "errors": errors}
print(json.dumps(report))
"""


def run_class(learners: int, timeout: float) -> dict[str, float]:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LEARNER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(learners)
    ]
    reports, failures = [], 0
    for process in processes:
        try:
            out, _err = process.communicate(timeout=timeout)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            process.kill()
            process.communicate()
            failures += 1
    wall = time.perf_counter() - started
    rss = [r["rss_kb"] / 1024 for r in reports]
    return {
        "learners": learners,
        "wall_s": round(wall, 1),
        "failed_learners": failures,
        "send_errors": sum(r["errors"] for r in reports),
        "lab_start_p50_s": round(statistics.median(r["start_s"] for r in reports), 2) if reports else 0,
        "lab_start_max_s": round(max(r["start_s"] for r in reports), 2) if reports else 0,
        "sends_p50_s": round(statistics.median(r["sends_s"] for r in reports), 2) if reports else 0,
        "rss_p50_mb": round(statistics.median(rss), 1) if rss else 0,
        "rss_max_mb": round(max(rss), 1) if rss else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a learner may take")
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("classroom.json"))
    args = parser.parse_args()
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    with open("/proc/meminfo") as meminfo:
        machine["mem_gib"] = round(int(meminfo.readline().split()[1]) / 1024 / 1024, 1)
    rows = [run_class(n, args.timeout) for n in args.learners]
    header = (
        f"{'learners':>8} {'wall s':>7} {'failed':>6} {'errors':>6} {'start p50':>9} {'start max':>9} "
        f"{'sends p50':>9} {'RSS p50 MB':>10} {'RSS max MB':>10}"
    )
    print(f"machine: {machine['cpus']} CPUs, {machine['mem_gib']} GiB, Python {machine['python']}")
    print(header)
    for r in rows:
        print(
            f"{r['learners']:>8} {r['wall_s']:>7} {r['failed_learners']:>6} {r['send_errors']:>6} "
            f"{r['lab_start_p50_s']:>9} {r['lab_start_max_s']:>9} {r['sends_p50_s']:>9} "
            f"{r['rss_p50_mb']:>10} {r['rss_max_mb']:>10}"
        )
    args.json.write_text(json.dumps({"machine": machine, "classes": rows}, indent=2))
    return 1 if any(r["failed_learners"] or r["send_errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
