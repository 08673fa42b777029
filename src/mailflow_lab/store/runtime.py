"""The running lab's shared state: world, DNS, store, trace, clock, tokens, endpoints and limit counters."""

from __future__ import annotations

import bisect
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..auth.oauth import TokenIssuer
from ..labdns.resolver import LabDNS
from ..policy.lockout import SmartLockout
from ..policy.ndr import NO_DSN, Dsn
from ..policy.submission import SubmissionLimits
from ..world.clock import LabClock
from ..world.model import World
from ..world.state import load_tenant, save_tenant, tenant_mtime
from .mailstore import MailStore
from .sessions import SessionLog
from .trace import MessageTrace


@dataclass
class Deferred:
    """A submitted message held back by the per-minute limit, released by the lab clock."""

    release_at: datetime
    trace_id: str
    mail_from: str
    recipients: list[str]
    content: bytes
    login: str
    dsn: Dsn = NO_DSN  # the sender's DSN request, honoured when it is released


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
    state_dir: Path | None = None
    advertise_xclient: bool = False
    tenant_seen: float = 0.0
    errors: list[str] = field(default_factory=list)  # unexpected errors in sessions, for tests and teachers
    submission_limits: SubmissionLimits = field(default_factory=SubmissionLimits)
    session_log: SessionLog | None = None  # every SMTP session, recorded as it closes (sessions.jsonl)
    lockout: SmartLockout = field(default_factory=SmartLockout)  # failed sign-ins (policy/lockout.py)

    def save_tenant(self) -> None:
        """Write the tenant's settings to the state folder, for other processes on the same state."""
        if self.state_dir is not None:
            with self.lock:
                save_tenant(self.world.tenant, self.state_dir)
                self.tenant_seen = tenant_mtime(self.state_dir)

    def refresh_tenant(self) -> None:
        """Take changes another process (mailflow-lab ps) saved since; called as each session opens."""
        if self.state_dir is None:
            return
        changed = tenant_mtime(self.state_dir)
        if changed <= self.tenant_seen:
            return
        with self.lock:
            tenant = load_tenant(self.state_dir)
            if tenant is not None:
                self.world.tenant = tenant
            self.tenant_seen = changed

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
            # The log is in time order (appended under the lock, and lab time never goes back): bisect
            # rather than compare every entry, which cost milliseconds per message on a busy day.
            del log[: bisect.bisect_right(log, now - timedelta(days=1), key=_when)]
            recent = log[bisect.bisect_right(log, now - window, key=_when) :]
        return len(recent), sum(n for _, n in recent)


def _when(entry: tuple[datetime, int]) -> datetime:
    return entry[0]
