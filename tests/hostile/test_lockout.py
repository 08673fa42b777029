"""Entra ID Smart Lockout over real sockets: 10 wrong passwords lock a user name from one address for 60 s."""

from __future__ import annotations

import time

from hostile_kit import SCANNER, SUBMISSION, Wire, bare

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.lockout import LOCKOUT_THRESHOLD

OTHER_SITE = "198.51.100.23"


def signed_in_wire(lab: Lab, address: str | None = None) -> Wire:
    """A connection to smtp.office365.com:587, after XCLIENT (when given), EHLO and STARTTLS."""
    wire = Wire(lab.endpoint(SUBMISSION, 587))
    if address is not None:
        assert wire.xclient(address).startswith("220 ")
    wire.ehlo()
    wire.starttls(lab, SUBMISSION)
    wire.ehlo()
    return wire


def fail(wire: Wire, user: str, times: int = LOCKOUT_THRESHOLD) -> list[str]:
    """`times` different wrong passwords (Entra does not count one wrong password retried)."""
    return [wire.auth_login(user, f"Wrong#{n}") for n in range(times)]


def test_ten_wrong_passwords_lock_the_right_one_out(lab: Lab) -> None:
    with signed_in_wire(lab) as wire:
        replies = fail(wire, SCANNER[0])
        assert {bare(r) for r in replies} == {str(R.AUTH_BAD_CREDENTIALS)}
        assert bare(wire.auth_login(*SCANNER)) == str(R.AUTH_ACCOUNT_LOCKED)
        # Still locked in a new session, and MAIL quotes the lockout.
    with signed_in_wire(lab) as wire:
        assert bare(wire.auth_login(*SCANNER)) == str(R.AUTH_ACCOUNT_LOCKED)
        assert bare(wire.cmd(f"MAIL FROM:<{SCANNER[0]}>")) == str(R.not_authenticated(R.AUTH_ACCOUNT_LOCKED))


def test_one_wrong_password_retried_does_not_lock(lab: Lab) -> None:
    with signed_in_wire(lab) as wire:
        for _ in range(3 * LOCKOUT_THRESHOLD):
            assert bare(wire.auth_login(SCANNER[0], "Same#Wrong")) == str(R.AUTH_BAD_CREDENTIALS)
        assert wire.auth_login(*SCANNER).startswith("235 ")


def test_another_source_address_is_not_locked(lab: Lab) -> None:
    with signed_in_wire(lab) as wire:
        fail(wire, SCANNER[0])
        assert bare(wire.auth_login(*SCANNER)) == str(R.AUTH_ACCOUNT_LOCKED)
    with signed_in_wire(lab, OTHER_SITE) as wire:
        assert wire.auth_login(*SCANNER).startswith("235 ")


def test_the_lock_lifts_after_60_seconds_of_lab_time(lab: Lab) -> None:
    lab.clock.freeze()
    with signed_in_wire(lab) as wire:
        fail(wire, SCANNER[0])
        lab.clock.advance(seconds=59)
        assert bare(wire.auth_login(*SCANNER)) == str(R.AUTH_ACCOUNT_LOCKED)
        lab.clock.advance(seconds=1)
        assert wire.auth_login(*SCANNER).startswith("235 ")


def test_a_second_lockout_lasts_longer(lab: Lab) -> None:
    lab.clock.freeze()
    with signed_in_wire(lab) as wire:
        fail(wire, SCANNER[0])
        lab.clock.advance(seconds=60)
        fail(wire, SCANNER[0])
        lab.clock.advance(seconds=60)
        assert bare(wire.auth_login(*SCANNER)) == str(R.AUTH_ACCOUNT_LOCKED)
        lab.clock.advance(seconds=60)
        assert wire.auth_login(*SCANNER).startswith("235 ")


def test_unknown_user_and_wrong_password_answer_alike(lab: Lab) -> None:
    """No user enumeration: the same reply and about the same time, before and after the lock."""
    unknown = "nobody@contoso.com"
    timings: dict[str, float] = {}
    with signed_in_wire(lab) as wire:
        for user in (SCANNER[0], unknown):
            start = time.perf_counter()
            replies = fail(wire, user)
            timings[user] = time.perf_counter() - start
            assert {bare(r) for r in replies} == {str(R.AUTH_BAD_CREDENTIALS)}, user
        locked = {bare(wire.auth_login(user, "Another#1")) for user in (SCANNER[0], unknown)}
        assert locked == {str(R.AUTH_ACCOUNT_LOCKED)}
    # Loose bound for a shared machine: neither answers ten times slower than the other.
    assert max(timings.values()) < 10 * min(timings.values()) + 0.5, timings
