"""The benchmark's sequential SMTP clients: the same smtplib code drives the lab and its building blocks."""

from __future__ import annotations

import smtplib
import socket
import ssl
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

CLIENT_NAME = "bench-client.invalid"  # given explicitly: smtplib would otherwise ask the resolver (getfqdn)
BODY = ("Scanned document from the lobby scanner. " * 24 + "\r\n") * 1  # about 1 KB, like a notification


@dataclass(frozen=True)
class Dialogue:
    """Who speaks to which socket, and how: ``submission`` (STARTTLS + AUTH LOGIN), ``smtps`` (implicit
    TLS + AUTH LOGIN: MailDev's only TLS) or ``plain``."""

    kind: str
    host: str
    port: int
    mail_from: str
    rcpt: str
    header_from: str
    username: str = ""
    password: str = ""

    def with_port(self, host: str, port: int, kind: str | None = None) -> Dialogue:
        return Dialogue(
            kind or self.kind,
            host,
            port,
            self.mail_from,
            self.rcpt,
            self.header_from,
            self.username,
            self.password,
        )


# The world's SMTP AUTH mailbox sends as the shared mailbox it has SendAs on (granted by bench.servers);
# direct send comes from the office printer's address (no XCLIENT: the office NAT address, SPF fail,
# DMARC p=none, so EOP files it in Junk Email).
SUBMISSION = Dialogue(
    "submission",
    "127.0.0.1",
    0,
    mail_from="scanner@contoso.com",
    rcpt="alex@contoso.com",
    header_from="helpdesk@contoso.com",
    username="scanner@contoso.com",
    password="Scan#2026",
)
DIRECT_SEND = Dialogue(
    "plain", "127.0.0.1", 0, "printer@contoso.com", "alex@contoso.com", "printer@contoso.com"
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
    MAIL, RCPT, DATA; smtps: TLS on connect, EHLO, AUTH LOGIN, the same; plain: EHLO then the same
    transactions. QUIT at the end.
    """
    if dialogue.kind == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            dialogue.host, dialogue.port, local_hostname=CLIENT_NAME, timeout=timeout, context=_TLS
        )
    else:
        smtp = smtplib.SMTP(dialogue.host, dialogue.port, local_hostname=CLIENT_NAME, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if dialogue.kind == "submission":
            smtp.starttls(context=_TLS)
            smtp.ehlo()
        if dialogue.kind in ("submission", "smtps"):
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


# -- idle connections ---------------------------------------------------------------------------------


def open_idle(host: str, port: int, count: int, timeout: float = 10.0) -> list[socket.socket]:
    """Open ``count`` connections, then on each read the banner, say EHLO and read its reply, and leave
    them idle (the caller closes them). All connect first: MailDev waits 100 ms before each banner."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection((host, port), timeout=timeout))
        for sock in sockets:
            banner = read_reply(sock)
            if not banner.startswith(b"220"):
                raise ConnectionError(f"unexpected banner {banner[:120]!r}")
            sock.sendall(f"EHLO {CLIENT_NAME}\r\n".encode())
            read_reply(sock)
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


def read_reply(sock: socket.socket) -> bytes:
    """Read one (possibly multiline) SMTP reply from a blocking socket."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed before the reply")
        data += chunk
        last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if data.endswith(b"\r\n") and last[3:4] != b"-":
            return data
