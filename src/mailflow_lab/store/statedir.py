"""A lab's state folder: what it holds (world, tenant, mailboxes, trace), read back, and orphans removed."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..auth.oauth import TokenIssuer
from ..labdns.worlddns import load_world_dns
from ..world.clock import LabClock
from ..world.datafile import LabDataError
from ..world.loader import load_world
from ..world.model import Tenant
from ..world.state import TENANT_FILE, load_tenant, tenant_mtime
from .mailstore import MailStore
from .runtime import LabRuntime
from .trace import MessageTrace

PREFIX = "mailflow-lab-"
OWNER_FILE = "owner.pid"
# Held (flock, exclusive) by the lab that owns the folder for as long as it runs: a PID alone can be
# another PID namespace's (a container sharing /tmp), where os.kill cannot see the owner.
LOCK_FILE = "owner.lock"
LAB_FILE = "lab.json"
TRACE_FILE = "trace.jsonl"


_HELD: dict[Path, int] = {}  # this process's owned folders and their locked descriptors


def make_owned_state_dir() -> Path:
    """A fresh temporary state folder that records the process owning it and holds its lock file."""
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh folder: nobody else can hold it
    _HELD[path] = fd
    (path / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return path


def release_state_dir(path: Path) -> None:
    """Let go of an owned folder's lock (the lab stopped); a folder this process does not hold: nothing."""
    fd = _HELD.pop(Path(path), None)
    if fd is not None:
        os.close(fd)


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove temporary lab folders whose owner is gone: its recorded PID is no live process here and
    nobody holds its lock file (a lab in another PID namespace sharing /tmp would); returns the removed."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = path / OWNER_FILE
        try:
            pid = int(owner.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue  # not a folder a lab made for itself (or not finished): leave it alone
        if pid == os.getpid() or _alive(pid) or path in _HELD:
            continue
        fd = _take_lock(path)
        if fd is None:
            continue  # a live lab holds it
        try:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(path)
    return removed


def _take_lock(path: Path) -> int | None:
    """The folder's lock file locked without waiting (made if missing); None when another process holds it."""
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None  # not a lock we can take (a symlink, no permission): leave the folder alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held
        os.close(fd)
        return None
    return fd


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def open_state(state: Path, world: str | Path | None = None, *, write: bool = False) -> LabRuntime:
    """A lab's shared state from its folder: the world it was started with, its tenant, store and trace.

    With `write`, the folder is made and the lab's world and tenant are recorded in it; without, it is
    read as another process (`mailflow-lab ps`, `trace`) sees it.
    """
    meta = state / LAB_FILE
    if world is None:
        if not meta.exists():
            raise FileNotFoundError(f"{state} holds no lab (start one with --state {state})")
        world = _lab_world(meta)
    loaded = load_world(world)
    saved = _saved_tenant(state)
    if saved is not None:
        loaded.tenant = saved
    clock = LabClock()
    secret = hashlib.sha256(f"mailflow-lab:{state.resolve()}".encode()).digest()
    if write:
        state.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"world": str(loaded.source)}), encoding="utf-8")
    trace_path = state / TRACE_FILE
    runtime = LabRuntime(
        world=loaded,
        dns=load_world_dns(loaded),
        store=MailStore(state),
        # A writer replays and continues the trace; a reader only loads it.
        trace=MessageTrace(trace_path) if write or not trace_path.exists() else saved_trace(trace_path),
        clock=clock,
        tokens=TokenIssuer(secret, clock.timestamp),
        state_dir=state,
    )
    if write and saved is None:
        runtime.save_tenant()
    runtime.tenant_seen = tenant_mtime(state)
    return runtime


def _lab_world(meta: Path) -> str:
    """The world a state folder's lab.json names; a damaged file is a LabDataError naming it."""
    try:
        data = json.loads(meta.read_bytes())
    except (ValueError, RecursionError) as exc:  # ValueError: not JSON, or not UTF-8
        raise LabDataError(
            meta, "", f"is damaged: not the JSON a lab writes ({type(exc).__name__})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("world"), str) or not data["world"]:
        raise LabDataError(meta, "world", "is damaged: expected the path of the lab's world file")
    return data["world"]


def _saved_tenant(state: Path) -> Tenant | None:
    """The tenant a lab saved in its state folder; a damaged tenant.json is a LabDataError naming it.

    The error names what is wrong but quotes nothing of the file: it holds the lab's passwords.
    """
    try:
        return load_tenant(state)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        why = f"is damaged: not the tenant a lab saves ({type(exc).__name__})"
        raise LabDataError(state / TENANT_FILE, "", why) from None


def saved_trace(path: Path) -> MessageTrace:
    """Another process's message trace, read only; a damaged line is a LabDataError naming the file."""
    try:
        return MessageTrace.load(path)
    except ValueError as exc:  # its message starts with the file's path
        raise LabDataError(path, "", str(exc).removeprefix(f"{path}: ")) from None
