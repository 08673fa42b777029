"""Labs whose process died (a killed kernel): their temporary state folders are found and removed."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "mailflow-lab-"
OWNER_FILE = "owner.pid"


def make_owned_state_dir() -> Path:
    """A fresh temporary state folder that records the process owning it."""
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    (path / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return path


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove temporary lab folders whose owning process no longer exists; returns what was removed."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = path / OWNER_FILE
        try:
            pid = int(owner.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue  # not a folder a lab made for itself (or not finished): leave it alone
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
