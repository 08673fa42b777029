"""A tenant the size admins have: a generated export of N mailboxes imported, and a lab started on it.

    python -m bench.tenant_scale [--mailboxes 20000] [--out bench/tenant_scale.json]

Each size runs in a fresh process (so its memory is its own): the contoso tenant plus N generated user
mailboxes is written in the JSON shapes Export-MailflowLabTenant.ps1 writes, then timed through
`import_tenant` (world file, zones, lab DKIM keys) and `Lab.start` on the result; RSS is read from /proc
before and after the lab starts. Targets (issue 20): import under 10 s, lab start under 1 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .servers import rss_kb

ROOT = Path(__file__).resolve().parent.parent


def import_generated(mailboxes: int, into: Path) -> dict[str, Any]:
    """Contoso plus `mailboxes` generated users, exported in the documented shapes and imported."""
    from mailflow_lab.world.loader import load_world
    from mailflow_lab.world.model import Mailbox
    from mailflow_lab.world.tenant_export import export_tenant
    from mailflow_lab.world.tenant_world import import_tenant

    tenant = copy.deepcopy(load_world("contoso").tenant)
    tenant.mailboxes += [Mailbox(f"user{i:05d}@contoso.com", f"User {i:05d}") for i in range(mailboxes)]
    folder = export_tenant(into / "export", tenant)
    started = time.perf_counter()
    written, warnings = import_tenant(folder, into / "world" / "tenant.toml")
    imported_s = time.perf_counter() - started
    return {
        "mailboxes": len(tenant.mailboxes),
        "world": str(written.path),
        "world_mb": round(written.path.stat().st_size / 1e6, 2),
        "import_s": round(imported_s, 2),
        "warnings": len(warnings),
    }


def start_lab(world: Path, state: Path) -> dict[str, Any]:
    """A fresh process: the kit imported, then a lab started on the world; its time and RSS."""
    from mailflow_lab import Lab

    before = rss_kb()
    started = time.perf_counter()
    lab = Lab.start(world, state_dir=state)
    start_s = time.perf_counter() - started
    after = rss_kb()
    mailboxes = len(lab.world.tenant.mailboxes)
    lab.stop()
    return {"lab_start_s": round(start_s, 2), "rss_before_mb": before / 1024, "rss_after_mb": after / 1024,
            "mailboxes_loaded": mailboxes}  # fmt: skip


def _child(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.tenant_scale", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(mailboxes: int) -> dict[str, Any]:
    """The contoso tenant and the large one, each imported and started in fresh processes."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="mailflow-scale-") as tmp:
        for size in (0, mailboxes):
            into = Path(tmp) / str(size)
            row = _child("--import-only", str(size), "--into", str(into))
            row |= _child("--start-only", row["world"], "--into", str(into / "state"))
            row["rss_after_mb"] = round(row["rss_after_mb"], 1)
            row["rss_before_mb"] = round(row["rss_before_mb"], 1)
            del row["world"]
            rows.append(row)
    small, large = rows
    extra = (large["mailboxes"] - small["mailboxes"]) / 1000
    grown = (large["rss_after_mb"] - large["rss_before_mb"]) - (
        small["rss_after_mb"] - small["rss_before_mb"]
    )
    return {
        "rows": rows,
        "memory_per_1000_mailboxes_mb": round(grown / extra, 2) if extra else 0.0,
        "targets": {
            "import_under_10_s": large["import_s"] < 10,
            "lab_start_under_1_s": large["lab_start_s"] < 1,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=20000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--import-only", type=int, help=argparse.SUPPRESS)  # the child processes
    parser.add_argument("--start-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.import_only is not None:
        print(json.dumps(import_generated(args.import_only, args.into)))
        return 0
    if args.start_only is not None:
        print(json.dumps(start_lab(args.start_only, args.into)))
        return 0
    result = run(args.mailboxes)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
