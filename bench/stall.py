"""Does one big upload hold the other sessions? NOOP round trips on one endpoint during 100 MB on another.

One thread uploads a message of ``UPLOAD_MB`` (a 1 KB text part, then base64-like lines of 76
characters, as an attachment is sent) to the MX with plain direct send, in 1 MB writes; another holds a
session on the submission endpoint (EHLO, no TLS) and sends NOOP every 20 ms from the upload's 354 to
its final reply, timing each reply. The lab serves both endpoints on one event loop; the bare aiosmtpd
reference runs each Controller on its own thread and loop, so there the two share only the GIL.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from .clients import CLIENT_NAME, DIRECT_SEND, read_reply
from .concurrency import percentile

UPLOAD_MB = 100
NOOP_EVERY_S = 0.02
LINE = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0" + b"\r\n"  # 78 B


def _command(sock: socket.socket, line: str, expect: str) -> bytes:
    sock.sendall(line.encode() + b"\r\n")
    reply = read_reply(sock)
    if not reply.startswith(expect.encode()):
        raise ConnectionError(f"{line.split()[0]}: {reply[:200]!r}")
    return reply


def _upload(host: str, port: int, megabytes: int, started: threading.Event, out: dict[str, Any]) -> None:
    began = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=600) as sock:
            read_reply(sock)
            _command(sock, f"EHLO {CLIENT_NAME}", "250")
            _command(sock, f"MAIL FROM:<{DIRECT_SEND.mail_from}>", "250")
            _command(sock, f"RCPT TO:<{DIRECT_SEND.rcpt}>", "250")
            _command(sock, "DATA", "354")
            started.set()
            head = (
                f"From: {DIRECT_SEND.header_from}\r\nTo: {DIRECT_SEND.rcpt}\r\nSubject: bench upload\r\n"
                "Message-ID: <upload@bench.invalid>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ).encode()
            sock.sendall(head)
            chunk = LINE * (1024 * 1024 // len(LINE))
            for _ in range(megabytes * 1024 * 1024 // len(chunk)):
                sock.sendall(chunk)
            out["sent_s"] = round(time.perf_counter() - began, 2)
            sock.sendall(b".\r\n")
            out["reply"] = read_reply(sock).decode(errors="replace").strip()[:160]
            sock.sendall(b"QUIT\r\n")
    except OSError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        out["seconds"] = round(time.perf_counter() - began, 2)
        started.set()


def noop_during_upload(
    mx: tuple[str, int], other: tuple[str, int], megabytes: int = UPLOAD_MB
) -> dict[str, Any]:
    """NOOP round trips (ms) on ``other`` while ``megabytes`` go to ``mx``: p50, p99, max, count."""
    upload: dict[str, Any] = {}
    started = threading.Event()
    thread = threading.Thread(target=_upload, args=(*mx, megabytes, started, upload), daemon=True)
    rtts: list[float] = []
    errors = 0
    with socket.create_connection(other, timeout=30) as sock:
        read_reply(sock)
        _command(sock, f"EHLO {CLIENT_NAME}", "250")
        thread.start()
        started.wait(60)
        while thread.is_alive():
            began = time.perf_counter()
            try:
                _command(sock, "NOOP", "250")
            except OSError:
                errors += 1
                break
            rtts.append(time.perf_counter() - began)
            time.sleep(max(0.0, NOOP_EVERY_S - (time.perf_counter() - began)))
        thread.join(600)
        try:
            _command(sock, "QUIT", "221")
        except OSError:
            pass
    return {
        "upload_mb": megabytes,
        "upload": upload,
        "noops": len(rtts),
        "noop_errors": errors,
        "noop_p50_ms": round(percentile(rtts, 50) * 1000, 1),
        "noop_p99_ms": round(percentile(rtts, 99) * 1000, 1),
        "noop_max_ms": round(max(rtts, default=float("nan")) * 1000, 1),
    }
