"""LabSMTP's clocks: the idle timeout, the session's total time, the minimum data rate, and a half-close."""

from __future__ import annotations

import asyncio
from typing import Any

from ..policy import replies as R
from ..policy import session as limits_policy
from ..policy.session import SessionLimits

# How often a running DATA or BDAT upload is checked against the minimum data rate (after its grace).
RATE_CHECK_S = 5.0


class SessionTimers:
    """The part of LabSMTP that ends sessions in time: silence (ConnectionInactivityTimeout), a session's
    total time (ConnectionTimeout) and an upload slower than the minimum data rate each get their reply,
    then the lab hangs up. A client that half-closes is still answered for what it sent."""

    limits: SessionLimits
    loop: asyncio.AbstractEventLoop
    transport: Any
    session: Any
    _writer: Any
    _reader: Any
    _hanging_up: bool
    _handshaking: bool
    _original_transport: Any

    def _start_session_clock(self) -> None:
        """At connection: the session may last limits.connection_timeout_s, however busy it is."""
        self._session_handle: asyncio.TimerHandle | None = self.loop.call_later(
            self.limits.connection_timeout_s, self._session_expired
        )
        self._upload_at: float | None = None
        self._upload_bytes = 0
        self._rate_handle: asyncio.TimerHandle | None = None

    def _stop_clocks(self) -> None:
        for name in ("_session_handle", "_rate_handle"):
            handle = getattr(self, name, None)
            if handle is not None:
                handle.cancel()
                setattr(self, name, None)

    def _close_with(self, reply: R.Reply) -> None:
        """A timer's closing reply, written at once (no command is being answered), then hang up."""
        if self.transport is None:
            return
        if not self._hanging_up and not self._handshaking:
            line = self._line(reply)  # type: ignore[attr-defined]
            self._writer.write(line.encode("utf-8") + b"\r\n")
        self._hang_up()  # type: ignore[attr-defined]

    def _timeout_cb(self) -> None:
        """Idle too long: Exchange's 451 4.7.0, then hang up (aiosmtpd would just close)."""
        self._close_with(limits_policy.idle_timeout(self.limits).reply)

    def _session_expired(self) -> None:
        self._session_handle = None
        self._close_with(limits_policy.session_expired(self.limits).reply)

    # -- the minimum data rate -------------------------------------------------------------------------
    def _upload_started(self) -> None:
        """Message data begins (after DATA's 354, or a BDAT chunk): count its bytes from now."""
        self._upload_at = self.loop.time()
        self._upload_bytes = 0
        self._rate_handle = self.loop.call_later(self.limits.data_rate_grace_s, self._check_rate)

    def _upload_ended(self) -> None:
        self._upload_at = None
        if self._rate_handle is not None:
            self._rate_handle.cancel()
            self._rate_handle = None

    def _count_upload(self, size: int) -> None:
        if self._upload_at is not None:
            self._upload_bytes += size

    def _check_rate(self) -> None:
        self._rate_handle = None
        if self._upload_at is None or self.transport is None:
            return
        elapsed = self.loop.time() - self._upload_at
        refusal = limits_policy.data_too_slow(self._upload_bytes, elapsed, self.limits)
        if refusal is not None:
            self._close_with(refusal.reply)
            return
        interval = min(RATE_CHECK_S, self.limits.data_rate_grace_s)
        self._rate_handle = self.loop.call_later(interval, self._check_rate)

    # -- a half-close ----------------------------------------------------------------------------------
    def eof_received(self) -> bool | None:
        """The client shut its side (shutdown(SHUT_WR)), as Exim does after pipelining BDAT LAST and QUIT.

        aiosmtpd cancels the session here, so what the client pipelined before its end (the message, its
        QUIT) was taken in but never answered, and the client, seeing no reply, would send it again. In the
        clear the lab reads on to the end of what was sent, answers it, and closes when the input ends
        (handle_exception). Inside TLS asyncio closes the connection on EOF itself: aiosmtpd's way.
        """
        if self._original_transport is None and not self._hanging_up and self._reader is not None:
            self._reader.feed_eof()
            return True  # keep the lab's side open for the replies
        return super().eof_received()  # type: ignore[misc,no-any-return]

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, asyncio.IncompleteReadError):
            # The input ended between commands (after a half-close): nothing more to answer.
            self._hang_up()  # type: ignore[attr-defined]
            raise asyncio.CancelledError
        return await super().handle_exception(error)  # type: ignore[misc,no-any-return]
