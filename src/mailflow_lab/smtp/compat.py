"""Every use of aiosmtpd's and asyncio's private internals, in one place to check at an aiosmtpd upgrade.

Checked against aiosmtpd 1.4.6 and CPython 3.11 (tests/hostile and tests/smtp/test_chunking.py fail if
one of them changes shape). Besides the two helpers and aiosmtpd's BOGUS_LIMIT below, LabSMTP overrides
these private aiosmtpd hooks by name: `_handle_client` (refuse before the banner), `_timeout_cb`
(Exchange's idle reply), `_call_handler_hook` (address checks before any handler), `_smtp_methods`
(command counting: `CommandTable`), `__dir__` (see `hook_names`),
`_create_session` / `_create_envelope`, `_getaddr` (see `getaddr`), and reads `_reader`, `_writer`,
`_handler_coroutine`, `_original_transport`, `_tls_protocol`, `_reset_timeout` and `_set_rset_state`.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import functools
import re
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import aiosmtpd.smtp

from ..policy.session import MAX_PROTOCOL_ERRORS

# aiosmtpd ends a session after five unknown commands with its own "502 5.5.1 Too many unrecognized
# commands", read once per session from this module constant. The lab counts every protocol error itself
# (MaxProtocolErrors, policy/session.py) and closes first, so that the fifth unknown command is answered
# with its own echo, as Exchange answers it, before the 421.
aiosmtpd.smtp.BOGUS_LIMIT = MAX_PROTOCOL_ERRORS + 1


# What aiosmtpd's SMTP.__init__ looks up by name on the session and on the handler, on every connection:
# `inspect.getmembers` (auth_*) and `dir()` (smtp_*, handle_*) over every attribute of both objects. That
# was a tenth of the lab's CPU per message (issue 22). LabSMTP and EndpointHandler answer `dir()` with
# these names only, found once per class, so the tables aiosmtpd builds are the same and cost little.
_HOOK_PREFIXES = ("smtp_", "auth_", "handle_")


@functools.cache
def hook_names(cls: type) -> list[str]:
    """The smtp_*, auth_* and handle_* names of a class, once per class: what `dir()` of its objects says."""
    return sorted(name for name in dir(cls) if name.startswith(_HOOK_PREFIXES))


@functools.cache
def command_names(cls: type) -> tuple[str, ...]:
    """The SMTP commands a class answers (its smtp_* methods), found once per class."""
    return tuple(name.removeprefix("smtp_") for name in hook_names(cls) if name.startswith("smtp_"))


class CommandTable(Mapping[str, Any]):
    """aiosmtpd's `_smtp_methods` for one connection: its commands, each looked up when it is used and
    handed to one `dispatch(session, verb, method, arg)` coroutine function (which counts it). A dict of
    wrapped bound methods per connection cost a tenth of the CPU of a short session and 1.4 KB of every
    idle one; looking the method up at use keeps a method replaced on the class (a test's) in force."""

    __slots__ = ("_dispatch", "_names", "_session")

    def __init__(self, session: object, dispatch: Callable[..., Any]) -> None:
        self._session = session
        self._dispatch = dispatch
        self._names = command_names(type(session))

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        method = getattr(self._session, f"smtp_{name}")
        return functools.partial(self._dispatch, self._session, name, method)

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self._names else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# RFC 5321 §4.1.2 paths as nearly every client sends them: <dot-atom@domain>, then parameters or nothing.
# aiosmtpd parses every path with the email package's header parser (and defines a typing.Protocol class
# on each call), a tenth of the lab's CPU per message; these are answered the same way at a fraction of
# the cost (tests/smtp/test_getaddr.py compares the two), and everything else still goes to aiosmtpd.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_SIMPLE_PATH = re.compile(rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@{_DOMAIN})>[ \t]*(?![(\s])")


def getaddr(smtp: aiosmtpd.smtp.SMTP, arg: str) -> tuple[str | None, str | None]:
    """aiosmtpd's `SMTP._getaddr` (an address and the rest of the line), quick for plain paths."""
    match = _SIMPLE_PATH.match(arg)
    if match is None:
        return aiosmtpd.smtp.SMTP._getaddr(smtp, arg)
    address = match[1]
    if smtp.local_part_limit and len(address.rpartition("@")[0]) > smtp.local_part_limit:
        return None, None
    return address, arg[match.end() :]


def drop_buffered_input(reader: asyncio.StreamReader | None) -> None:
    """Forget what the client sent that was not read yet, and unpause the reader (as aiosmtpd does at
    STARTTLS): a reader paused on a full buffer would ask a closed transport to resume reading."""
    if reader is not None:
        reader._buffer.clear()  # type: ignore[attr-defined]
        reader._paused = False  # type: ignore[attr-defined]


def start_server_tls(smtp: Any, context: ssl.SSLContext) -> asyncio.Future[None]:
    """aiosmtpd's STARTTLS switch of transports, with one change: plaintext the client sent after STARTTLS
    (RFC 3207 §4.2 says it must not) is dropped, and a socket paused because that plaintext filled the
    reader is resumed. Paused, the TLS handshake would never see the client's bytes, nor its end, and would
    hang until asyncio's 60-second handshake timeout. Returns the handshake's future."""
    waiter: asyncio.Future[None] = smtp.loop.create_future()
    smtp._tls_protocol = sslproto.SSLProtocol(smtp.loop, smtp, context, waiter, server_side=True)
    raw = smtp.transport
    assert raw is not None
    smtp._original_transport = raw
    raw.set_protocol(smtp._tls_protocol)
    smtp.transport = smtp._tls_protocol._app_transport
    smtp._tls_protocol.connection_made(raw)
    drop_buffered_input(smtp._reader)
    if not raw.is_reading():
        raw.resume_reading()
    return waiter
