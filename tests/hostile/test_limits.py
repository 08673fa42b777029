"""Every limit has its reply: line length, size, recipients, commands, unknown commands, idle time,
connections per client address, and a thousand idle connections held at once."""

from __future__ import annotations

import selectors
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import FABRIKAM, MX, SCANNER, SUBMISSION, Wire, bare, message, signed_in, stored_messages

from mailflow_lab import Device, Lab
from mailflow_lab.auth.oauth import xoauth2_initial_response
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.session import SessionLimits

LINE_TOO_LONG = str(R.LINE_TOO_LONG)
TOO_BIG = str(R.MESSAGE_TOO_BIG)


def mx(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo()
    return wire


def big_message(size: int, subject: str = "big") -> bytes:
    """A message of about `size` bytes in 8,000-byte lines (few lines: aiosmtpd reads line by line)."""
    line = b"B" * 7998 + b"\r\n"
    head = f"From: scanner@contoso.com\r\nSubject: {subject}\r\n\r\n".encode()
    return head + line * (size // len(line) + 1) + b".\r\n"


@pytest.fixture
def quick_lab(tmp_path: Path) -> Iterator[Lab]:
    """A lab whose sessions time out after one second of silence."""
    with Lab.start(state_dir=tmp_path / "state", limits=SessionLimits(idle_timeout_s=1.0)) as running:
        yield running
        assert running.runtime.errors == []


# -- line length (RFC 5321 §4.5.3.1.4: 512 octets a command line; RFC 4954 §4: 12,288 for AUTH) -------


def test_command_lines_longer_than_512_octets_are_refused(lab: Lab) -> None:
    with mx(lab) as wire:
        assert wire.cmd("NOOP " + "x" * 505).startswith("250")  # 510 octets and CRLF
        assert bare(wire.cmd("NOOP " + "x" * 600)) == LINE_TOO_LONG
        assert bare(wire.cmd("NOOP " + "x" * 100_000)) == LINE_TOO_LONG  # beyond the reader's buffer too
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250 2.1.0")  # the session goes on


def test_an_auth_line_may_carry_a_12288_octet_token(lab: Lab) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.starttls(lab, SUBMISSION)
        wire.ehlo()
        fits = xoauth2_initial_response(SCANNER[0], "t" * 9000)  # a bogus token, 12,076 octets encoded
        assert len("AUTH XOAUTH2 " + fits) <= 12288
        assert wire.cmd("AUTH XOAUTH2 " + fits).startswith("535 5.7.3")  # read whole, then refused
        too_long = xoauth2_initial_response(SCANNER[0], "t" * 9300)
        assert bare(wire.cmd("AUTH XOAUTH2 " + too_long)) == LINE_TOO_LONG
        assert wire.cmd("AUTH LOGIN").startswith("334")
        assert bare(wire.cmd("A" * 20_000)) == LINE_TOO_LONG  # an over-long answer to the challenge
        assert wire.auth_login(*SCANNER).startswith("235 2.7.0")


def test_an_overlong_line_in_data_refuses_the_message(lab: Lab) -> None:
    with mx(lab) as wire:
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert bare(wire.data(b"Subject: wide\r\n\r\n" + b"w" * 20_000 + b"\r\n.\r\n")) == LINE_TOO_LONG
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert wire.data(message("narrow")).startswith("250 2.6.0")
    assert [s.subject for s in stored_messages(lab)] == ["narrow"]


# -- message size --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "declared"),
    [
        pytest.param("mx", R.MAX_MESSAGE_SIZE_ADVERTISED + 1, id="mx-150MB"),
        # Over MaxSendSize (35 MB) but under SIZE, submission takes MAIL: only the advertised SIZE is refused.
        pytest.param("submission", R.MAX_MESSAGE_SIZE_ADVERTISED + 1, id="submission-150MB"),
        pytest.param("fabrikam", 52428800 + 1, id="fabrikam-50MB"),
    ],
)
def test_a_declared_size_over_the_limit_is_refused_at_mail_from(
    lab: Lab, endpoint: str, declared: int
) -> None:
    wire = {"mx": mx, "submission": signed_in}.get(endpoint)
    with wire(lab) if wire else Wire(lab.endpoint(FABRIKAM, 25)) as client:
        if endpoint == "fabrikam":
            assert "250-SIZE 52428800" in client.ehlo()
        assert bare(client.cmd(f"MAIL FROM:<scanner@contoso.com> SIZE={declared}")) == TOO_BIG
        assert client.cmd(f"MAIL FROM:<scanner@contoso.com> SIZE={declared - 1}").startswith("250")


def test_a_message_over_35_mb_from_a_mailbox_is_refused_after_data(lab: Lab) -> None:
    """The mailbox's maximum send size (35 MB, EOP sheet), for a client that declared no SIZE."""
    with signed_in(lab) as wire:
        assert wire.cmd("MAIL FROM:<scanner@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert bare(wire.data(big_message(35 * 1024 * 1024 + 1))) == str(R.MAX_SUBMISSION_EXCEEDED)
        assert wire.cmd("NOOP").startswith("250")
    assert stored_messages(lab) == [] and lab.message_trace() == []


def test_a_message_over_fabrikams_50_mb_is_refused(lab: Lab) -> None:
    with Wire(lab.endpoint(FABRIKAM, 25)) as wire:
        wire.ehlo()
        assert wire.cmd("MAIL FROM:<partner@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<pat@fabrikam.com>").startswith("250")
        assert bare(wire.data(big_message(52428800 + 1))) == TOO_BIG
    assert stored_messages(lab) == []


@pytest.mark.fuzz
def test_a_message_over_150_mb_at_the_mx_is_refused(lab: Lab) -> None:
    with mx(lab) as wire:
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert bare(wire.data(big_message(R.MAX_MESSAGE_SIZE_ADVERTISED + 1))) == TOO_BIG
    assert stored_messages(lab) == []


# -- recipients per message (500 by default; EOP sheet) -------------------------------------------------


@pytest.mark.parametrize("opener", [signed_in, mx], ids=["submission", "mx"])
def test_the_501st_recipient_is_refused_with_4_5_3(lab: Lab, opener: object) -> None:
    with opener(lab) as wire:  # type: ignore[operator]
        assert wire.cmd("MAIL FROM:<scanner@contoso.com>").startswith("250")
        wire.send(b"RCPT TO:<alex@contoso.com>\r\n" * 501)  # pipelined (PIPELINING is advertised)
        replies = [wire.last() for _ in range(501)]
        assert set(replies[:500]) == {str(R.RECIPIENT_OK)}
        assert bare(replies[500]) == str(R.TOO_MANY_RECIPIENTS) == "452 4.5.3 Too many recipients"


# -- commands per session, and unknown commands --------------------------------------------------------


def test_the_2001st_command_ends_the_session(lab: Lab) -> None:
    limit = SessionLimits().max_commands
    with mx(lab) as wire:
        wire.send(b"NOOP\r\n" * (limit - 1) + b"NOOP\r\nNOOP\r\nNOOP\r\n")  # EHLO was the first command
        replies = [wire.last() for _ in range(limit)]
        assert set(replies[:-1]) == {str(R.NOOP)}
        assert (
            bare(replies[-1])
            == str(R.TOO_MANY_COMMANDS)
            == "421 4.4.2 Connection dropped due to too many commands"
        )
        assert wire.closed()
        assert wire.rest() == []  # nothing after the closing reply


def test_five_unknown_commands_end_the_session(lab: Lab) -> None:
    with mx(lab) as wire:
        for _ in range(4):
            assert bare(wire.cmd("FOO")) == "500 5.3.3 Unrecognized command 'FOO'"
        assert bare(wire.cmd("BAR")) == "500 5.3.3 Unrecognized command 'BAR'"
        assert bare(wire.last()) == str(R.TOO_MANY_ERRORS)
        assert wire.closed()


def test_protocol_errors_of_every_kind_count(lab: Lab) -> None:
    """MaxProtocolErrors: unknown commands, bad arguments, bad sequence, malformed addresses."""
    with mx(lab) as wire:
        assert wire.cmd("FOO").startswith("500 5.3.3")
        assert wire.cmd("MAIL").startswith("501 5.5.4")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("503 5.5.2 Need mail command")
        assert bare(wire.cmd("MAIL FROM:<a@b@c>")) == "501 5.1.7 Invalid address"
        assert wire.cmd("NOOP").startswith("250")  # fine commands do not reset the count
        assert bare(wire.cmd("EXPN staff")) == "502 5.3.3 Command not implemented"
        assert (
            bare(wire.last()) == "421 4.7.0 Too many errors on this connection, closing transmission channel"
        )
        assert wire.closed()


def test_a_normal_session_is_not_near_any_limit(lab: Lab) -> None:
    device = Device("Printer", server=SUBMISSION, port=587, tls="starttls", username=SCANNER[0],
                    password=SCANNER[1], sender=SCANNER[0])  # fmt: skip
    for index in range(3):
        assert device.send(lab, to=["alex@contoso.com", "pat@fabrikam.com"], subject=f"ok {index}").accepted


# -- idle timeout (ConnectionInactivityTimeout; one second in these labs) -------------------------------


def test_a_silent_client_is_told_and_closed_at_the_idle_timeout(quick_lab: Lab) -> None:
    started = time.monotonic()
    with Wire(quick_lab.endpoint(MX, 25)) as wire:
        assert bare(wire.last()) == "451 4.7.0 Timeout waiting for client input"
        assert wire.closed()
    assert 0.9 < time.monotonic() - started < 5


@pytest.mark.parametrize("where", ["after-ehlo", "in-data", "in-auth", "after-starttls"])
def test_silence_anywhere_in_a_session_times_out(quick_lab: Lab, where: str) -> None:
    endpoint = (MX, 25) if where in ("after-ehlo", "in-data") else (SUBMISSION, 587)
    with Wire(quick_lab.endpoint(*endpoint)) as wire:
        wire.ehlo()
        if where == "in-data":
            assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
            assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
            assert wire.cmd("DATA").startswith("354")
            wire.send(b"Subject: unfinished\r\n\r\nhalf a mess")
        if where in ("in-auth", "after-starttls"):
            wire.starttls(quick_lab, SUBMISSION)
            wire.ehlo()
        if where == "in-auth":
            assert wire.cmd("AUTH LOGIN").startswith("334")
        assert bare(wire.last()) == str(R.IDLE_TIMEOUT)
        assert wire.closed()
    assert stored_messages(quick_lab) == []


def test_a_client_that_keeps_talking_is_not_timed_out(quick_lab: Lab) -> None:
    """The timeout counts silence: commands, and bytes of a slow upload, restart it."""
    with Wire(quick_lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        for _ in range(2):
            time.sleep(0.6)
            assert wire.cmd("NOOP").startswith("250")
        assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<alex@contoso.com>").startswith("250")
        assert wire.cmd("DATA").startswith("354")
        wire.send(b"Subject: slow\r\n\r\n")
        for _ in range(2):
            time.sleep(0.6)
            wire.send(b"a slow line\r\n")
        wire.send(b".\r\n")
        assert wire.last().startswith("250 2.6.0")
    assert [s.subject for s in stored_messages(quick_lab)] == ["slow"]


# -- concurrent connections per client address (MaxInboundConnectionPerSource, 20) ---------------------


def test_the_21st_connection_from_one_address_is_refused(lab: Lab) -> None:
    limit = SessionLimits().max_connections_per_address
    held = [Wire(lab.endpoint(MX, 25)) for _ in range(limit)]
    try:
        assert all(w.banner[0].startswith("220 ") for w in held)
        with Wire(lab.endpoint(MX, 25)) as refused:
            assert [bare(line) for line in refused.banner] == [str(R.TOO_MANY_CONNECTIONS_FROM_ADDRESS)]
            assert refused.closed()
        # Another endpoint counts its own sessions (as each receive connector does).
        with Wire(lab.endpoint(SUBMISSION, 587)) as other:
            assert other.banner[0].startswith("220 ")
        # One session declares another address (XCLIENT): the office address has room again.
        held[0].ehlo()
        assert held[0].xclient("198.51.100.23").startswith("220 ")
        with Wire(lab.endpoint(MX, 25)) as again:
            assert again.banner[0].startswith("220 ")
        # Closing a session frees its place.
        held[1].cmd("QUIT")
        held[1].close()
        assert _eventually(lambda: _greeted(lab))
    finally:
        for wire in held:
            wire.close()


def test_xclient_into_a_full_address_is_refused(tmp_path: Path) -> None:
    limits = SessionLimits(max_connections_per_address=2)
    with Lab.start(state_dir=tmp_path / "state", limits=limits) as lab:
        branch = [Wire(lab.endpoint(MX, 25)) for _ in range(2)]
        for wire in branch:
            wire.ehlo()
            assert wire.xclient("198.51.100.23").startswith("220 ")
        with Wire(lab.endpoint(MX, 25)) as third:
            third.ehlo()
            assert bare(third.xclient("198.51.100.23")) == str(R.TOO_MANY_CONNECTIONS_FROM_ADDRESS)
            assert third.closed()
        for wire in branch:
            wire.close()
        assert lab.runtime.errors == []


def test_the_endpoint_wide_limit(tmp_path: Path) -> None:
    limits = SessionLimits(max_connections=3, max_connections_per_address=10)
    with Lab.start(state_dir=tmp_path / "state", limits=limits) as lab:
        held = [Wire(lab.endpoint(MX, 25)) for _ in range(3)]
        with Wire(lab.endpoint(MX, 25)) as fourth:
            assert [bare(line) for line in fourth.banner] == [str(R.TOO_MANY_CONNECTIONS)]
        for wire in held:
            wire.close()


def _greeted(lab: Lab) -> bool:
    with Wire(lab.endpoint(MX, 25)) as wire:
        return wire.banner[0].startswith("220 ")


def _eventually(check: object, wait_s: float = 5.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return True
        except (OSError, EOFError):
            pass
        time.sleep(0.05)
    return False


# -- a thousand idle connections --------------------------------------------------------------------------


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_thousand_idle_connections_are_held_then_closed_at_the_timeout(tmp_path: Path) -> None:
    import resource  # POSIX only

    count, idle_s = 1000, 3.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * count + 200:
        if hard != resource.RLIM_INFINITY and hard < 2 * count + 200:
            pytest.skip(f"needs {2 * count + 200} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2 * count + 200, hard))
    limits = SessionLimits(idle_timeout_s=idle_s, max_connections_per_address=count + 10)
    with Lab.start(state_dir=tmp_path / "state", limits=limits) as lab:
        host, port = lab.endpoint(MX, 25)
        before = _rss_bytes()
        started = time.monotonic()
        socks = [socket.create_connection((host, port), timeout=10) for _ in range(count)]
        try:
            # Half of them also start a command line and never finish it (a 10 kB partial line each).
            for sock in socks[::2]:
                sock.sendall(b"MAIL FROM:<" + b"x" * 10_000)
            received = {sock: b"" for sock in socks}
            # While they are all held, a normal device is served.
            printer = Device("Printer", server=MX, port=25, tls="none", sender="printer@contoso.com")
            assert printer.send(lab, to=["alex@contoso.com"], subject="served").accepted
            grown = _rss_bytes() - before
            assert grown < 150 * 1024 * 1024, f"{count} idle sessions took {grown / 2**20:.0f} MiB"
            print(f"{count} idle sessions (half with a 10 kB partial line): {grown / 2**20:.0f} MiB more RSS")
            # Each is told and closed at the timeout (measured from its last byte).
            closed = _read_until_closed(socks, received, deadline=started + idle_s + 20)
            assert len(closed) == count, f"only {len(closed)} of {count} were closed"
            assert time.monotonic() - started >= idle_s * 0.9
            for data in received.values():
                assert data.startswith(b"220 ") and data.endswith(b"\r\n")
                last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1].decode()
                assert bare(last) == "451 4.7.0 Timeout waiting for client input"
        finally:
            for sock in socks:
                sock.close()
        assert _eventually(lambda: _open_sessions(lab) == 0)
        assert lab.runtime.errors == []


def _read_until_closed(
    socks: list[socket.socket], received: dict[socket.socket, bytes], deadline: float
) -> set:
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed: set[socket.socket] = set()
    try:
        while len(closed) < len(socks) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    received[sock] += chunk  # type: ignore[index]
                else:
                    closed.add(sock)  # type: ignore[arg-type]
                    selector.unregister(sock)
    finally:
        selector.close()
    return closed


def _open_sessions(lab: Lab) -> int:
    return len([c for c in list(lab._servers._connections) if c.transport is not None])
