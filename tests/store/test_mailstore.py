"""MailStore: Maildir mailboxes that are on disk before 250, in delivery order, and never escape the root."""

from __future__ import annotations

import itertools
import mailbox
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailflow_lab.store.mailstore import INBOX, JUNK, SENT, MailStore

ALEX = "alex@contoso.com"


def message(subject: str, *, newline: bytes = b"\r\n") -> bytes:
    lines = [b"From: scanner@contoso.com", b"To: " + ALEX.encode(), b"Subject: " + subject.encode(), b""]
    return newline.join([*lines, b"Scanned document attached.", b""])


def test_deliver_writes_into_new_and_leaves_nothing_in_tmp(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    key = store.deliver(ALEX, INBOX, message("Scan 1"))
    folder = tmp_path / "mailboxes" / ALEX / INBOX
    assert (folder / "new" / key).read_bytes() == message("Scan 1")
    assert list((folder / "tmp").iterdir()) == []
    [received] = store.folder(ALEX, INBOX)
    assert received["Subject"] == "Scan 1"
    assert received.get_content().strip() == "Scanned document attached."


def test_deliver_fsyncs_the_message_and_the_new_directory(tmp_path: Path, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = MailStore(tmp_path)
    key = store.deliver(ALEX, INBOX, message("Scan 1"))
    new = tmp_path / "mailboxes" / ALEX / INBOX / "new"
    assert (new / key).stat().st_ino in synced
    assert new.stat().st_ino in synced
    # The folder was created by this delivery: its parents' entries were synced too.
    assert (tmp_path / "mailboxes" / ALEX).stat().st_ino in synced
    assert (tmp_path / "mailboxes").stat().st_ino in synced


def test_addresses_are_lower_cased(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    store.deliver("Alex@Contoso.COM", INBOX, message("Hello"))
    assert (tmp_path / "mailboxes" / ALEX / INBOX).is_dir()
    assert store.count("ALEX@contoso.com", INBOX) == 1
    assert [m["Subject"] for m in store.folder(ALEX, INBOX)] == ["Hello"]


def test_folders_and_counts(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    assert store.folders(ALEX) == []
    assert store.count(ALEX, INBOX) == 0
    assert store.folder(ALEX, INBOX) == []
    assert not (tmp_path / "mailboxes").exists()  # reading never creates anything
    store.deliver(ALEX, "Archive", message("a"))
    store.deliver(ALEX, SENT, message("b"))
    store.deliver(ALEX, JUNK, message("c"))
    store.deliver(ALEX, JUNK, message("d"))
    store.deliver(ALEX, INBOX, message("e"))
    assert store.folders(ALEX) == [INBOX, JUNK, SENT, "Archive"]
    assert [store.count(ALEX, name) for name in store.folders(ALEX)] == [1, 2, 1, 1]


def test_delivery_order_survives_many_messages_and_a_new_store(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    subjects = [f"Scan {n}" for n in range(30)]
    for subject in subjects:
        store.deliver(ALEX, INBOX, message(subject))
    assert [m["Subject"] for m in store.folder(ALEX, INBOX)] == subjects
    assert [m["Subject"] for m in MailStore(tmp_path).folder(ALEX, INBOX)] == subjects


def test_order_within_one_second_follows_delivery_even_if_the_clock_steps_back(
    tmp_path: Path, monkeypatch
) -> None:
    # Every key falls in the same second, with sub-second stamps going backwards.
    stamps = itertools.count(0)
    monkeypatch.setattr(mailbox, "time", SimpleNamespace(time=lambda: 1_700_000_000.9 - next(stamps) / 1000))
    store = MailStore(tmp_path)
    subjects = [f"Scan {n}" for n in range(10)]
    for subject in subjects:
        store.deliver(ALEX, INBOX, message(subject))
    monkeypatch.undo()
    assert [m["Subject"] for m in store.folder(ALEX, INBOX)] == subjects


def test_a_file_dropped_in_by_another_tool_is_ordered_by_its_mtime(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    store.deliver(ALEX, INBOX, message("Ours"))
    foreign = tmp_path / "mailboxes" / ALEX / INBOX / "new" / "foreign-message"
    foreign.write_bytes(message("Theirs"))
    os.utime(foreign, (1_000_000_000, 1_000_000_000))  # 2001: older than anything we delivered
    assert [m["Subject"] for m in store.folder(ALEX, INBOX)] == ["Theirs", "Ours"]


def test_concurrent_deliveries_into_one_folder_lose_nothing(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    errors: list[BaseException] = []

    def deliver_many(worker: int) -> None:
        try:
            for n in range(25):
                store.deliver(ALEX, INBOX, message(f"w{worker}-{n}"))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=deliver_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    subjects = [m["Subject"] for m in store.folder(ALEX, INBOX)]
    assert sorted(subjects) == sorted(f"w{w}-{n}" for w in range(8) for n in range(25))
    for w in range(8):  # each sender's own messages stay in the order it sent them
        assert [s for s in subjects if s.startswith(f"w{w}-")] == [f"w{w}-{n}" for n in range(25)]
    assert store.count(ALEX, INBOX) == 200
    assert list((tmp_path / "mailboxes" / ALEX / INBOX / "tmp").iterdir()) == []


def test_concurrent_first_use_of_many_mailboxes(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    addresses = [f"user{n}@contoso.com" for n in range(10)]
    threads = [
        threading.Thread(target=store.deliver, args=(address, folder, message(folder)))
        for address in addresses
        for folder in (INBOX, JUNK)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for address in addresses:
        assert store.folders(address) == [INBOX, JUNK]
        assert [m["Subject"] for m in store.folder(address, JUNK)] == [JUNK]


@pytest.mark.parametrize(
    "address",
    [
        "../evil@contoso.com",
        "..",
        "a/b@contoso.com",
        "/etc",
        ".hidden@contoso.com",
        "a\\b",
        "",
        "x\n@y",
        "a..b",
    ],
)
def test_hostile_addresses_cannot_leave_the_root(tmp_path: Path, address: str) -> None:
    root = tmp_path / "store"
    store = MailStore(root)
    with pytest.raises(ValueError):
        store.deliver(address, INBOX, message("escape"))
    with pytest.raises(ValueError):
        store.folder(address, INBOX)
    assert [p.name for p in tmp_path.iterdir()] in ([], ["store"])
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("folder", ["../Inbox", "Inbox/../../x", ".", "..", ".Junk", ""])
def test_hostile_folder_names_are_refused(tmp_path: Path, folder: str) -> None:
    store = MailStore(tmp_path / "store")
    with pytest.raises(ValueError):
        store.deliver(ALEX, folder, message("escape"))
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_symlink_planted_in_the_store_is_not_followed_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "store" / "mailboxes").mkdir(parents=True)
    (tmp_path / "store" / "mailboxes" / "evil@contoso.com").symlink_to(outside)
    store = MailStore(tmp_path / "store")
    with pytest.raises(ValueError, match="outside"):
        store.deliver("evil@contoso.com", INBOX, message("escape"))
    assert list(outside.iterdir()) == []


def test_a_message_must_be_bytes(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        MailStore(tmp_path).deliver(ALEX, INBOX, "Subject: text\n\nbody\n")  # type: ignore[arg-type]


def test_quarantine_stamps_recipient_and_reason(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    assert store.quarantined() == []
    key = store.quarantine(
        message("Spoofed"), "Alex@Contoso.com", "DMARC p=quarantine (compauth=fail reason=010)"
    )
    raw = (tmp_path / "quarantine" / "new" / key).read_bytes()
    assert raw.startswith(b"X-MailflowLab-Quarantine-Recipient: alex@contoso.com\r\n")
    assert raw.endswith(message("Spoofed"))
    [held] = store.quarantined()
    assert held["X-MailflowLab-Quarantine-Recipient"] == ALEX
    assert held["X-MailflowLab-Quarantine-Reason"] == "DMARC p=quarantine (compauth=fail reason=010)"
    assert held["Subject"] == "Spoofed"
    assert store.folders(ALEX) == []  # quarantined mail is in no mailbox


def test_quarantine_keeps_bare_newlines_and_refuses_header_injection(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    store.quarantine(message("One", newline=b"\n"), ALEX, "first")
    key = store.quarantine(message("Two", newline=b"\n"), ALEX, "spoof\r\nBcc: mallory@fabrikam.com")
    raw = (tmp_path / "quarantine" / "new" / key).read_bytes()
    assert b"\r" not in raw
    first, second = store.quarantined()
    assert (first["Subject"], second["Subject"]) == ("One", "Two")
    assert second["Bcc"] is None
    assert second["X-MailflowLab-Quarantine-Reason"] == "spoof Bcc: mallory@fabrikam.com"


def test_a_half_made_or_removed_folder_is_made_whole_again(tmp_path: Path) -> None:
    store = MailStore(tmp_path)
    half = tmp_path / "mailboxes" / ALEX / INBOX
    half.mkdir(parents=True)  # a crash after mkdir of the folder, before its tmp/ new/ cur/
    store.deliver(ALEX, INBOX, message("one"))
    for sub in ("tmp", "new", "cur"):
        assert (half / sub).is_dir()
    for sub in ("new", "cur", "tmp"):  # a learner empties the mailbox by hand
        for file in (half / sub).iterdir():
            file.unlink()
        (half / sub).rmdir()
    half.rmdir()
    store.deliver(ALEX, INBOX, message("two"))
    assert [m["Subject"] for m in store.folder(ALEX, INBOX)] == ["two"]
