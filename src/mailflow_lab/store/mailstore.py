"""Mailboxes and quarantine on disk as Maildirs, each message synced to disk before SMTP says 250."""

from __future__ import annotations

import contextlib
import glob
import itertools
import mailbox
import re
import shutil
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

from .groupsync import GroupSyncs, fsync_dir

INBOX = "Inbox"
JUNK = "Junk Email"
SENT = "Sent Items"
STANDARD_FOLDERS = (INBOX, JUNK, SENT)

QUARANTINE_RECIPIENT_HEADER = "X-MailflowLab-Quarantine-Recipient"
QUARANTINE_REASON_HEADER = "X-MailflowLab-Quarantine-Reason"

# Maildir key written by the standard library: "<seconds>.M<microseconds>P<pid>Q<count>.<host>".
_KEY_RE = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")
_ADD_ATTEMPTS = 5  # mailbox.ExternalClashError is transient: the next attempt gets a new name


def _path_part(kind: str, value: str) -> str:
    """Check one path component (an address or a folder name) so it can never leave the store's root."""
    if not value or "/" in value or "\\" in value or ".." in value or value.startswith("."):
        raise ValueError(
            f"{kind} {value!r} cannot be used as a mailbox path (no '/', '\\', '..' or leading '.')"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(f"{kind} {value!r} contains control characters")
    return value


def _header_value(value: str) -> bytes:
    """A header value on one line: CR/LF would let a value inject headers of its own."""
    return " ".join(value.split()).encode("utf-8")


def _mtime_ns(path: Path, key: str) -> int:
    """Modification time of the message file for ``key`` (in new/, or in cur/ with an info suffix)."""
    candidates = [path / "new" / key, *(path / "cur").glob(glob.escape(key) + "*")]
    for candidate in candidates:
        try:
            return candidate.stat().st_mtime_ns
        except FileNotFoundError:
            continue
    return 0


def _parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=default_policy).parsebytes(data))


class _Maildir(mailbox.Maildir):
    """The stdlib's Maildir, writing a bytes message as it is where lines already end as the platform's.

    The stdlib rewrites every line ending to os.linesep, on POSIX b"\n" -> b"\n": a whole copy of the
    message made holding the GIL (about a tenth of a second for 100 MB, during which no other session
    moved: issue 22). The bytes written are the same; other platforms and kinds of message keep the
    stdlib's path.
    """

    def _dump_message(self, message: Any, target: Any, mangle_from_: bool = False) -> None:
        if isinstance(message, bytes) and mailbox.linesep == b"\n" and not mangle_from_:
            target.write(message)
            return
        super()._dump_message(message, target, mangle_from_)


class MailStore:
    """The lab's mailboxes: ``<root>/mailboxes/<address>/<folder>`` and ``<root>/quarantine``, all Maildirs.

    Thread-safe. ``deliver`` returns only once the message file and its ``new/`` entry are on disk.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._resolved_root = self.root.resolve()  # the lab's own state folder: resolved once
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._sequence: dict[tuple[Path, str], int] = {}  # delivery order of keys written by this store
        self._ready: set[Path] = set()  # Maildirs known to exist, their directory entries synced
        self._journal = threading.local()  # per thread: what the transaction being written has written
        self._syncs = GroupSyncs()  # one shared sync per new/ folder (group commit)

    # -- paths ---------------------------------------------------------------------------------

    @staticmethod
    def normalise_address(address: str) -> str:
        """The address as the store files it: lower-cased, refused if it could escape the root."""
        return _path_part("address", address.strip().lower())

    def _mailbox_dir(self, address: str) -> Path:
        path = self.root / "mailboxes" / self.normalise_address(address)
        self._check_inside(path)
        return path

    def _folder_dir(self, address: str, folder: str) -> Path:
        # One check of the whole path: resolving it follows a symlink in the mailbox part as well.
        path = self.root / "mailboxes" / self.normalise_address(address) / _path_part("folder", folder)
        self._check_inside(path)
        return path

    def _check_inside(self, path: Path) -> None:
        # Belt and braces after _path_part: also refuses a symlink planted inside the store.
        root = self._resolved_root
        if not path.resolve().is_relative_to(root):
            raise ValueError(f"{path} is outside the mail store {root}")

    # -- writing -------------------------------------------------------------------------------

    def _open_for_write(self, path: Path) -> mailbox.Maildir:
        """The Maildir at ``path``, created on first use with every new directory entry synced."""
        if path not in self._ready or not (path / "new").is_dir():
            created = [p for p in (path, *path.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(path, factory=None, create=True)
            for sub in ("tmp", "new", "cur"):  # a crash between the mkdirs left a folder half made
                if not (path / sub).is_dir():
                    (path / sub).mkdir(mode=0o700)
                    created.append(path / sub)
            if created:
                for new_dir in {*created, path}:
                    fsync_dir(new_dir)
                fsync_dir(min(created, key=lambda p: len(p.parts)).parent)
            self._ready.add(path)
        return _Maildir(path, factory=None, create=False)

    def _add(self, path: Path, message: bytes) -> str:
        if not isinstance(message, bytes | bytearray):
            raise TypeError(f"a message is bytes, not {type(message).__name__}")
        with self._lock:
            maildir = self._open_for_write(path)
        # Written and synced outside the lock, so that deliveries running at once write their files side
        # by side and share the file system's journal commits; a clash of unique names (two threads in
        # the same microsecond) is retried with a new name.
        for attempt in range(_ADD_ATTEMPTS):
            try:
                key = maildir.add(bytes(message))  # tmp/ -> fsync -> link into new/
                break
            except mailbox.ExternalClashError:
                if attempt == _ADD_ATTEMPTS - 1:
                    raise
        with self._lock:
            self._sequence[(path, key)] = next(self._counter)
        written: list[tuple[Path, str]] | None = getattr(self._journal, "written", None)
        if written is not None:
            written.append((path, key))
        # The stdlib syncs the file (its data and inode) before linking it into new/; syncing new/
        # makes that link durable, so the message survives a crash once we return (and SMTP says 250).
        # The linked name is the same inode: syncing the file again would only cost time. Outside the
        # lock, and shared (group commit): deliveries linked into the same new/ while a sync of it runs
        # are covered together by the next one.
        self._syncs.sync(path / "new")
        return key

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[Path, str]]]:
        """Every message this thread writes inside the block, as (Maildir, key), so that discard() can take
        a transaction's files back when it fails half-way."""
        written: list[tuple[Path, str]] = []
        self._journal.written = written
        try:
            yield written
        finally:
            self._journal.written = None

    def sync_counts(self) -> tuple[int, int]:
        """(syncs of new/ folders run, deliveries and removals they made durable): group commit at work."""
        return self._syncs.counts()

    def discard(self, written: list[tuple[Path, str]]) -> None:
        """Remove messages this store wrote (recording()), each removal synced."""
        for path, key in written:
            with self._lock:
                try:
                    mailbox.Maildir(path, factory=None, create=False).remove(key)
                except (KeyError, FileNotFoundError):
                    pass
                self._sequence.pop((path, key), None)
            self._syncs.sync(path / "new")

    def clear(self) -> None:
        """Remove every mailbox folder and the quarantine (a lab reset): the store starts empty again."""
        with self._lock:
            for part in ("mailboxes", "quarantine"):
                shutil.rmtree(self.root / part, ignore_errors=True)
            self._sequence.clear()
            self._ready.clear()
            self._syncs.clear()

    def deliver(self, address: str, folder: str, message: bytes) -> str:
        """File a raw message into ``address``'s ``folder`` (made on first use); returns the Maildir key."""
        return self._add(self._folder_dir(address, folder), message)

    def quarantine(self, message: bytes, recipient: str, reason: str) -> str:
        """Hold a message in the quarantine, stamped with whom it was for and why; returns the key."""
        newline = b"\r\n" if message.split(b"\n", 1)[0].endswith(b"\r") else b"\n"  # as the message does
        stamp = [
            (QUARANTINE_RECIPIENT_HEADER, recipient.strip().lower()),
            (QUARANTINE_REASON_HEADER, reason),
        ]
        headers = b"".join(
            name.encode("ascii") + b": " + _header_value(value) + newline for name, value in stamp
        )
        return self._add(self.root / "quarantine", headers + bytes(message))

    # -- reading -------------------------------------------------------------------------------

    def _read(self, path: Path) -> list[EmailMessage]:
        if not (path / "new").is_dir():
            return []
        with self._lock:
            maildir = mailbox.Maildir(path, factory=None, create=False)  # fresh: no stale table of contents
            keys = maildir.keys()
            known = {key: self._sequence.get((path, key)) for key in keys}

        def order(key: str) -> tuple[int, ...]:
            # By the second the key (or, for a file another tool dropped in, the mtime) records; within
            # a second by this store's delivery sequence, which sub-second clock steps cannot reorder.
            match = _KEY_RE.match(key)
            if match:
                seconds, micros, count = (int(g) for g in match.groups())
            else:
                mtime_ns = _mtime_ns(path, key)
                seconds, micros, count = mtime_ns // 1_000_000_000, mtime_ns // 1000 % 1_000_000, 0
            sequence = known[key]
            return (seconds, 0, sequence) if sequence is not None else (seconds, 1, micros, count)

        messages = []
        for key in sorted(keys, key=order):
            try:
                messages.append(_parse(maildir.get_bytes(key)))
            except KeyError:  # removed since we listed it
                continue
        return messages

    def folder(self, address: str, folder: str) -> list[EmailMessage]:
        """The messages in a folder, oldest first (empty if the folder was never used)."""
        return self._read(self._folder_dir(address, folder))

    def count(self, address: str, folder: str) -> int:
        """How many messages a folder holds."""
        path = self._folder_dir(address, folder)
        if not (path / "new").is_dir():
            return 0
        with self._lock:
            return len(mailbox.Maildir(path, factory=None, create=False))

    def folders(self, address: str) -> list[str]:
        """The folders a mailbox has on disk: Inbox, Junk Email, Sent Items first, then the rest by name."""
        path = self._mailbox_dir(address)
        if not path.is_dir():
            return []
        names = [p.name for p in path.iterdir() if (p / "new").is_dir() and (p / "cur").is_dir()]
        standard = [name for name in STANDARD_FOLDERS if name in names]
        return standard + sorted(name for name in names if name not in STANDARD_FOLDERS)

    def quarantined(self) -> list[EmailMessage]:
        """The quarantined messages, oldest first, each with the recipient and reason headers."""
        return self._read(self.root / "quarantine")

    def __repr__(self) -> str:
        return f"MailStore({str(self.root)!r})"
