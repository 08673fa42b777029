"""MessageTrace: Get-MessageTrace rows and events, filtered, kept as JSON Lines, replayed after a crash."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailflow_lab.store.trace import MessageTrace, TraceEvent, TraceRecord, format_table, new_trace_id

T0 = datetime(2025, 3, 10, 9, 14, 2, tzinfo=UTC)


def event(kind: str, minutes: int = 0, detail: str = "", rule: str = "test") -> TraceEvent:
    return TraceEvent(T0 + timedelta(minutes=minutes), kind, kind.title(), detail, rule)


def record(
    *,
    minutes: int = 0,
    sender: str = "scanner@contoso.com",
    recipient: str = "alex@contoso.com",
    status: str = "Delivered",
    subject: str = "Scan",
    trace_id: str | None = None,
) -> TraceRecord:
    return TraceRecord(
        received=T0 + timedelta(minutes=minutes),
        sender_address=sender,
        recipient_address=recipient,
        subject=subject,
        status=status,
        from_ip="203.0.113.10",
        to_ip="",
        size=1234,
        message_id=f"<{uuid.uuid4()}@contoso.com>",
        message_trace_id=trace_id or new_trace_id(),
        events=[event("RECEIVE", minutes, "Message received by: CO1PR00MB0001.outlook.com", "receive")],
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_new_trace_id_is_a_uuid4() -> None:
    value = new_trace_id()
    assert str(uuid.UUID(value)) == value
    assert uuid.UUID(value).version == 4
    assert new_trace_id() != value


def test_add_get_and_newest_first(tmp_path: Path) -> None:
    trace = MessageTrace(tmp_path / "trace.jsonl")
    older = trace.add(record(minutes=0, subject="first"))
    newer = trace.add(record(minutes=5, subject="second"))
    same_time = trace.add(record(minutes=5, subject="third"))
    assert [r.subject for r in trace.records()] == ["third", "second", "first"]
    assert trace.get(older.message_trace_id, "ALEX@contoso.com") == older
    assert trace.get(newer.message_trace_id, "bob@contoso.com") is None
    assert trace.get(new_trace_id(), "alex@contoso.com") is None
    assert len(trace) == 3
    assert same_time in trace.records()


def test_one_message_to_two_recipients_is_two_rows(tmp_path: Path) -> None:
    trace = MessageTrace(tmp_path / "trace.jsonl")
    trace_id = new_trace_id()
    trace.add(record(trace_id=trace_id, recipient="alex@contoso.com"))
    trace.add(record(trace_id=trace_id, recipient="helpdesk@contoso.com", status="FilteredAsSpam"))
    assert trace.get(trace_id, "helpdesk@contoso.com").status == "FilteredAsSpam"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="exists already"):
        trace.add(record(trace_id=trace_id, recipient="Alex@Contoso.com"))
    assert len(lines(tmp_path / "trace.jsonl")) == 2  # the refused add wrote nothing


def test_filters(tmp_path: Path) -> None:
    trace = MessageTrace(tmp_path / "trace.jsonl")
    trace.add(record(minutes=0, sender="Scanner@Contoso.com", subject="a"))
    trace.add(record(minutes=10, recipient="Helpdesk@Contoso.com", status="Quarantined", subject="b"))
    trace.add(record(minutes=20, sender="app@contoso.com", status="Failed", subject="c"))
    trace.add(record(minutes=30, status="Pending", subject="d"))

    def subjects(**filters: object) -> list[str]:
        return [r.subject for r in trace.records(**filters)]  # type: ignore[arg-type]

    assert subjects(sender="scanner@CONTOSO.com") == ["d", "b", "a"]
    assert subjects(recipient="helpdesk@contoso.COM") == ["b"]
    assert subjects(status="Failed") == ["c"]
    assert subjects(status="Delivered") == ["a"]
    assert subjects(start=T0 + timedelta(minutes=10)) == ["d", "c", "b"]
    assert subjects(end=T0 + timedelta(minutes=10)) == ["b", "a"]  # both ends inclusive
    assert subjects(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=25)) == ["c", "b"]
    assert subjects(sender="app@contoso.com", status="Pending") == []
    with pytest.raises(ValueError, match="timezone-aware"):
        trace.records(start=datetime(2025, 3, 10))


def test_pending_then_delivered_when_released(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    held = record(status="Pending")
    held.events.append(
        event("DEFER", 0, "The message was deferred until the lab clock reaches 10:00.", "defer")
    )
    trace.add(held)
    assert [r.subject for r in trace.records(status="Pending")] == ["Scan"]

    released = trace.update(
        held.message_trace_id,
        "Alex@Contoso.com",
        status="Delivered",
        event=event("DELIVER", 46, "The message was successfully delivered.", "release"),
    )
    assert released.status == "Delivered"
    assert [e.event for e in released.events] == ["RECEIVE", "DEFER", "DELIVER"]
    assert trace.records(status="Pending") == []
    assert trace.get(held.message_trace_id, "alex@contoso.com") == released

    replayed = MessageTrace.load(path)
    assert replayed.get(held.message_trace_id, "alex@contoso.com") == released
    assert [json.loads(line)["op"] for line in lines(path)] == ["add", "update"]


def test_update_only_an_event_or_only_a_status(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    added = trace.add(record(status="GettingStatus"))
    trace.update(
        added.message_trace_id, added.recipient_address, event=event("SPAM", 1, "Spam confidence level: 5")
    )
    after = trace.update(added.message_trace_id, added.recipient_address, status="FilteredAsSpam")
    assert after.status == "FilteredAsSpam"
    assert [e.event for e in after.events] == ["RECEIVE", "SPAM"]
    unchanged = trace.update(added.message_trace_id, added.recipient_address)
    assert unchanged == after
    assert len(lines(path)) == 3  # add + two updates; the empty update wrote nothing


def test_batched_writes_each_change_at_once_and_syncs_once_at_the_end(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    trace.add(record(subject="before"))  # makes the file (and syncs its directory)
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with trace.batched():
        added = trace.add(record(status="GettingStatus"))
        with trace.batched():  # nested: the outermost block syncs
            trace.update(added.message_trace_id, added.recipient_address, event=event("SPAM", 1, "SCL 5"))
        trace.update(added.message_trace_id, added.recipient_address, status="FilteredAsSpam")
        assert len(lines(path)) == 4  # written at once, in order
        assert synced == []
    assert synced == [path.stat().st_ino]
    trace.update(added.message_trace_id, added.recipient_address, event=event("DELIVER", 2))
    assert len(synced) == 2  # outside a block: one sync per change again
    assert MessageTrace.load(path).get(added.message_trace_id, "alex@contoso.com") == trace.get(
        added.message_trace_id, "alex@contoso.com"
    )


def test_bad_updates_are_refused_and_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    added = trace.add(record())
    with pytest.raises(KeyError):
        trace.update(new_trace_id(), "alex@contoso.com", status="Delivered")
    with pytest.raises(ValueError, match="unknown trace status"):
        trace.update(added.message_trace_id, "alex@contoso.com", status="Bounced")
    assert len(lines(path)) == 1


def test_records_handed_out_are_copies(tmp_path: Path) -> None:
    trace = MessageTrace(tmp_path / "trace.jsonl")
    original = record()
    added = trace.add(original)
    original.events.append(event("FAIL"))
    added.events.append(event("FAIL"))
    trace.records()[0].events.clear()
    assert [e.event for e in trace.records()[0].events] == ["RECEIVE"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: event("BOUNCE"), "unknown trace event"),
        (lambda: record(status="Sent"), "unknown trace status"),
        (lambda: TraceEvent(datetime(2025, 3, 10), "SEND", "", "", ""), "timezone-aware"),
    ],
)
def test_unknown_events_statuses_and_naive_dates_are_refused(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_to_dict_uses_exchange_names_and_iso_dates(tmp_path: Path) -> None:
    row = record()
    data = row.to_dict()
    assert list(data) == [
        "Received",
        "SenderAddress",
        "RecipientAddress",
        "Subject",
        "Status",
        "ToIP",
        "FromIP",
        "Size",
        "MessageId",
        "MessageTraceId",
        "Events",
        "SessionId",  # the lab's addition: the SMTP session's id, as its replies show it
    ]
    assert data["Received"] == "2025-03-10T09:14:02+00:00"
    assert data["Events"][0] == {
        "Date": "2025-03-10T09:14:02+00:00",
        "Event": "RECEIVE",
        "Action": "Receive",
        "Detail": "Message received by: CO1PR00MB0001.outlook.com",
        "Rule": "receive",
    }
    assert TraceRecord.from_dict(json.loads(json.dumps(data))) == row


def test_load_replays_another_process_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "trace.jsonl"
    trace = MessageTrace(path)
    rows = [trace.add(record(minutes=n, subject=f"s{n}")) for n in range(5)]
    trace.update(rows[2].message_trace_id, "alex@contoso.com", status="Failed", event=event("FAIL", 3))
    loaded = MessageTrace.load(path)
    assert loaded.records() == trace.records()
    assert [r.to_dict() for r in loaded.records()] == [r.to_dict() for r in trace.records()]


def test_load_of_a_missing_trace_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        MessageTrace.load(tmp_path / "nothing.jsonl")
    assert not (tmp_path / "nothing.jsonl").exists()


def test_a_truncated_last_line_is_skipped_then_cut_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    kept = trace.add(record(subject="kept"))
    complete = path.read_bytes()
    half_line = json.dumps({"op": "add", "record": record(subject="lost").to_dict()})[:70]
    with path.open("a") as handle:  # a crash in the middle of writing the next line
        handle.write(half_line)

    loaded = MessageTrace.load(path)  # a reader skips it and changes nothing
    assert [r.subject for r in loaded.records()] == ["kept"]
    assert path.read_bytes() == complete + half_line.encode()

    writer = MessageTrace(path)  # the lab restarting on its state drops the partial line and carries on
    assert path.read_bytes() == complete
    writer.add(record(minutes=1, subject="after"))
    writer.update(kept.message_trace_id, "alex@contoso.com", event=event("DELIVER", 2))
    assert [r.subject for r in MessageTrace.load(path).records()] == ["after", "kept"]
    assert len(lines(path)) == 3


def test_a_corrupt_line_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    trace.add(record())
    with path.open("a") as handle:
        handle.write("{not json\n")
    trace.add(record())
    with pytest.raises(ValueError, match=r"trace\.jsonl: line 2"):
        MessageTrace.load(path)


def test_concurrent_adds_and_updates_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = MessageTrace(path)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(20):
                row = trace.add(record(status="Pending", subject=f"w{worker}-{n}"))
                trace.update(
                    row.message_trace_id, row.recipient_address, status="Delivered", event=event("DELIVER")
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for view in (trace, MessageTrace.load(path)):
        rows = view.records()
        assert len(rows) == 160
        assert {r.status for r in rows} == {"Delivered"}
        assert all([e.event for e in r.events] == ["RECEIVE", "DELIVER"] for r in rows)
    assert len(lines(path)) == 320


def test_format_table_looks_like_powershell() -> None:
    rows = [
        record(minutes=0, subject="Scan to email"),
        record(minutes=5 * 60, sender="app@contoso.com", status="FilteredAsSpam", subject="x" * 80),
    ]
    text = format_table(rows)
    header, dashes, first, second = text.splitlines()
    assert header.split() == ["Received", "SenderAddress", "RecipientAddress", "Subject", "Status"]
    assert dashes.split() == ["--------", "-------------", "----------------", "-------", "------"]
    assert first.startswith("3/10/2025 9:14:02 AM scanner@contoso.com alex@contoso.com Scan to email ")
    assert first.endswith("Delivered")
    assert second.startswith("3/10/2025 2:14:02 PM app@contoso.com     alex@contoso.com")
    assert "x" * 45 + "..." in second and "x" * 49 not in second
    assert header.index("Status") == first.index("Delivered") == second.index("FilteredAsSpam")
    assert all(line == line.rstrip() for line in text.splitlines())
    assert format_table([]) == ""
