"""Message bytes joined into one without holding the GIL when they are large (an in-memory file's I/O)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

# Joining bytes copies them holding the GIL: for 100 MB, 50 to 200 ms in which no session on any endpoint
# moved (issue 22). Written to an in-memory file and read back, the same copy happens in system calls,
# which release it. Below this size a plain join is quicker than the two calls.
LARGE = 4 * 1024 * 1024
_IOV_MAX = 1024  # pieces per writev (POSIX guarantees at least 16; Linux takes 1024)


def scratch_fd() -> int:
    """An anonymous file for message bytes: in memory where the system has memfd_create, else an unlinked
    temporary file. Nothing is left behind whatever happens to the process; the caller closes it."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("mailflow-lab-message", os.MFD_CLOEXEC)
    fd, name = tempfile.mkstemp(prefix="mailflow-lab-message-")
    os.unlink(name)
    return fd


def write_all(fd: int, pieces: Sequence[bytes]) -> None:
    """Append every piece to the file (writev in batches; a short write is finished piece by piece)."""
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start : start + _IOV_MAX]
        written = os.writev(fd, batch)
        for piece in batch:
            if written >= len(piece):
                written -= len(piece)
                continue
            view = memoryview(piece)[written:]
            written = 0
            while view:
                view = view[os.write(fd, view) :]


def read_all(fd: int, size: int) -> bytes:
    """The file's first `size` bytes, read with the GIL released."""
    data = os.pread(fd, size, 0)
    while len(data) < size:  # pread may return less than asked; go on from where it stopped
        more = os.pread(fd, size - len(data), len(data))
        if not more:
            raise OSError(f"the message came back short: {len(data)} of {size} bytes")
        data += more
    return data


def join(pieces: Sequence[bytes]) -> bytes:
    """b"".join(pieces), done through a scratch file when the result is LARGE."""
    size = sum(len(piece) for piece in pieces)
    if size < LARGE:
        return b"".join(pieces)
    fd = scratch_fd()
    try:
        write_all(fd, pieces)
        return read_all(fd, size)
    finally:
        os.close(fd)
