"""DATA for LabSMTP: the message read line by line within its limits (SIZE, line length, header size)."""

from __future__ import annotations

import asyncio
from typing import Any

from ..policy import chunking as chunking_policy
from ..policy import replies as R
from ..policy import session as limits_policy
from ..policy.session import SessionLimits
from .spool import Spool

_GONE = object()  # the client left before the end of the data


class DataCommand:
    """The part of LabSMTP that takes DATA (aiosmtpd's own loop, with Exchange's limits in it).

    RFC 5321 §4.5.2: lines up to the lone dot, leading dots unstuffed. Over a limit, the rest of the data
    is read and dropped (memory stays bounded by the limit), then the refusal is answered after the dot
    (RFC 5321 §4.2.5): over SIZE 552 5.3.4, a line over the line limit 500 5.3.3, a header over
    MaxHeaderSize 552 5.3.4 (Exchange's header wording). A client that leaves mid-message leaves nothing.
    """

    limits: SessionLimits
    envelope: Any
    session: Any
    data_size_limit: int | None
    _reader: Any

    async def smtp_DATA(self, arg: str | None) -> None:
        if self._gate():  # type: ignore[attr-defined]
            return await self.refuse_and_close(self._refusal)  # type: ignore[attr-defined]
        if await self.check_helo_needed():  # type: ignore[attr-defined]
            return
        envelope = self.envelope
        problem = chunking_policy.data_problem(
            has_sender=bool(envelope.mail_from),
            chunked=getattr(envelope, "lab_chunks", None) is not None,
            binarymime=getattr(envelope, "lab_binarymime", False),
        )
        if problem is not None:
            return await self.push(problem.reply)  # type: ignore[attr-defined]
        if await self.check_auth_needed("DATA"):  # type: ignore[attr-defined]
            return
        if not envelope.rcpt_tos:
            return await self.push(R.NEED_RCPT)  # type: ignore[attr-defined]
        if arg:
            return await self.push(R.SYNTAX_ERROR)  # type: ignore[attr-defined]
        await self.push(R.START_MAIL_INPUT)  # type: ignore[attr-defined]
        self._upload_started()  # type: ignore[attr-defined]
        try:
            content = await self._read_message()
        finally:
            self._upload_ended()  # type: ignore[attr-defined]
        if content is _GONE:
            return
        if isinstance(content, R.Reply):
            self._set_post_data_state()  # type: ignore[attr-defined]
            return await self.push(content)  # type: ignore[attr-defined]
        envelope.content = envelope.original_content = content
        status = await self._call_handler_hook("DATA")  # type: ignore[attr-defined]
        self._set_post_data_state()  # type: ignore[attr-defined]
        await self.push(status)  # type: ignore[attr-defined]

    async def _read_message(self) -> Any:
        """The message's bytes; the refusal (a Reply) once all of it is read; or _GONE."""
        spool = Spool()
        try:
            return await self._read_into(spool)
        finally:
            spool.close()

    async def _read_into(self, lines: Spool) -> Any:
        size = header = 0
        in_header = True
        refusal: R.Reply | None = None
        tail = False  # the next read ends a line that was too long
        limit = self.data_size_limit
        reader = self._reader
        while True:
            try:
                line: bytes = await reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError:
                self._hang_up()  # type: ignore[attr-defined]
                return _GONE
            except asyncio.LimitOverrunError as error:
                await reader.read(error.consumed)  # a piece of a line over the limit: dropped
                refusal, tail = refusal or R.LINE_TOO_LONG, True
                lines.clear()
                continue
            if tail:
                tail = False
                continue
            if line == b".\r\n":
                break
            size += len(line)
            if refusal is None and limit and size > limit:
                refusal = R.MESSAGE_TOO_BIG
            if in_header:
                end = limits_policy.header_end(line)
                header += len(line) if end is None else end
                in_header = end is None
                over = limits_policy.header_refusal(header, self.limits)
                if refusal is None and over is not None:
                    refusal = over.reply
            if refusal is not None:
                lines.clear()
                continue
            lines.add(line[1:] if line.startswith(b".") else line)
        return refusal if refusal is not None else await lines.content()
