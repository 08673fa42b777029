"""What `make bench` runs and what it aims for: sizes, counts, time bounds, and the issue's targets."""

from __future__ import annotations

from typing import Any

PER_SESSION = (1, 5)  # messages per session in the sequential throughput rows
RUN_SECONDS = 1.5  # each throughput run: this long, or MAX_MESSAGES, whichever comes first
MAX_MESSAGES = 1500
LOAD_LEVELS = (1, 10, 100, 500)  # concurrent aiosmtplib senders
LOAD_MESSAGES = 150  # messages per level and server: each sender sends max(1, LOAD_MESSAGES // senders)
LOAD_TIMEOUT_S = 30.0  # per step of a session; the gate waits a third of it at most
DEFAULT_LIMITS_CLIENTS = 50  # at once against a lab with its default session limits
IDLE_CONNECTIONS = 500
PER_ADDRESS = 2000  # sessions allowed per client address in the raised-limit lab (see README)
UPLOAD_MB = 100

TARGETS: dict[str, Any] = {
    "throughput_vs_bare": 0.8,  # lab msg/s over the do-nothing aiosmtpd's, at least
    "throughput_vs_durable": 1.0,  # over aiosmtpd writing and syncing the same Maildir, at least
    "throughput_vs_maildev": 1.0,  # over MailDev on the same dialogue, at least
    "cpu_vs_durable": 2.0,  # server CPU per message over the durable bare server's, at most
    "concurrent_errors": 0,  # at the largest load level
    "concurrent_p99_vs_bare": 1.5,  # session p99 at the largest load level over bare aiosmtpd's, at most
    "noop_p99_ms": 50.0,  # NOOP p99 on submission during the 100 MB upload on the MX, under
    "start_ratio": 3.0,  # lab start over one bare Controller, at most
}


def messages_each(senders: int) -> int:
    return max(1, LOAD_MESSAGES // senders)


def config() -> dict[str, Any]:
    return {
        "per_session": PER_SESSION,
        "run_seconds": RUN_SECONDS,
        "max_messages": MAX_MESSAGES,
        "load_levels": LOAD_LEVELS,
        "load_messages_each": {n: messages_each(n) for n in LOAD_LEVELS},
        "idle_connections": IDLE_CONNECTIONS,
        "per_address_limit_raised_to": PER_ADDRESS,
        "upload_mb": UPLOAD_MB,
        "targets": TARGETS,
    }
