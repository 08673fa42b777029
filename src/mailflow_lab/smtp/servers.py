"""One event-loop thread hosting every SMTP endpoint of a lab on loopback sockets."""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..policy import replies as R
from .protocol import LabSMTP

IDLE_TIMEOUT_S = 300.0  # aiosmtpd's default; Exchange Online closes idle sessions after a few minutes


class ServerThread:
    """An asyncio loop in a daemon thread; endpoints are added as servers on it."""

    def __init__(self, name: str = "mailflow-lab-smtp") -> None:
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
        """Serve a handler; returns the (host, port) actually bound (port 0 picks a free one)."""

        def factory() -> LabSMTP:
            banner = R.banner_text(email.utils.format_datetime(clock()))
            protocol = LabSMTP(
                handler,
                fqdn=fqdn,
                banner=banner,
                tls_context=tls_context,
                data_size_limit=data_size_limit,
                timeout=IDLE_TIMEOUT_S,
                loop=self.loop,
            )
            self._connections.add(protocol)
            return protocol

        async def create() -> asyncio.base_events.Server:
            return await self.loop.create_server(factory, host=host, port=port, reuse_address=True)

        server = self.call(create())
        self._servers.append(server)
        sockname = server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

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
