"""Many senders at once, driven by aiosmtplib (an asyncio client, so one client process keeps up).

``load(dialogue, senders, messages_each)``: ``senders`` clients each open a session (connect, EHLO, and
for submission STARTTLS, EHLO, AUTH LOGIN; for MailDev's smtps TLS on connect, EHLO, AUTH LOGIN) and wait
at a gate until every one is in (or a third of the timeout has passed), then each sends its messages, one
session per message (the first on the session it opened), and QUITs. Timed per message: MAIL to the
250 after the data (aiosmtplib's ``sendmail``); per session: connect to the reply to QUIT, the wait at
the gate left out. Errors are failed sessions: refusals, resets and timeouts, each noted with its stage
("open": connect to signed in; "send": MAIL to QUIT).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib

from .clients import CLIENT_NAME, Dialogue, client_tls_context, message

_TLS = client_tls_context()


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile of ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def open_session(dialogue: Dialogue, timeout_s: float) -> aiosmtplib.SMTP:
    """A session ready for MAIL: connected, greeted, and for submission and smtps, TLS and signed in."""
    smtp = aiosmtplib.SMTP(
        hostname=dialogue.host,
        port=dialogue.port,
        local_hostname=CLIENT_NAME,
        timeout=timeout_s,
        use_tls=dialogue.kind == "smtps",
        start_tls=False,
        validate_certs=False,
        tls_context=_TLS if dialogue.kind == "smtps" else None,
    )
    await smtp.connect()
    try:
        await smtp.ehlo()
        if dialogue.kind == "submission":
            await smtp.starttls(tls_context=_TLS, validate_certs=False)
            await smtp.ehlo()
        if dialogue.kind in ("submission", "smtps"):
            await smtp.auth_login(dialogue.username, dialogue.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


@dataclass
class _Tally:
    message_s: list[float] = field(default_factory=list)
    session_s: list[float] = field(default_factory=list)
    connect_s: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    sessions: int = 0


async def _send(smtp: aiosmtplib.SMTP, dialogue: Dialogue, n: int, tally: _Tally) -> float:
    began = time.perf_counter()
    errors, _ = await smtp.sendmail(dialogue.mail_from, [dialogue.rcpt], message(dialogue, n))
    if errors:
        raise aiosmtplib.SMTPRecipientsRefused(list(errors.values()))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - began
    tally.message_s.append(elapsed)
    return elapsed


async def _load(dialogue: Dialogue, senders: int, messages_each: int, timeout_s: float) -> dict[str, Any]:
    tally = _Tally()
    everyone_in = asyncio.Event()
    ready = [0]
    released_at = [0.0]

    async def gate() -> None:
        deadline = time.perf_counter() + timeout_s / 3
        while time.perf_counter() < deadline and ready[0] < senders:
            await asyncio.sleep(0.005)
        released_at[0] = time.perf_counter()
        everyone_in.set()

    async def one_session(n: int, first: bool) -> None:
        smtp: aiosmtplib.SMTP | None = None
        stage = "open"
        try:
            try:
                began = time.perf_counter()
                smtp = await asyncio.wait_for(open_session(dialogue, timeout_s), timeout_s)
                connected = time.perf_counter() - began
                tally.connect_s.append(connected)
            finally:
                if first:
                    ready[0] += 1
            if first:
                await everyone_in.wait()  # every sender holds an open session before any sends
            stage = "send"
            resumed = time.perf_counter()
            await asyncio.wait_for(_send(smtp, dialogue, n, tally), timeout_s)
            await asyncio.wait_for(smtp.quit(), timeout_s)
            tally.session_s.append(connected + time.perf_counter() - resumed)
            tally.sessions += 1
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            tally.failures[f"{stage}: {type(exc).__name__}: {exc}"[:120]] += 1
        finally:
            if smtp is not None and smtp.is_connected:
                smtp.close()

    async def sender(s: int) -> None:
        for m in range(messages_each):
            await one_session(s * messages_each + m, first=m == 0)

    start = time.perf_counter()
    gate_task = asyncio.ensure_future(gate())
    await asyncio.gather(*(sender(s) for s in range(senders)))
    await gate_task
    wall_after_gate = time.perf_counter() - released_at[0]
    sent = len(tally.message_s)
    return {
        "senders": senders,
        "messages_each": messages_each,
        "messages": sent,
        "errors": sum(tally.failures.values()),
        "error_kinds": dict(tally.failures.most_common(5)),
        "all_connected_s": round(released_at[0] - start, 3),
        "seconds_after_gate": round(wall_after_gate, 3),
        "per_s": round(sent / wall_after_gate, 1) if wall_after_gate > 0 else None,
        "message_p50_ms": round(percentile(tally.message_s, 50) * 1000, 1),
        "message_p99_ms": round(percentile(tally.message_s, 99) * 1000, 1),
        "connect_p99_ms": round(percentile(tally.connect_s, 99) * 1000, 1),
        "session_p50_ms": round(percentile(tally.session_s, 50) * 1000, 1),
        "session_p99_ms": round(percentile(tally.session_s, 99) * 1000, 1),
    }


def load(dialogue: Dialogue, senders: int, messages_each: int = 1, timeout_s: float = 45.0) -> dict[str, Any]:
    """``senders`` aiosmtplib clients at once, ``messages_each`` sessions of one message each (see above)."""
    return asyncio.run(_load(dialogue, senders, messages_each, timeout_s))
