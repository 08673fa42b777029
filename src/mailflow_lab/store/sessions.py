"""sessions.jsonl in a state folder: each SMTP session's record appended as it closes, read by any process."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..policy.observed import SessionRecord

SESSIONS_FILE = "sessions.jsonl"


class SessionLog:
    """sessions.jsonl in a state folder: appended one whole line per write, read by any process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: SessionRecord) -> None:
        line = (json.dumps(record.to_dict(), separators=(",", ":")) + "\n").encode("utf-8")
        # One write(2) on an O_APPEND descriptor: a reader never sees half a line from a finished write.
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def records(self) -> list[SessionRecord]:
        return load_sessions(self.path)

    def read(self) -> SessionsRead:
        return read_sessions(self.path)


@dataclass(frozen=True)
class SessionsRead:
    """The records of a sessions.jsonl, and how many of its lines could not be read (and were skipped)."""

    records: list[SessionRecord]
    skipped: int = 0


def read_sessions(path: Path | str) -> SessionsRead:
    """Every record in a sessions.jsonl (or a state folder holding one), skipping lines that are no record.

    The file is read as bytes and each line decoded on its own, so damage (bytes that are no UTF-8, a line
    cut short by a crash, a field of the wrong kind) costs that line only; `skipped` says how many.
    """
    path = Path(path)
    if path.is_dir():
        path = path / SESSIONS_FILE
    if not path.exists():
        return SessionsRead([])
    records = []
    skipped = 0
    for raw in path.read_bytes().split(b"\n"):
        if not raw.strip():
            continue
        try:
            records.append(SessionRecord.from_dict(json.loads(raw.decode("utf-8", "replace"))))
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to parse
            skipped += 1
    return SessionsRead(records, skipped)


def load_sessions(path: Path | str) -> list[SessionRecord]:
    """Every readable record in a sessions.jsonl (or a state folder holding one); see read_sessions."""
    return read_sessions(path).records
