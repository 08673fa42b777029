"""py-spy profiles of the lab server process while it serves sequential direct sends, then submissions.

    python -m bench.profile [--messages 300] [--src PATH] [--out bench/profile-before.txt] [--keep DIR]

Starts ``python -m bench.servers lab`` (``--src`` puts another checkout's ``src`` first on its
PYTHONPATH, e.g. ``git archive HEAD src data`` unpacked, for a "before" profile), attaches
``py-spy record --idle --format raw`` to it, and sends ``--messages`` direct sends to the MX (one per
session, plain), then as many submissions (STARTTLS + AUTH LOGIN, one per session), one profile each.
Samples in which a thread only waits for work (the event loop in select, a thread-pool worker waiting
on its queue, the stdin command loop, timers) are dropped; what remains is the server busy, on the CPU
or blocked in a system call such as fsync. Prints, per endpoint, the busy samples per thread and the
top frames by own samples (the frame running) and by cumulative samples (the frame anywhere on the
stack), as percentages of the busy samples.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .clients import DIRECT_SEND, SUBMISSION, Dialogue, throughput
from .processes import ServerProcess

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE = 250  # samples a second
TOP = 15
WAITING = (  # leaf frames of a thread waiting for work, not working
    "EpollSelector.select (selectors.py",
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "_worker (concurrent/futures/thread.py",
    "main (bench/servers.py",
    "DNSServer._run (",
)
_LINE = re.compile(r":\d+\)$")


RENAMED = {  # the counting wrappers of bench.servers are the system calls they wrap
    "_counting_fsync (bench/servers.py)": "os.fsync (the call itself; bench.servers counts it)",
    "_counting_fdatasync (bench/servers.py)": "os.fdatasync (the call itself; bench.servers counts it)",
}


def _frame(raw: str) -> str:
    """``func (path/file.py:123)`` without the line number, so one function is one row."""
    name = _LINE.sub(")", raw.strip())
    return RENAMED.get(name, name)


def parse(raw_text: str) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Own and cumulative busy samples per function, busy samples per thread name, and all samples, from
    py-spy's raw (collapsed) output."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw_text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        parts = stack.split(";")
        thread = next((f.partition("): ")[2] for f in parts if f.startswith("thread (")), "?")
        frames = [f for f in parts if not f.startswith(("thread (", "process "))]
        if frames and frames[0] == thread:  # --threads puts the thread's name first, as a frame
            frames = frames[1:]
        if not frames or frames[-1].startswith(WAITING):
            continue
        threads[thread] += count
        names = [_frame(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            cumulative[name] += count
    return own, cumulative, threads, total


def summary(title: str, raw_text: str, messages: int, seconds: float) -> str:
    own, cumulative, threads, total = parse(raw_text)
    busy = sum(threads.values())
    by_thread = ", ".join(f"{name} {100 * n / max(busy, 1):.0f}%" for name, n in threads.most_common())
    lines = [
        f"== {title}: {messages} messages in {seconds:.1f} s; {busy} busy samples of {total} "
        f"({RATE}/s, all threads, waiting dropped)",
        f"-- busy samples by thread: {by_thread}",
        f"-- top {TOP} by own samples (the frame running)",
    ]
    for name, count in own.most_common(TOP):
        lines.append(f"{100 * count / max(busy, 1):5.1f}%  {name}")
    lines.append(f"-- top {TOP} by cumulative samples (the frame anywhere on the stack)")
    skip = ("Thread._bootstrap", "Thread.run", "_WorkItem.run", "ServerThread._run", "BaseEventLoop.")
    shown = 0
    for name, count in cumulative.most_common():
        if name.startswith(skip) or name.startswith(("<module>", "_run_module_as_main", "_run_code")):
            continue
        lines.append(f"{100 * count / max(busy, 1):5.1f}%  {name}")
        shown += 1
        if shown == TOP:
            break
    return "\n".join(lines)


def record(server: ServerProcess, dialogue: Dialogue, messages: int, out: Path) -> tuple[int, float]:
    """Send ``messages`` one per session while py-spy samples the server; the raw profile goes to ``out``."""
    spy = subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(server.pid), "--format", "raw", "--rate", str(RATE)]
        + ["--idle", "--threads", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # py-spy attaches
    try:
        result = throughput(
            dialogue, messages=messages, per_session=1, deadline_s=120, tick=server.advance, tick_every=25
        )
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
    if not out.exists():
        raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-600:]}")
    if result.errors:
        print(f"warning: {result.errors} failed sessions ({result.first_error})", file=sys.stderr)
    return result.messages, result.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="per endpoint, one per session")
    parser.add_argument("--src", type=Path, help="a checkout's src folder to profile instead of ./src")
    parser.add_argument("--out", type=Path, help="also write the summary here")
    parser.add_argument("--keep", type=Path, help="keep the raw py-spy profiles in this folder")
    parser.add_argument("--label", default="", help="a first line for the summary (what code this is)")
    args = parser.parse_args(argv)
    if not PY_SPY.exists() and shutil.which("py-spy") is None:
        print("py-spy is not installed (pip install py-spy): no profile", file=sys.stderr)
        return 2
    env = {"PYTHONPATH": str(args.src.resolve())} if args.src else None
    folder = args.keep or Path(os.environ.get("TMPDIR", "/tmp")) / f"mailflow-profile-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    sections = []
    with ServerProcess("lab", per_address=2000, env=env) as server:
        where = server.command("where")
        plans = (("mx", "direct send to MX (plain)", DIRECT_SEND), ("submission", "submission", SUBMISSION))
        for endpoint, title, dialogue in plans:
            dialogue = dialogue.with_port(*server.endpoints[endpoint])
            throughput(dialogue, messages=20, per_session=1, deadline_s=10, tick=server.advance)  # warm
            raw = folder / f"{endpoint}.raw"
            sent, seconds = record(server, dialogue, args.messages, raw)
            sections.append(summary(f"{title}, 1/session", raw.read_text(encoding="utf-8"), sent, seconds))
    head = f"lab code: {where.get('mailflow_lab', '?')}; profiled {time.strftime('%Y-%m-%d %H:%M')}"
    if args.label:
        head = f"{args.label}\n{head}"
    text = head + f"; load average {os.getloadavg()[0]:.2f}\n\n" + "\n\n".join(sections) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
