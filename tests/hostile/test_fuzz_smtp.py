"""Random and mutated SMTP command streams into every endpoint, over real sockets (hypothesis).

For every stream: the server answers only in well-formed replies (every 4xx/5xx with an enhanced status
code, as ENHANCEDSTATUSCODES promises), closes the session within seconds of the client's end of input
(no hang), and notes no error in `lab.runtime.errors` (no exception escaped a handler). Afterwards a
normal client is served. A short run is part of every `make test`; `pytest -m fuzz` runs a long one.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_kit import FABRIKAM, MX, SCANNER, SUBMISSION, Wire, message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow_lab import Device, Lab
from mailflow_lab.auth.oauth import xoauth2_initial_response

SHORT_RUN = 40  # examples per endpoint and prelude in every `make test`
LONG_RUN = 1500  # with `pytest -m fuzz`
CLOSE_WITHIN_S = 10.0

ENDPOINTS = {
    "submission": (SUBMISSION, 587),
    "submission-25": (SUBMISSION, 25),
    "legacy": ("smtp-legacy.office365.com", 587),
    "mx": (MX, 25),
    "fabrikam": (FABRIKAM, 25),
}
TLS_ENDPOINTS = {"submission", "submission-25", "legacy", "mx"}

# Commands a real client sends, and the odd ones an attacker tries; mutated below.
SEEDS = [
    b"EHLO printer.local",
    b"HELO printer.local",
    b"EHLO",
    b"MAIL FROM:<scanner@contoso.com>",
    b"MAIL FROM:<printer@contoso.com> SIZE=1000 BODY=8BITMIME",
    b"MAIL FROM:<> BODY=BINARYMIME RET=HDRS ENVID=x",
    b"MAIL FROM:<a@b@c>",
    b"MAIL FROM:<\xff\xfe@contoso.com> SMTPUTF8",
    b"MAIL FROM:<x@" + b"a" * 70 + b".example>",
    b"RCPT TO:<alex@contoso.com>",
    b"RCPT TO:<pat@fabrikam.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;pat@fabrikam.com",
    b"RCPT TO:<@contoso.com:pat@fabrikam.com>",
    b"RCPT TO:<pat%fabrikam.com@contoso.com>",
    b"RCPT TO:<pat@[192.0.2.25]>",
    b"RCPT TO:<postmaster>",
    b"DATA",
    b"Subject: fuzz",
    b"",
    b".",
    b"..",
    b"RSET",
    b"NOOP",
    b"HELP",
    b"VRFY alex",
    b"EXPN staff",
    b"BDAT 10 LAST",
    b"STARTTLS",
    b"AUTH LOGIN",
    b"AUTH LOGIN c2Nhbm5lckBjb250b3NvLmNvbQ==",
    b"AUTH PLAIN AHNjYW5uZXJAY29udG9zby5jb20AU2NhbiMyMDI2",
    b"AUTH XOAUTH2 " + xoauth2_initial_response("scanner@contoso.com", "not-a-token").encode(),
    b"AUTH CRAM-MD5",
    b"*",
    b"U2NhbiMyMDI2",
    b"XCLIENT ADDR=198.51.100.23",
    b"XCLIENT ADDR=IPV6:2001:db8::1 HELO=x",
    b"XCLIENT ADDR=not-an-ip",
    b"QUIT",
    b"\x00\x01\x02",
    b"\xff" * 40,
]
ENDINGS = [b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b"", b"\r\r\n", b"\n\r"]
WELL_FORMED = re.compile(r"^\d{3}[ -]")
ENHANCED = re.compile(r"^[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}( |$)")


@st.composite
def commands(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["seed", "seed", "mutated", "random", "long", "data-block"]))
    if kind == "seed":
        line = draw(st.sampled_from(SEEDS))
    elif kind == "mutated":
        line = bytearray(draw(st.sampled_from(SEEDS)))
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(line)))
            op = draw(st.sampled_from(["insert", "delete", "replace", "case"]))
            if op == "insert":
                line[position:position] = draw(st.binary(min_size=1, max_size=8))
            elif op == "delete" and line:
                del line[position % len(line)]
            elif op == "replace" and line:
                line[position % len(line)] = draw(st.integers(0, 255))
            elif line:
                line = bytearray(bytes(line).swapcase())
        line = bytes(line)
    elif kind == "random":
        line = draw(st.binary(max_size=64))
    elif kind == "long":
        line = draw(st.sampled_from(SEEDS)) + b"x" * draw(st.sampled_from([500, 513, 1001, 12_300, 70_000]))
    else:
        body = draw(
            st.lists(st.sampled_from([b"a line", b".", b"..", b"", b".\n", b"\r.", b"x" * 2000]), max_size=8)
        )
        line = b"DATA\r\n" + b"\r\n".join(body) + draw(st.sampled_from([b"\r\n.", b"\n.", b""]))
    return line + draw(st.sampled_from(ENDINGS))


class Stream:
    """What one session sends; a short repr (hypothesis prints failing examples, some are 100 kB)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Stream({len(self.data)} bytes: {self.data[:300]!r}...)"


STREAMS = st.lists(commands(), min_size=1, max_size=25).map(lambda parts: Stream(b"".join(parts)))


def _open(lab: Lab, endpoint: str, prelude: str) -> socket.socket:
    """A connection after its prelude: raw, after EHLO, after STARTTLS, or signed in."""
    wire = Wire(lab.endpoint(*ENDPOINTS[endpoint]))
    if prelude != "raw":
        wire.ehlo()
    if prelude in ("tls", "signed-in"):
        host = ENDPOINTS[endpoint][0]
        wire.starttls(lab, "smtp.office365.com" if host.startswith("smtp") else host)
        wire.ehlo()
    if prelude == "signed-in":
        wire.auth_login(*SCANNER)  # may be refused (three sessions per mailbox): the fuzz goes on
    return wire.sock


# After the stream: end any line, any DATA, then QUIT; a server still holding on after this hangs.
TERMINATOR = b"\r\n.\r\nQUIT\r\n"


def _exchange(sock: socket.socket, stream: bytes) -> tuple[bytes, bool]:
    """Send the stream (and the terminator), read until the server closes; (what came back, closed)."""
    received = b""
    try:
        sock.sendall(stream + TERMINATOR)
        if not isinstance(sock, ssl.SSLSocket):
            sock.shutdown(socket.SHUT_WR)  # and the end of input (a TLS socket would drop TLS here)
    except OSError:
        pass  # the server may have closed already (QUIT, 421): what it sent is still readable
    deadline = time.monotonic() + CLOSE_WITHIN_S
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # ssl.SSLError too: a reset, or a TLS session torn down by garbage
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def _check_replies(received: bytes) -> None:
    lines = received.split(b"\r\n")
    for raw in lines[:-1]:
        line = raw.decode("utf-8", "replace")
        assert WELL_FORMED.match(line), f"malformed reply line {line!r}"
        if line[0] in "45":
            assert ENHANCED.match(line), f"a {line[:3]} reply without an enhanced status code: {line!r}"
    assert lines[-1] == b"" or not lines[-1].strip(b"\x00"), f"a reply line without CRLF: {lines[-1]!r}"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One lab for every example (a lab per example would measure start-up, not robustness)."""
    state = Path(tmp_path_factory.mktemp("fuzz")) / "state"
    collect = _Collect()
    watched = [logging.getLogger("asyncio"), logging.getLogger("mailflow_lab")]
    for logger in watched:
        logger.addHandler(collect)
    try:
        with Lab.start(state_dir=state) as lab:
            yield lab
    finally:
        for logger in watched:
            logger.removeHandler(collect)
    assert [r.getMessage() for r in collect.records] == []  # e.g. "Task exception was never retrieved"


def _served(lab: Lab, tag: str) -> None:
    """A normal client still gets its mail through each kind of endpoint."""
    scanner = Device("Scanner", server=SUBMISSION, port=587, tls="starttls", username=SCANNER[0],
                     password=SCANNER[1], sender=SCANNER[0])  # fmt: skip
    result = scanner.send(lab, to=["alex@contoso.com"], subject=f"after fuzz {tag}")
    assert result.accepted and result.outcome["alex@contoso.com"].where == "Inbox", result
    with Wire(lab.endpoint(FABRIKAM, 25)) as wire:
        wire.ehlo()
        assert wire.cmd("MAIL FROM:<partner@contoso.com>").startswith("250")
        assert wire.cmd("RCPT TO:<pat@fabrikam.com>").startswith("250")
        assert wire.data(message(f"fabrikam after fuzz {tag}", sender="partner@contoso.com")).startswith(
            "250"
        )


def fuzz_endpoint(lab: Lab, endpoint: str, prelude: str, examples: int, derandomize: bool) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(stream=STREAMS)
    def one_session(stream: Stream) -> None:
        sock = _open(lab, endpoint, prelude)
        try:
            received, closed = _exchange(sock, stream.data)
        finally:
            sock.close()
        try:
            assert closed, f"no close within {CLOSE_WITHIN_S} s of the end of input"
            _check_replies(received)
            assert lab.runtime.errors == [], lab.runtime.errors
        except AssertionError as failure:
            saved = Path(lab.state_dir).parent / f"failing-{endpoint}-{prelude}.bin"
            saved.write_bytes(stream.data)
            raise AssertionError(f"{failure} (the whole stream is in {saved})") from None

    one_session()


CASES = [
    pytest.param(endpoint, prelude, id=f"{endpoint}-{prelude}")
    for endpoint in ENDPOINTS
    for prelude in ("raw", "ehlo", "tls", "signed-in")
    if prelude in ("raw", "ehlo") or (endpoint in TLS_ENDPOINTS and (prelude == "tls" or endpoint != "mx"))
    if not (endpoint in ("submission-25", "legacy") and prelude in ("raw", "tls"))
]


@pytest.mark.parametrize(("endpoint", "prelude"), CASES)
def test_fuzz_short(fuzz_lab: Lab, endpoint: str, prelude: str) -> None:
    fuzz_endpoint(fuzz_lab, endpoint, prelude, SHORT_RUN, derandomize=True)
    _served(fuzz_lab, f"{endpoint}-{prelude}")


@pytest.mark.fuzz
@pytest.mark.parametrize(("endpoint", "prelude"), CASES)
def test_fuzz_long(fuzz_lab: Lab, endpoint: str, prelude: str) -> None:
    fuzz_endpoint(fuzz_lab, endpoint, prelude, LONG_RUN, derandomize=False)
    _served(fuzz_lab, f"{endpoint}-{prelude}-long")
