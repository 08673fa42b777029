"""BDAT (RFC 3030 CHUNKING) for LabSMTP: aiosmtpd has none (aiosmtpd#558); every endpoint advertises it."""

from __future__ import annotations

import asyncio
from typing import Any

from ..policy import chunking as policy
from ..policy import replies as R
from ..policy.session import SessionLimits

# Chunk bytes are read from the socket in pieces of this size, so a large BDAT never needs one large read.
READ_PIECE = 64 * 1024


class Chunking:
    """The part of LabSMTP that takes BDAT: a chunk's bytes are read as data, exactly, never as commands.

    The transaction's chunks are kept on the envelope (`lab_chunks`); aiosmtpd's RSET and end-of-message
    start a new envelope, which forgets them. On LAST the endpoint's handler answers as it answers DATA, so
    every rule of DATA (SendAs, SPF, anti-spam, limits, size) applies to a chunked message as well.
    """

    envelope: Any
    session: Any
    limits: SessionLimits
    data_size_limit: int | None
    _reader: Any
    _handle_hooks: Any
    _verb: str | None

    async def smtp_BDAT(self, arg: str) -> None:
        if self._gate():  # type: ignore[attr-defined]
            return await self.refuse_and_close(self._refusal)  # type: ignore[attr-defined]
        chunk = policy.parse_bdat(arg)
        if chunk is None:
            # No size to trust: what follows cannot be told apart from commands, so the session ends.
            await self.refuse_and_close(policy.malformed(arg).reply)  # type: ignore[attr-defined]
            return
        envelope = self.envelope
        so_far: bytearray | None = getattr(envelope, "lab_chunks", None)
        room = max(0, (self.data_size_limit or 0) - len(so_far or b"")) if self.data_size_limit else None
        self._upload_started()  # type: ignore[attr-defined]
        try:
            data = await self._read_chunk(chunk.size, room)
        finally:
            self._upload_ended()  # type: ignore[attr-defined]
        if data is _GONE:
            return
        problem = policy.sequence_problem(
            greeted=bool(self.session.host_name),
            has_sender=bool(envelope.mail_from),
            recipients=len(envelope.rcpt_tos),
        )
        if problem is not None:
            await self.push(problem.reply)  # type: ignore[attr-defined]
            return
        total = len(so_far or b"") + chunk.size
        too_big = policy.too_big(total, self.data_size_limit or 0)
        if too_big is not None or data is None:
            # RFC 3030 §4.2: the transaction fails; later chunks get 503 until a new MAIL FROM.
            self._set_post_data_state()  # type: ignore[attr-defined]
            await self.push((too_big or policy.too_big(total, 1)).reply)  # type: ignore[attr-defined,union-attr]
            return
        if so_far is None:
            so_far = envelope.lab_chunks = bytearray()
        so_far += data
        over = policy.header_problem(so_far, self.limits)
        if over is not None:
            self._set_post_data_state()  # type: ignore[attr-defined]
            await self.push(over.reply)  # type: ignore[attr-defined]
            return
        if not chunk.last:
            self._verb = None  # a chunk's 250 is no answer to the message: the session record skips it
            await self.push(R.chunk_received(chunk.size))  # type: ignore[attr-defined]
            return
        content = bytes(so_far)
        envelope.lab_chunks = None
        envelope.content = envelope.original_content = content
        status = await self._call_handler_hook("DATA")  # type: ignore[attr-defined]
        self._set_post_data_state()  # type: ignore[attr-defined]
        await self.push(status)  # type: ignore[attr-defined]

    async def _read_chunk(self, size: int, room: int | None) -> Any:
        """Exactly `size` bytes from the client: the bytes, None when more than `room` came (all of them are
        read and dropped), or _GONE when the client left mid-chunk (nothing of the message is kept)."""
        kept: bytearray | None = bytearray()
        remaining = size
        while remaining:
            try:
                piece = await self._reader.readexactly(min(remaining, READ_PIECE))
            except asyncio.IncompleteReadError:
                self._hang_up()  # type: ignore[attr-defined]
                return _GONE
            remaining -= len(piece)
            if kept is not None:
                if room is not None and len(kept) + len(piece) > room:
                    kept = None  # over the size limit: read on, keep nothing
                else:
                    kept += piece
        return kept


_GONE = object()
