"""The table `make bench` prints: one row per figure, the lab beside its building blocks and peers."""

from __future__ import annotations

import math
import statistics
from typing import Any

from .plan import LOAD_LEVELS, PER_SESSION, TARGETS

ENDPOINTS = {"submission": "submission (STARTTLS+AUTH)", "mx": "direct send to MX (plain)"}
MAILDEV_DIALOGUE = {"submission": "implicit TLS+AUTH: no STARTTLS in MailDev", "mx": "same dialogue"}


def median_rate(runs: list[dict[str, Any]]) -> float:
    return statistics.median(r["per_s"] for r in runs)


def median_ratio(lab: list[dict[str, Any]], ref: list[dict[str, Any]]) -> float:
    """The median of per-round ratios: each round's runs were taken minutes apart at most."""
    ratios = [a["per_s"] / b["per_s"] for a, b in zip(lab, ref, strict=False) if b["per_s"]]
    return statistics.median(ratios) if ratios else math.nan


def median_cpu(runs: list[dict[str, Any]]) -> float:
    values = [r["server_cpu_ms_per_message"] for r in runs if r["server_cpu_ms_per_message"] is not None]
    return statistics.median(values) if values else math.nan


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def row(
        self, what: str, lab: str, block: str = "", ratio: str = "", target: str = "", met: bool | None = None
    ) -> None:
        self.rows.append(
            {"what": what, "lab": lab, "block": block, "ratio": ratio, "target": target, "met": met}
        )


def _start(t: Table, start: dict[str, Any]) -> None:
    ratio = start["ratio_lab_to_controller"]
    t.row(
        "lab start, ms (median; first in a process)",
        f"{start['lab_start_ms']:.1f} ({start['first_lab_start_ms']:.0f})",
        f"{start['controller_start_ms']:.1f} bare Controller",
        f"{ratio:.1f}x",
        f"<= {TARGETS['start_ratio']:g}x",
        ratio <= TARGETS["start_ratio"],
    )
    t.row(
        f"  vs {start['lab_endpoints']} Controllers + 2 TLS contexts",
        "",
        f"{start['blocks_start_ms']:.1f}",
        f"{start['ratio_lab_to_blocks']:.2f}x",
    )


def _throughput(t: Table, runs: dict[str, list[dict[str, Any]]]) -> None:
    for endpoint in ("submission", "mx"):
        for per_session in PER_SESSION:
            key = f"{endpoint} {per_session}"
            lab, bare = runs.get(f"lab {key}"), runs.get(f"bare {key}")
            if not lab or not bare:
                continue
            ratio = median_ratio(lab, bare)
            goal = TARGETS["throughput_vs_bare"]
            t.row(
                f"{ENDPOINTS[endpoint]}, msg/s, {per_session}/session",
                f"{median_rate(lab):.0f}",
                f"{median_rate(bare):.0f} bare aiosmtpd",
                f"{ratio:.2f}",
                f">= {goal:g}",
                ratio >= goal,
            )
            refs = (
                ("durable", "  vs bare aiosmtpd + fsync'd Maildir", TARGETS["throughput_vs_durable"], 2),
                (
                    "maildev",
                    f"  vs MailDev ({MAILDEV_DIALOGUE[endpoint]})",
                    TARGETS["throughput_vs_maildev"],
                    2,
                ),
                ("smtp-sink", "  vs Postfix smtp-sink (native)", None, 3),
            )
            for name, what, goal, digits in refs:
                ref = runs.get(f"{name} {key}")
                if not ref:
                    continue
                ratio = median_ratio(lab, ref)
                t.row(
                    what,
                    "",
                    f"{median_rate(ref):.0f}",
                    f"{ratio:.{digits}f}",
                    f">= {goal:g}" if goal is not None else "",
                    ratio >= goal if goal is not None else None,
                )


def _cpu(t: Table, runs: dict[str, list[dict[str, Any]]]) -> None:
    for endpoint in ("submission", "mx"):
        for per_session in PER_SESSION:
            key = f"{endpoint} {per_session}"
            if f"lab {key}" not in runs:
                continue
            cpu = {
                name: median_cpu(runs.get(f"{name} {key}", []))
                for name in ("lab", "bare", "durable", "maildev")
            }
            refs = [f"{cpu['bare']:.1f} bare", f"{cpu['durable']:.1f} durable"]
            if not math.isnan(cpu["maildev"]):
                refs.append(f"{cpu['maildev']:.1f} MailDev")
            ratio = cpu["lab"] / cpu["durable"] if cpu["durable"] else math.nan
            goal = TARGETS["cpu_vs_durable"]
            t.row(
                f"server CPU per message, ms, {endpoint}, {per_session}/session",
                f"{cpu['lab']:.1f}",
                "; ".join(refs),
                f"{ratio:.1f}x durable",
                f"<= {goal:g}x",
                ratio <= goal if not math.isnan(ratio) else None,
            )


def _brief(name: str, r: dict[str, Any]) -> str:
    if "skipped" in r:
        return f"{name} skipped"
    return f"{name} {r['per_s'] or 0:.0f}/s {r['errors']} err p99 {r['message_p99_ms']:.0f}"


def _concurrency(t: Table, entries: list[dict[str, Any]]) -> None:
    labels = {"bare": "bare", "durable": "durable", "maildev": "MailDev", "smtp-sink": "sink"}
    top = max(LOAD_LEVELS)
    for entry in entries:
        lab = entry.get("lab")
        if not lab or "skipped" in lab:
            continue
        senders, endpoint = entry["senders"], entry["endpoint"]
        refs = [_brief(label, entry[name]) for name, label in labels.items() if name in entry]
        ratio, target, met = "", "", None
        bare = entry.get("bare")
        if senders == top and bare and "skipped" not in bare:
            p99 = lab["session_p99_ms"] / bare["session_p99_ms"] if bare["session_p99_ms"] else math.nan
            goal = TARGETS["concurrent_p99_vs_bare"]
            ratio = f"{p99:.1f}x session p99"
            target = f"0 err, <= {goal:g}x"
            met = lab["errors"] == TARGETS["concurrent_errors"] and p99 <= goal
        value = f"{lab['per_s'] or 0:.0f}/s {lab['errors']} err"
        t.row(
            f"{senders} concurrent, {endpoint}: msg/s, err, p50/p99 ms per message",
            f"{value} {lab['message_p50_ms']:.0f}/{lab['message_p99_ms']:.0f}",
            "; ".join(refs),
            ratio,
            target,
            met,
        )
        if senders == top:
            ref = f"bare {bare['session_p99_ms']:.0f}" if bare and "skipped" not in bare else ""
            t.row(
                f"  session p50/p99 ms ({senders} open at once, gate)",
                f"{lab['session_p50_ms']:.0f}/{lab['session_p99_ms']:.0f}",
                ref,
            )
        if "fsyncs_per_message" in lab:
            durable = entry.get("durable", {})
            t.row(
                f"  syncs per message, {senders} sender{'s' if senders > 1 else ''}",
                f"{lab['fsyncs_per_message']:.2f}",
                f"{durable['fsyncs_per_message']:.2f} durable" if "fsyncs_per_message" in durable else "",
            )


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: what, the lab's value, the building block's, the ratio, the target, met?"""
    t = Table()
    if results.get("start"):
        _start(t, results["start"])
    runs = results.get("throughput")
    if runs:
        _throughput(t, runs)
    fsyncs = results.get("fsyncs_per_message")
    if fsyncs:
        t.row(
            "syncs per message, sequential (lab; durable bare)",
            f"{fsyncs['lab']:.1f}",
            f"{fsyncs['durable']:.1f}",
        )
    if runs:
        _cpu(t, runs)
    if results.get("concurrency"):
        _concurrency(t, results["concurrency"])
    default = results.get("default_limits")
    if default:
        t.row(
            f"  {default['senders']} at once, mx, default limits",
            f"{default['messages']} ok, {default['errors']} refused",
        )
    memory = results.get("memory")
    if memory and "lab" in memory:
        refs = [f"{memory['bare']['kb_per_connection']:.1f} bare aiosmtpd"] if "bare" in memory else []
        if "maildev" in memory:  # node's collector may free more than 500 sessions take: then no figure
            kb = memory["maildev"]["kb_per_connection"]
            refs.append(f"{kb:.1f} MailDev" if kb > 0 else "MailDev n/a (RSS fell: node GC)")
        bare_kb = memory.get("bare", {}).get("kb_per_connection", math.nan)
        t.row(
            f"memory per idle connection after EHLO, KB ({memory['lab']['connections']} open)",
            f"{memory['lab']['kb_per_connection']:.1f}",
            "; ".join(refs),
            f"{memory['lab']['kb_per_connection'] / max(bare_kb, 0.1):.1f}x",
        )
    stall = results.get("stall")
    if stall and "lab" in stall:
        lab = stall["lab"]
        refs = [
            f"{name} p99 {r['noop_p99_ms']:.0f} max {r['noop_max_ms']:.0f}"
            for name, r in stall.items()
            if name != "lab"
        ]
        goal = TARGETS["noop_p99_ms"]
        t.row(
            f"NOOP on submission during {lab['upload_mb']} MB to MX, ms p50/p99/max",
            f"{lab['noop_p50_ms']:.0f}/{lab['noop_p99_ms']:.0f}/{lab['noop_max_ms']:.0f}",
            "; ".join(refs),
            "",
            f"p99 < {goal:g}",
            lab["noop_p99_ms"] < goal and not lab["noop_errors"] and "error" not in lab["upload"],
        )
    for key, what in (
        ("scenarios", "scenario catalog, broken and fixed, s"),
        ("course", "whole course under nbval, s"),
    ):
        if key in results:
            entry = results[key]
            t.row(what, f"{entry['seconds']:.1f}", entry["summary"])
    return t.rows


def render(table: list[dict[str, Any]]) -> str:
    header = {
        "what": "measure",
        "lab": "lab",
        "block": "building block / peer",
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
