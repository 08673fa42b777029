"""The benchmark's SMTP clients: the same smtplib and asyncio code drives the lab and its building blocks."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

CLIENT_NAME = "bench-client.invalid"  # given explicitly: smtplib would otherwise ask the resolver (getfqdn)
BODY = ("Scanned document from the lobby scanner. " * 24 + "\r\n") * 1  # about 1 KB, like a notification


@dataclass(frozen=True)
class Dialogue:
    """Who speaks to which socket, and how: ``submission`` (STARTTLS + AUTH LOGIN) or ``plain``."""

    kind: str
    host: str
    port: int
    mail_from: str
    rcpt: str
    header_from: str
    username: str = ""
    password: str = ""

    def with_port(self, host: str, port: int) -> Dialogue:
        return Dialogue(
            self.kind, host, port, self.mail_from, self.rcpt, self.header_from, self.username, self.password
        )


def message(dialogue: Dialogue, n: int) -> bytes:
    """A small text message with a fresh Message-ID (~1.2 KB)."""
    return (
        f"From: {dialogue.header_from}\r\n"
        f"To: {dialogue.rcpt}\r\n"
        f"Subject: bench message {n}\r\n"
        "Date: Thu, 27 Nov 2025 09:00:00 +0000\r\n"
        f"Message-ID: <{uuid.uuid4()}@bench.invalid>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n" + BODY
    ).encode()


def client_tls_context() -> ssl.SSLContext:
    """TLS 1.2+, unverified: one context for every server (the handshake cost is what is compared)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


_TLS = client_tls_context()


def session(dialogue: Dialogue, messages: list[bytes], timeout: float = 30.0) -> None:
    """One SMTP session sending ``messages``; raises on any refusal (smtplib's exceptions) or socket error.

    submission: EHLO, STARTTLS, EHLO, AUTH LOGIN (user and password each after a 334), then per message
    MAIL, RCPT, DATA; plain: EHLO then the same transactions. QUIT at the end.
    """
    with smtplib.SMTP(dialogue.host, dialogue.port, local_hostname=CLIENT_NAME, timeout=timeout) as smtp:
        smtp.ehlo()
        if dialogue.kind == "submission":
            smtp.starttls(context=_TLS)
            smtp.ehlo()
            smtp.user, smtp.password = dialogue.username, dialogue.password
            smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
        for content in messages:
            refused = smtp.sendmail(dialogue.mail_from, [dialogue.rcpt], content)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)


@dataclass
class Throughput:
    messages: int
    sessions: int
    seconds: float
    errors: int
    first_error: str | None
    session_p50_ms: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def throughput(
    dialogue: Dialogue,
    *,
    messages: int,
    per_session: int,
    deadline_s: float,
    tick: Callable[[], None] | None = None,
    tick_every: int = 25,
) -> Throughput:
    """Sessions one after another until ``messages`` are sent or ``deadline_s`` passes.

    ``tick`` runs each time another ``tick_every`` messages have been sent (the lab's clock is moved a
    minute then, so its 30-messages-a-minute limit never defers a message: every one is delivered).
    """
    sent = sessions = errors = 0
    first_error: str | None = None
    durations: list[float] = []
    start = time.perf_counter()
    while sent < messages and time.perf_counter() - start < deadline_s:
        batch = [message(dialogue, sent + i) for i in range(min(per_session, messages - sent))]
        began = time.perf_counter()
        try:
            session(dialogue, batch)
        except (smtplib.SMTPException, OSError) as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        durations.append(time.perf_counter() - began)
        before, sent, sessions = sent, sent + len(batch), sessions + 1
        if tick is not None and sent // tick_every != before // tick_every:
            tick()
    seconds = time.perf_counter() - start
    p50 = statistics.median(durations) * 1000 if durations else 0.0
    return Throughput(sent, sessions, seconds, errors, first_error, p50)


# -- many clients at once (asyncio) -------------------------------------------------------------------


class Refused(Exception):
    """The server answered with an unexpected code."""


async def _reply(reader: asyncio.StreamReader) -> tuple[int, str]:
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("connection closed by the server")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if line[3:4] != b"-":
            return int(line[:3]), " / ".join(lines)


async def _expect(reader: asyncio.StreamReader, code: int) -> None:
    got, text = await _reply(reader)
    if got != code:
        raise Refused(text)


@dataclass
class SessionTimes:
    connected: float  # connect, banner and EHLO
    total: float  # that, plus MAIL to the reply to QUIT after the gate opened (the wait at the gate left out)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def _concurrent(dialogue: Dialogue, clients: int, timeout_s: float) -> dict[str, object]:
    everyone_in = asyncio.Event()
    ready = [0]
    released_at = [0.0]

    async def gate() -> None:
        # Opens when every client has connected and said EHLO (or failed), or after timeout_s / 3.
        deadline = time.perf_counter() + timeout_s / 3
        while time.perf_counter() < deadline and ready[0] < clients:
            await asyncio.sleep(0.005)
        released_at[0] = time.perf_counter()
        everyone_in.set()

    start = time.perf_counter()

    async def transaction(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        content = message(dialogue, n).replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n"
        for command, code in (
            (f"MAIL FROM:<{dialogue.mail_from}>", 250),
            (f"RCPT TO:<{dialogue.rcpt}>", 250),
            ("DATA", 354),
        ):
            writer.write(command.encode() + b"\r\n")
            await _expect(reader, code)
        writer.write(content)
        await _expect(reader, 250)
        writer.write(b"QUIT\r\n")
        await _expect(reader, 221)

    async def client(n: int) -> SessionTimes:
        writer = None
        try:
            try:
                began = time.perf_counter()
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(dialogue.host, dialogue.port), timeout_s
                )
                await asyncio.wait_for(_expect(reader, 220), timeout_s)
                writer.write(f"EHLO {CLIENT_NAME}\r\n".encode())
                await asyncio.wait_for(_expect(reader, 250), timeout_s)
                connected = time.perf_counter() - began
            finally:
                ready[0] += 1
            await everyone_in.wait()  # every client holds an open session before any sends
            await asyncio.wait_for(transaction(reader, writer, n), timeout_s)
            return SessionTimes(connected, connected + time.perf_counter() - released_at[0])
        finally:
            if writer is not None:
                writer.close()

    gate_task = asyncio.ensure_future(gate())
    results = await asyncio.gather(*(client(n) for n in range(clients)), return_exceptions=True)
    await gate_task
    wall = time.perf_counter() - start
    ok = [r for r in results if isinstance(r, SessionTimes)]
    failed = Counter(f"{type(r).__name__}: {r}"[:120] for r in results if isinstance(r, BaseException))
    totals = [r.total for r in ok]
    after_gate = wall - (released_at[0] - start)
    return {
        "clients": clients,
        "ok": len(ok),
        "errors": clients - len(ok),
        "error_kinds": dict(failed.most_common(5)),
        "all_connected_s": round(released_at[0] - start, 3),
        "connect_p99_ms": round(_percentile([r.connected for r in ok], 99) * 1000, 1),
        "session_p50_ms": round(_percentile(totals, 50) * 1000, 1),
        "session_p99_ms": round(_percentile(totals, 99) * 1000, 1),
        "wall_s": round(wall, 3),
        "messages_per_s_after_gate": round(len(ok) / after_gate, 1) if after_gate > 0 else None,
    }


def concurrent(dialogue: Dialogue, clients: int, timeout_s: float = 60.0) -> dict[str, object]:
    """``clients`` plain SMTP sessions at once: all connect and say EHLO, then all send one message.

    Session time is the time spent in SMTP exchanges: connect to EHLO's reply, plus MAIL to QUIT's reply
    once every client is in (the wait at that gate left out). Errors are refusals, resets and timeouts.
    """
    return asyncio.run(_concurrent(dialogue, clients, timeout_s))


# -- idle connections ---------------------------------------------------------------------------------


def open_idle(host: str, port: int, count: int, timeout: float = 10.0) -> list[socket.socket]:
    """Open ``count`` connections, read each banner, and leave them idle (the caller closes them)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=timeout)
            sockets.append(sock)
            banner = b""
            while not banner.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionResetError("closed before the banner")
                banner += chunk
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass
