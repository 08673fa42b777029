"""One event-loop thread hosting every SMTP endpoint of a lab on loopback sockets."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import threading
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..policy import dates
from ..policy import replies as R
from ..policy.session import SessionLimits
from .connections import ConnectionTable
from .protocol import LabSMTP

IDLE_TIMEOUT_S = SessionLimits.idle_timeout_s  # Exchange's ConnectionInactivityTimeout, 5 minutes


class ExposureWarning(UserWarning):
    """A lab endpoint listens beyond loopback: other machines can reach a server made to be fooled."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and the name localhost; anything else reaches (or may reach) the network."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for binding `host`, or None on loopback (the default, DESIGN.md)."""
    if is_loopback(host):
        return None
    return (
        f"mailflow-lab is listening on {host!r}, beyond loopback: other machines can now reach lab "
        "endpoints that accept any password the world file holds and relay by rules meant for a "
        "classroom. Do this only on a network you trust, and never on the internet."
    )


# Pending connections the kernel queues per endpoint (Linux caps it at net.core.somaxconn). asyncio's
# default of 100 overflows when a classroom's devices connect at once: Linux then answers with SYN
# cookies and drops the handshake's last ACK, and the client waits for a banner that never comes.
LISTEN_BACKLOG = 1024


class ServerThread:
    """An asyncio loop in a daemon thread; endpoints are added as servers on it."""

    def __init__(self, name: str = "mailflow-lab-smtp", limits: SessionLimits | None = None) -> None:
        self.limits = limits or SessionLimits()
        self.loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._connections: weakref.WeakSet[LabSMTP] = weakref.WeakSet()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result()

    def add_endpoint(
        self,
        handler: Any,
        *,
        fqdn: str,
        clock: Callable[[], Any],
        tls_context: ssl.SSLContext | None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_size_limit: int = R.MAX_MESSAGE_SIZE_ADVERTISED,
    ) -> tuple[str, int]:
        """Serve a handler; returns the (host, port) actually bound (port 0 picks a free one).

        A handler may set its own `data_size_limit` (an outside server advertising a smaller SIZE) and its
        own greeting with a `banner_text(date) -> str` method (a Postfix server is no Microsoft one); the
        default is Exchange Online's. Each endpoint counts its own open sessions, as each Exchange receive
        connector does.
        """
        warning = exposure_warning(host)
        if warning is not None:
            warnings.warn(ExposureWarning(warning), stacklevel=2)
        data_size_limit = getattr(handler, "data_size_limit", data_size_limit)
        banner_text: Callable[[str], str] = getattr(handler, "banner_text", R.banner_text)
        limits = self.limits
        connections = ConnectionTable(limits)

        def factory() -> LabSMTP:
            banner = banner_text(dates.header_date(clock()))
            protocol = LabSMTP(
                handler,
                fqdn=fqdn,
                banner=banner,
                tls_context=tls_context,
                data_size_limit=data_size_limit,
                timeout=limits.idle_timeout_s,
                limits=limits,
                connections=connections,
                loop=self.loop,
            )
            self._connections.add(protocol)
            return protocol

        async def create() -> asyncio.base_events.Server:
            return await self.loop.create_server(
                factory, host=host, port=port, reuse_address=True, backlog=LISTEN_BACKLOG
            )

        server = self.call(create())
        self._servers.append(server)
        sockname = server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    def settle(self, timeout_s: float = 2.0) -> None:
        """Wait until every session already closing has been wound up (and recorded), at most timeout_s.

        A client's QUIT gets its 221 before the server's side of the connection is torn down: a report
        read right after a send would otherwise miss that send's session.
        """
        if not self._thread.is_alive():
            return

        async def closing_done() -> None:
            deadline = self.loop.time() + timeout_s
            while self.loop.time() < deadline and any(
                connection.record is not None
                and (connection.transport is None or connection.transport.is_closing())
                for connection in list(self._connections)
            ):
                await asyncio.sleep(0.005)

        self.call(closing_done())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            for server in self._servers:
                server.close()
            for connection in list(self._connections):
                if connection.transport is not None:
                    connection.transport.close()
            for server in self._servers:
                await server.wait_closed()
            tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=5)

        self.call(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
