"""The message trace, as Exchange Online's Get-MessageTrace / Get-MessageTraceV2, kept as JSON Lines."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .groupsync import GroupSync, fsync_dir, fsync_file

# Detail events and delivery statuses as Get-MessageTraceDetail / Get-MessageTrace report them
# (MicrosoftDocs office-docs-powershell: Get-MessageTrace, Get-MessageTraceV2).
EVENTS = frozenset({"RECEIVE", "SUBMIT", "SEND", "DELIVER", "FAIL", "DEFER", "EXPAND", "TRANSFER", "SPAM"})
STATUSES = frozenset(
    {"Delivered", "Failed", "Pending", "Expanded", "Quarantined", "FilteredAsSpam", "GettingStatus"}
)

TABLE_COLUMNS = ("Received", "SenderAddress", "RecipientAddress", "Subject", "Status")
_MAX_CELL = 48  # Format-Table cuts long cells; the lab keeps a row on one readable line


def new_trace_id() -> str:
    """A fresh MessageTraceId: a UUID4 string, as Exchange uses."""
    return str(uuid.uuid4())


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _date(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text), "a trace date")


@dataclass(frozen=True)
class TraceEvent:
    """One line of Get-MessageTraceDetail, plus the lab rule that decided it."""

    date: datetime
    event: str
    action: str
    detail: str
    rule: str

    def __post_init__(self) -> None:
        _aware(self.date, "TraceEvent.date")
        if self.event not in EVENTS:
            raise ValueError(f"unknown trace event {self.event!r}; expected one of {sorted(EVENTS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "Date": self.date.isoformat(),
            "Event": self.event,
            "Action": self.action,
            "Detail": self.detail,
            "Rule": self.rule,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceEvent:
        return cls(
            date=_date(data["Date"]),
            event=data["Event"],
            action=data["Action"],
            detail=data["Detail"],
            rule=data["Rule"],
        )


@dataclass
class TraceRecord:
    """One row of Get-MessageTrace: one message to one recipient, with its detail events."""

    received: datetime
    sender_address: str
    recipient_address: str
    subject: str
    status: str
    from_ip: str
    to_ip: str
    size: int
    message_id: str
    message_trace_id: str
    events: list[TraceEvent] = field(default_factory=list)
    # The SMTP session's id (the one at the end of its replies), so a reply can be matched to its trace row.
    session_id: str = ""

    def __post_init__(self) -> None:
        _aware(self.received, "TraceRecord.received")
        if self.status not in STATUSES:
            raise ValueError(f"unknown trace status {self.status!r}; expected one of {sorted(STATUSES)}")

    def to_dict(self) -> dict[str, Any]:
        """The record with Exchange's property names and ISO 8601 dates, ready for ``json.dumps``."""
        return {
            "Received": self.received.isoformat(),
            "SenderAddress": self.sender_address,
            "RecipientAddress": self.recipient_address,
            "Subject": self.subject,
            "Status": self.status,
            "ToIP": self.to_ip,
            "FromIP": self.from_ip,
            "Size": self.size,
            "MessageId": self.message_id,
            "MessageTraceId": self.message_trace_id,
            "Events": [event.to_dict() for event in self.events],
            "SessionId": self.session_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceRecord:
        return cls(
            received=_date(data["Received"]),
            sender_address=data["SenderAddress"],
            recipient_address=data["RecipientAddress"],
            subject=data["Subject"],
            status=data["Status"],
            from_ip=data["FromIP"],
            to_ip=data["ToIP"],
            size=int(data["Size"]),
            message_id=data["MessageId"],
            message_trace_id=data["MessageTraceId"],
            events=[TraceEvent.from_dict(event) for event in data.get("Events", [])],
            session_id=str(data.get("SessionId", "")),
        )

    def copy(self) -> TraceRecord:
        """A snapshot whose event list is its own."""
        return replace(self, events=list(self.events))


def _key(message_trace_id: str, recipient: str) -> tuple[str, str]:
    return (message_trace_id, recipient.lower())


class MessageTrace:
    """The lab's message trace: kept in memory, every change appended to ``path`` as one fsync'd JSON line
    (within :meth:`batched`, a thread's lines are fsync'd together at the end of the block).

    Constructing it on an existing file replays that file and carries on appending; a partial last line
    left by a crash is dropped first. Thread-safe; readers get copies.
    """

    def __init__(self, path: Path) -> None:
        self._setup(path)
        if self.path.exists():
            complete = self._replay(self.path.read_bytes())
            if complete != self.path.stat().st_size:
                os.truncate(self.path, complete)  # a crash cut the last line: that change never happened

    def _setup(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._batch = threading.local()  # depth of batched() blocks in this thread, and a sync owed
        self._group = GroupSync(lambda: fsync_file(self.path))
        self._records: dict[tuple[str, str], TraceRecord] = {}
        self._order: dict[tuple[str, str], int] = {}

    @classmethod
    def load(cls, path: Path) -> MessageTrace:
        """Read another process's trace without writing to its file (a partial last line is skipped).

        FileNotFoundError if there is no trace at ``path``.
        """
        trace = cls.__new__(cls)
        trace._setup(path)
        trace._replay(trace.path.read_bytes())
        return trace

    # -- persistence ---------------------------------------------------------------------------

    def _replay(self, data: bytes) -> int:
        """Apply every complete line; returns how many bytes were complete."""
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, or a line a crash (or a writer) cut short
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                self._apply(entry)
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.path}: line {number}: not a trace entry: {exc}") from exc
        return len(data) - len(tail)

    def _apply(self, entry: dict[str, Any]) -> None:
        op = entry["op"]
        if op == "add":
            record = TraceRecord.from_dict(entry["record"])
            key = _key(record.message_trace_id, record.recipient_address)
            if key in self._records:
                raise ValueError(f"trace {key[0]} to {key[1]} was added twice")
            self._insert(key, record)
        elif op == "update":
            key = _key(entry["id"], entry["recipient"])
            if key not in self._records:
                raise KeyError(f"no trace {key[0]} to {key[1]}")
            event = TraceEvent.from_dict(entry["event"]) if entry.get("event") is not None else None
            status = entry.get("status")
            if status is not None and status not in STATUSES:
                raise ValueError(f"unknown trace status {status!r}")
            self._change(key, status, event, entry.get("to_ip"))
        else:
            raise ValueError(f"unknown trace operation {op!r}")

    def _insert(self, key: tuple[str, str], record: TraceRecord) -> None:
        self._records[key] = record
        self._order[key] = len(self._order)

    def _change(
        self, key: tuple[str, str], status: str | None, event: TraceEvent | None, to_ip: str | None = None
    ) -> TraceRecord:
        record = self._records[key]
        if to_ip is not None:
            record.to_ip = to_ip
        if event is not None:
            record.events.append(event)
        if status is not None:
            record.status = status
        return record

    def _append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode("ascii")
        new_file = not self.path.exists()
        if new_file:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # one write, so a reader sees the whole line or no newline at all
            if getattr(self._batch, "depth", 0):
                self._batch.owed = True  # batched(): synced once, when the outermost block ends
            else:
                os.fsync(fd)
        finally:
            os.close(fd)
        if new_file:
            fsync_dir(self.path.parent)

    def _sync(self) -> None:
        # Group commit: threads ending their batched() blocks at once share one fsync of the file.
        self._group.sync()

    # -- the API -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Sync this thread's changes once, when the block ends, instead of once per change.

        Each change is still written at once and in order, so readers and a replay see the same
        sequence; only the fsync waits. For the several changes one message makes (received, filed,
        delivered) before SMTP acknowledges it: use it where nothing is acknowledged inside the block.
        """
        depth = getattr(self._batch, "depth", 0)
        self._batch.depth = depth + 1
        try:
            yield
        finally:
            self._batch.depth = depth
            if depth == 0 and getattr(self._batch, "owed", False):
                self._batch.owed = False
                self._sync()

    def add(self, record: TraceRecord) -> TraceRecord:
        """Record a message to one recipient; ValueError if that (trace id, recipient) exists already."""
        entry = {"op": "add", "record": record.to_dict()}
        stored = TraceRecord.from_dict(entry["record"])  # validated again, and the trace's own copy
        key = _key(stored.message_trace_id, stored.recipient_address)
        with self._lock:
            if key in self._records:
                raise ValueError(f"trace {key[0]} to {key[1]} exists already; use update()")
            self._append(entry)  # on disk first: memory never holds what a restart would not
            self._insert(key, stored)
            return stored.copy()

    def update(
        self,
        message_trace_id: str,
        recipient: str,
        *,
        status: str | None = None,
        event: TraceEvent | None = None,
        to_ip: str | None = None,
    ) -> TraceRecord:
        """Append a detail event and/or change the status (Pending -> Delivered on release, say).

        `to_ip` records the address a message was handed to when it is relayed out.

        KeyError if there is no such record; ValueError for an unknown status.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown trace status {status!r}; expected one of {sorted(STATUSES)}")
        with self._lock:
            key = _key(message_trace_id, recipient)
            if key not in self._records:
                raise KeyError(f"no trace {message_trace_id} to {recipient}")
            if status is None and event is None and to_ip is None:
                return self._records[key].copy()
            entry = {
                "op": "update",
                "id": message_trace_id,
                "recipient": recipient,
                "status": status,
                "event": event.to_dict() if event is not None else None,
            }
            if to_ip is not None:
                entry["to_ip"] = to_ip
            self._append(entry)
            return self._change(key, status, event, to_ip).copy()

    def get(self, message_trace_id: str, recipient: str) -> TraceRecord | None:
        """The record for one message to one recipient, or None."""
        with self._lock:
            record = self._records.get(_key(message_trace_id, recipient))
            return record.copy() if record is not None else None

    def records(
        self,
        *,
        sender: str | None = None,
        recipient: str | None = None,
        status: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TraceRecord]:
        """Matching records, newest first like Get-MessageTrace; ``start <= received <= end``."""
        if start is not None:
            _aware(start, "start")
        if end is not None:
            _aware(end, "end")
        with self._lock:
            rows = sorted(
                self._records.items(), key=lambda item: (item[1].received, self._order[item[0]]), reverse=True
            )
            return [
                record.copy()
                for _, record in rows
                if (sender is None or record.sender_address.lower() == sender.lower())
                and (recipient is None or record.recipient_address.lower() == recipient.lower())
                and (status is None or record.status == status)
                and (start is None or record.received >= start)
                and (end is None or record.received <= end)
            ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __repr__(self) -> str:
        return f"<MessageTrace {str(self.path)!r}: {len(self)} records>"


def _cell(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _MAX_CELL else value[: _MAX_CELL - 3] + "..."


def format_received(value: datetime) -> str:
    """A date as PowerShell shows it in en-US, in UTC: ``1/5/2025 9:14:02 AM``."""
    value = value.astimezone(UTC)
    hour = value.hour % 12 or 12
    half = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02}:{value.second:02} {half}"


def format_table(records: Iterable[TraceRecord]) -> str:
    """Records as ``Get-MessageTrace | Format-Table`` prints them (an empty string for none)."""
    rows = [
        [
            format_received(r.received),
            _cell(r.sender_address),
            _cell(r.recipient_address),
            _cell(r.subject),
            r.status,
        ]
        for r in records
    ]
    if not rows:
        return ""
    table = [list(TABLE_COLUMNS), ["-" * len(name) for name in TABLE_COLUMNS], *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(TABLE_COLUMNS))]
    lines = [
        " ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    return "\n".join(lines)
