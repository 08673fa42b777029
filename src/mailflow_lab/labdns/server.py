"""The lab DNS on a loopback port: UDP and TCP answers from a LabDNS, for real resolvers and dig."""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import selectors
import socket
import struct
import threading
import time
import warnings
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import dns.flags
import dns.rcode

from .wire import CLASSIC_UDP_SIZE as CLASSIC_UDP_SIZE
from .wire import MAX_MESSAGE, Resolving, respond
from .wire import OUR_PAYLOAD as OUR_PAYLOAD

log = logging.getLogger(__name__)

# RFC 7766 §6.2.3: servers close idle TCP connections (BIND: 30 s). Lab clients ask at once, so 5 s is
# ample, and 64 idle clients hold every slot for 5 s at most (issue 18: they held it for 10 s).
TCP_IDLE_TIMEOUT = 5.0
# RFC 7766 §6.2.2: servers may limit concurrent TCP connections (BIND: tcp-clients 150). When every
# slot is taken, a new client pushes out the oldest one that has not sent a whole query yet, if any.
MAX_TCP_CONNECTIONS = 64
# Replies queued for a client that does not read, before the lab stops reading its queries.
_OUTBOX_LIMIT = 256 * 1024
_UDP_BURST = 64  # datagrams handled per wake-up, so TCP clients are not starved
_BIND_ATTEMPTS = 20  # port 0: free UDP ports whose TCP twin is taken are skipped
_LENGTH = struct.Struct("!H")


@dataclass
class ServerStats:
    """What the server has seen, for tests and for curious learners."""

    udp_queries: int = 0
    tcp_queries: int = 0
    truncated: int = 0  # UDP replies sent with TC so the client retries over TCP
    malformed: int = 0  # FORMERR replies and dropped datagrams
    tcp_connections: int = 0
    tcp_refused: int = 0  # connections closed at once because of the connection limit
    tcp_evicted: int = 0  # silent connections closed to make room for a new one


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    deadline: float
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)
    events: int = selectors.EVENT_READ
    eof: bool = False
    asked: bool = False  # a whole query has arrived


class DNSServer:
    """Serves a LabDNS on one UDP and TCP port; start() returns at once, stop() frees the port."""

    def __init__(
        self,
        source: Resolving,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tcp_idle_timeout: float = TCP_IDLE_TIMEOUT,
        max_tcp_connections: int = MAX_TCP_CONNECTIONS,
    ) -> None:
        self.source = source
        self.host = host
        self.requested_port = port
        self.tcp_idle_timeout = tcp_idle_timeout
        self.max_tcp_connections = max_tcp_connections
        self.stats = ServerStats()
        self._port = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._sockets: list[socket.socket] = []
        self._selector: selectors.BaseSelector | None = None
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._wake: socket.socket | None = None
        self._conns: set[_Connection] = set()

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server listens on; the port is known once started."""
        return (self.host, self._port)

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Bind UDP and TCP on the same port and answer from a background thread."""
        if self.running:
            raise RuntimeError("the lab DNS server is already running")
        self.stop()  # a loop that died: release what it held
        family, address = self._family_and_address()
        udp, tcp, self._port = _bind_pair(family, address, self.requested_port)
        self._sockets = [udp, tcp]
        try:
            wake_read, wake_write = socket.socketpair()
            self._sockets += [wake_read, wake_write]
            self._udp, self._tcp, self._wake = udp, tcp, wake_write
            self._selector = selectors.DefaultSelector()
            for sock, role in ((udp, "udp"), (tcp, "tcp"), (wake_read, "wake")):
                sock.setblocking(False)
                self._selector.register(sock, selectors.EVENT_READ, role)
        except BaseException:
            self._close_all()
            raise
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"labdns-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, close every socket and release the port; safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping = True
        if self._wake is not None:
            try:
                self._wake.send(b"\0")
            except OSError:
                pass
        thread.join(timeout=5)
        if thread.is_alive():
            log.warning("lab DNS server thread did not stop within 5 s")
        self._close_all()

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<DNSServer {self.host}:{self._port} {state}>"

    def _family_and_address(self) -> tuple[socket.AddressFamily, str]:
        family, _, _, _, sockaddr = socket.getaddrinfo(self.host, None, type=socket.SOCK_DGRAM)[0]
        address = str(sockaddr[0])
        if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            warnings.warn(
                f"lab DNS server on {address}, not loopback: other machines can query it",
                RuntimeWarning,
                stacklevel=3,
            )
        return family, address

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        assert self._selector is not None
        try:
            while not self._stopping:
                for key, mask in self._selector.select(self._timeout()):
                    try:
                        self._dispatch(key, mask)
                    except Exception:
                        log.exception("lab DNS server: error while handling %s", key.data)
                        if isinstance(key.data, _Connection):
                            self._close(key.data)
                self._expire_idle()
        except Exception:
            log.exception("lab DNS server loop failed")
        finally:
            self._close_all()

    def _dispatch(self, key: selectors.SelectorKey, mask: int) -> None:
        if key.data == "wake":
            key.fileobj.recv(64)  # type: ignore[union-attr]
        elif key.data == "udp":
            self._on_udp()
        elif key.data == "tcp":
            self._on_accept()
        else:
            conn: _Connection = key.data
            if mask & selectors.EVENT_READ:
                self._on_read(conn)
            if mask & selectors.EVENT_WRITE and conn in self._conns:
                self._flush(conn)

    def _timeout(self) -> float | None:
        if not self._conns:
            return None
        return max(0.0, min(c.deadline for c in self._conns) - time.monotonic())

    def _expire_idle(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._conns if c.deadline <= now]:
            self._close(conn)

    def _reply(self, wire: bytes, udp: bool) -> bytes | None:
        if udp:
            self.stats.udp_queries += 1
        else:
            self.stats.tcp_queries += 1
        reply = respond(self.source, wire, udp=udp)
        if reply is None or (reply[3] & 0x0F) == dns.rcode.FORMERR:
            self.stats.malformed += 1
        elif reply[2] & (dns.flags.TC >> 8):
            self.stats.truncated += 1
        return reply

    # -- UDP --------------------------------------------------------------------------------------
    def _on_udp(self) -> None:
        assert self._udp is not None
        for _ in range(_UDP_BURST):
            try:
                wire, peer = self._udp.recvfrom(MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. an ICMP error reported on the socket
                continue
            reply = self._reply(wire, udp=True)
            if reply is not None:
                try:
                    self._udp.sendto(reply, peer)
                except OSError:
                    pass  # the client went away or the buffer is full: UDP may drop

    # -- TCP (RFC 7766) ---------------------------------------------------------------------------
    def _on_accept(self) -> None:
        assert self._tcp is not None and self._selector is not None
        for _ in range(16):
            try:
                sock, _ = self._tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self._conns) >= self.max_tcp_connections and not self._evict_silent():
                self.stats.tcp_refused += 1
                sock.close()  # a clean close: the client sees end of stream
                continue
            self.stats.tcp_connections += 1
            sock.setblocking(False)
            conn = _Connection(sock, time.monotonic() + self.tcp_idle_timeout)
            self._conns.add(conn)
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _evict_silent(self) -> bool:
        """Close the oldest connection that never sent a whole query (RFC 7766 §6.2.3); False if none."""
        silent = [c for c in self._conns if not c.asked and not c.outbox]
        if not silent:
            return False
        self._close(min(silent, key=lambda c: c.deadline))  # never refreshed: the oldest has the first
        self.stats.tcp_evicted += 1
        return True

    def _on_read(self, conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(MAX_MESSAGE + 2)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not chunk:
            conn.eof = True  # the client may half-close after its last query: still answer it
        conn.inbox += chunk
        self._process(conn)

    def _process(self, conn: _Connection) -> None:
        while len(conn.inbox) >= 2 and len(conn.outbox) < _OUTBOX_LIMIT:
            (length,) = _LENGTH.unpack_from(conn.inbox)
            if len(conn.inbox) < 2 + length:
                break
            wire = bytes(conn.inbox[2 : 2 + length])
            del conn.inbox[: 2 + length]
            conn.deadline = time.monotonic() + self.tcp_idle_timeout
            conn.asked = True
            reply = self._reply(wire, udp=False)
            if reply is None and length < 12:
                self._close(conn)  # not DNS at all: end the conversation
                return
            if reply is not None:
                conn.outbox += _LENGTH.pack(len(reply)) + reply
        if conn.outbox:
            self._flush(conn)
        else:
            self._update(conn)

    def _flush(self, conn: _Connection) -> None:
        try:
            sent = conn.sock.send(conn.outbox)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(conn)
            return
        if sent:
            del conn.outbox[:sent]
            conn.deadline = time.monotonic() + self.tcp_idle_timeout
        if len(conn.outbox) < _OUTBOX_LIMIT and len(conn.inbox) >= 2 and sent:
            self._process(conn)
        else:
            self._update(conn)

    def _update(self, conn: _Connection) -> None:
        """Watch for what the connection needs next, or close it when nothing is left."""
        if conn not in self._conns or self._selector is None:
            return
        events = 0
        if not conn.eof and len(conn.outbox) < _OUTBOX_LIMIT:
            events |= selectors.EVENT_READ
        if conn.outbox:
            events |= selectors.EVENT_WRITE
        if not events:
            self._close(conn)
        elif events != conn.events:
            conn.events = events
            self._selector.modify(conn.sock, events, conn)

    def _close(self, conn: _Connection) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        if self._selector is not None:
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
        conn.sock.close()

    def _close_all(self) -> None:
        for conn in list(self._conns):
            self._close(conn)
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []


def _bind_pair(
    family: socket.AddressFamily, address: str, port: int
) -> tuple[socket.socket, socket.socket, int]:
    """A UDP and a TCP socket bound to the same port (port 0: a free one for both)."""
    attempts = _BIND_ATTEMPTS if port == 0 else 1
    for attempt in range(attempts):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp: socket.socket | None = None
        try:
            udp.bind((address, port))
            chosen = udp.getsockname()[1]
            tcp = socket.socket(family, socket.SOCK_STREAM)
            if os.name != "nt":  # rebinding over TIME_WAIT; on Windows it would allow stealing
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((address, chosen))
            tcp.listen(128)
            return udp, tcp, chosen
        except OSError as exc:
            udp.close()
            if tcp is not None:
                tcp.close()
            if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
