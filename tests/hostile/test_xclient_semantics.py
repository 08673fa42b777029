"""XCLIENT as Postfix defines it: not in a transaction, a session started over, only real client addresses."""

from __future__ import annotations

import time

import pytest
from hostile_kit import MX, SCANNER, SUBMISSION, Wire, bare

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.store.sessions import SessionRecord, load_sessions


def test_xclient_after_mail_is_refused(lab: Lab) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        assert wire.cmd("MAIL FROM:<alerts@fabrikam.com>").startswith("250 ")
        assert bare(wire.xclient("203.0.113.10")) == str(R.XCLIENT_IN_TRANSACTION)
        # The transaction goes on untouched, and after RSET XCLIENT is taken.
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250 ")
        assert wire.cmd("RSET").startswith("250 ")
        assert wire.xclient("203.0.113.10").startswith("220 ")


def test_after_xclient_the_session_starts_over(lab: Lab) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.starttls(lab, SUBMISSION)
        wire.ehlo()
        assert wire.auth_login(*SCANNER).startswith("235 ")
        assert wire.xclient("203.0.113.10").startswith("220 ")
        # A fresh session: MAIL before a new EHLO is refused ...
        assert bare(wire.cmd(f"MAIL FROM:<{SCANNER[0]}>")) == str(R.SEND_HELLO_FIRST)
        ehlo = wire.ehlo()
        assert ehlo[0].endswith("Hello [203.0.113.10]")
        assert f"250-{R.AUTH_EXTENSION}" in ehlo  # still in TLS: XCLIENT changes no TLS state
        # ... and the sign-in is gone: MAIL needs AUTH again, which is offered again.
        assert bare(wire.cmd(f"MAIL FROM:<{SCANNER[0]}>")) == str(R.not_authenticated(None))
        assert wire.auth_login(*SCANNER).startswith("235 ")
        assert wire.cmd(f"MAIL FROM:<{SCANNER[0]}>").startswith("250 ")
    assert lab.runtime.errors == []


@pytest.mark.parametrize(
    "address", ["0.0.0.0", "255.255.255.255", "224.0.0.1", "239.255.255.250", "IPV6:::", "IPV6:ff02::1"]
)
def test_unspecified_broadcast_and_multicast_addresses_are_refused(lab: Lab, address: str) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        assert bare(wire.xclient(address)) == str(R.xclient_bad_address(address))
        # The session keeps the address it had.
        assert wire.ehlo()[0].endswith(f"Hello [{lab.world.network.office.public_ip}]")


@pytest.mark.parametrize("address", ["IPV6:::ffff:203.0.113.5", "::ffff:203.0.113.5"])
def test_ipv4_mapped_ipv6_is_recorded_as_ipv4(lab: Lab, address: str) -> None:
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        assert wire.xclient(address).startswith("220 ")
        assert wire.ehlo()[0].endswith("Hello [203.0.113.5]")
        assert wire.cmd("QUIT").startswith("221 ")
    assert [s.client_ip for s in _sessions(lab, 1)] == ["203.0.113.5"]


def _sessions(lab: Lab, count: int) -> list[SessionRecord]:
    """Sessions are recorded as the server sees them close, a moment after the client hung up."""
    deadline = time.monotonic() + 10
    found = load_sessions(lab.state_dir)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        found = load_sessions(lab.state_dir)
    return found
