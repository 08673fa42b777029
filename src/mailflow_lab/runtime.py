"""The running lab's shared state: world, DNS, store, trace, clock, tokens, endpoints and limit counters."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import LabClock
from .labdns.resolver import LabDNS
from .mailstore import MailStore
from .tokens import TokenIssuer
from .trace import MessageTrace
from .world.model import World


@dataclass
class Deferred:
    """A submitted message held back by the per-minute limit, released by the lab clock."""

    release_at: datetime
    trace_id: str
    mail_from: str
    recipients: list[str]
    content: bytes
    login: str


@dataclass
class LabRuntime:
    """Everything the endpoints share. Guarded by `lock` where several threads touch it."""

    world: World
    dns: LabDNS
    store: MailStore
    trace: MessageTrace
    clock: LabClock
    tokens: TokenIssuer
    endpoints: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    signed_in: Counter[str] = field(default_factory=Counter)
    submissions: dict[str, list[tuple[datetime, int]]] = field(default_factory=lambda: defaultdict(list))
    deferred: list[Deferred] = field(default_factory=list)

    def endpoint(self, host: str, port: int) -> tuple[str, int]:
        """The loopback socket serving a world host name and port."""
        key = (host.lower().rstrip("."), port)
        if key not in self.endpoints:
            known = ", ".join(f"{h}:{p}" for h, p in sorted(self.endpoints))
            raise KeyError(f"the lab serves no {host}:{port} (it serves {known})")
        return self.endpoints[key]

    def record_submission(self, login: str, recipients: int) -> None:
        with self.lock:
            self.submissions[login.lower()].append((self.clock.now(), recipients))

    def recent_submissions(self, login: str, window: timedelta) -> tuple[int, int]:
        """(messages, recipients) submitted by a mailbox within the window, by the lab clock."""
        now = self.clock.now()
        with self.lock:
            log = self.submissions[login.lower()]
            log[:] = [(when, n) for when, n in log if now - when < timedelta(days=1)]
            recent = [(when, n) for when, n in log if now - when < window]
        return len(recent), sum(n for _, n in recent)
