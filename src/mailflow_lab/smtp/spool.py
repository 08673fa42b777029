"""A message's bytes as DATA reads them: in memory when small, in an anonymous scratch file when large."""

from __future__ import annotations

import asyncio
import os

from ..store import joining

# Up to this many bytes a message is kept as its lines and joined at the end (a few milliseconds at most).
# Beyond it, joining would copy the whole message holding the GIL: 100 MB took 84 ms, during which no
# session on any endpoint was answered (issue 22). A larger message is written to a scratch file as it
# arrives (writes release the GIL) and read back in one read, which releases it too, in a worker thread.
SPOOL_ABOVE = joining.LARGE
_WRITE_EVERY = 1024 * 1024  # spooled: lines are gathered into writes of about this size


class Spool:
    """Collects the lines of one message; `content()` gives them as one `bytes`. Close it when done."""

    def __init__(self, spool_above: int = SPOOL_ABOVE) -> None:
        self._spool_above = spool_above
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fd: int | None = None
        self.size = 0

    def add(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self.size += len(data)
        if self._fd is None and self.size > self._spool_above:
            self._fd = joining.scratch_fd()
        if self._fd is not None and self._pending_size >= _WRITE_EVERY:
            self._flush()

    def clear(self) -> None:
        """Forget what was added (a limit was passed: the rest is read and dropped)."""
        self.close()
        self.size = 0

    async def content(self) -> bytes:
        if self._fd is None:
            data = b"".join(self._pending)
            self._pending.clear()
            return data
        self._flush()
        return await asyncio.to_thread(joining.read_all, self._fd, self.size)

    def close(self) -> None:
        self._pending.clear()
        self._pending_size = 0
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _flush(self) -> None:
        assert self._fd is not None
        joining.write_all(self._fd, self._pending)
        self._pending.clear()
        self._pending_size = 0
