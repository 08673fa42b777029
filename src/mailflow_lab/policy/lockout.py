"""Entra ID Smart Lockout for SMTP AUTH LOGIN: wrong passwords counted per mailbox and source address."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import replies as R
from .decision import Decision

# Microsoft Entra smart lockout defaults (learn.microsoft.com, entra/identity/authentication/
# howto-password-smart-lockout): locked after 10 failed sign-ins, for 60 seconds at first, longer each
# time it locks again; the last three bad password hashes are remembered so that one wrong password
# retried does not count again; familiar and unfamiliar locations are counted apart.
LOCKOUT_THRESHOLD = 10
LOCKOUT_DURATION = timedelta(seconds=60)
REMEMBERED_BAD_PASSWORDS = 3
# Lab choices: Entra only says the lockout grows; the lab doubles it, up to an hour. The source address
# stands for the "location". At most this many (login, address) pairs are remembered (oldest dropped).
LOCKOUT_GROWTH = 2
MAX_LOCKOUT = timedelta(hours=1)
MAX_TRACKED = 10_000

BAD_CREDENTIALS_RULE = "submission.auth.bad-credentials"


@dataclass
class _Tally:
    """The failed sign-ins of one login from one address."""

    failures: int = 0
    bad_passwords: deque[bytes] = field(default_factory=lambda: deque(maxlen=REMEMBERED_BAD_PASSWORDS))
    locked_until: datetime | None = None
    lockouts: int = 0


@dataclass(frozen=True)
class LockoutSettings:
    """Smart lockout's threshold and first lockout duration (Entra's defaults)."""

    threshold: int = LOCKOUT_THRESHOLD
    duration: timedelta = LOCKOUT_DURATION


class SmartLockout:
    """Failed password sign-ins per (login, client address), by the lab's clock; thread-safe.

    The login is counted whether a mailbox has that name or not, with the same reply and the same work, so
    that the replies tell no one which user names exist. Passwords are kept only as keyed hashes.
    """

    def __init__(self, settings: LockoutSettings | None = None) -> None:
        self.settings = settings or LockoutSettings()
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)

    @staticmethod
    def _who(login: str, client_ip: str) -> tuple[str, str]:
        return login.strip().casefold(), client_ip

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def locked(self, login: str, client_ip: str, now: datetime) -> Decision | None:
        """The refusal while this login is locked from this address, the right password refused too."""
        with self._lock:
            tally = self._tallies.get(self._who(login, client_ip))
            until = tally.locked_until if tally is not None else None
        if until is None or now >= until:
            return None
        seconds = max(1, round((until - now).total_seconds()))
        why = (
            f"Entra ID Smart Lockout: {self.settings.threshold} wrong passwords for this user name from "
            f"{client_ip}, so sign-ins from there are refused for another {seconds} s, the right password too"
        )
        return Decision(R.AUTH_ACCOUNT_LOCKED, "submission.auth.locked", why)

    def record(self, login: str, client_ip: str, password: str, *, failed: bool, now: datetime) -> None:
        """Count a failed password (a repeat of one of the last three does not count); a success resets."""
        who = self._who(login, client_ip)
        digest = self._digest(password)
        with self._lock:
            tally = self._tallies.get(who)
            if not failed:
                if tally is not None:
                    tally.failures, tally.lockouts = 0, 0
                    tally.bad_passwords.clear()
                return
            if tally is None:
                tally = self._tallies[who] = _Tally()
                self._forget_oldest()
            if tally.locked_until is not None and now >= tally.locked_until:
                tally.locked_until = None
            if any(hmac.compare_digest(digest, seen) for seen in tally.bad_passwords):
                return
            tally.bad_passwords.append(digest)
            tally.failures += 1
            if tally.failures >= self.settings.threshold:
                growth = LOCKOUT_GROWTH ** min(tally.lockouts, 16)
                tally.locked_until = now + min(self.settings.duration * growth, MAX_LOCKOUT)
                tally.lockouts += 1
                tally.failures = 0
                tally.bad_passwords.clear()

    def _forget_oldest(self) -> None:
        while len(self._tallies) > MAX_TRACKED:
            del self._tallies[next(iter(self._tallies))]
