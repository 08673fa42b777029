"""A running lab: the world's DNS and Microsoft 365 endpoints on loopback, held by notebooks and tests."""

from __future__ import annotations

import atexit
import shutil
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from ..admin.objects import PowerShellResult
from ..admin.shell import run as run_powershell
from ..client.device import Device, Outcome
from ..delivery.transport import Transport
from ..labdns.server import DNSServer
from ..labdns.zones import zone_from_file
from ..policy.delivery import outcome_of_status
from ..policy.session import SessionLimits
from ..policy.submission import SubmissionLimits
from ..smtp.mailfilter import FilterHandler
from ..smtp.mx import MXHandler
from ..smtp.outside import OutsideHandler
from ..smtp.servers import ServerThread
from ..smtp.submission import SubmissionHandler
from ..store.mailstore import MailStore
from ..store.runtime import LabRuntime
from ..store.sessions import SESSIONS_FILE, SessionLog
from ..store.statedir import TRACE_FILE, make_owned_state_dir, open_state, release_state_dir, remove_orphans
from ..store.trace import MessageTrace, TraceRecord
from ..world.clock import LabClock
from ..world.hosts import MX_WILDCARD, SUBMISSION_HOSTS, tenant_mx_host
from ..world.loader import DEFAULT_WORLD, load_world
from ..world.model import World
from .endpoints import LEGACY_SUBMISSION, MX, SUBMISSION, Endpoint, endpoint_plan
from .tlsmaterial import ClientCert, LabCA

# Client certificates a lab keeps, one per domain asked for (oldest dropped first): a lesson uses a few.
CLIENT_CERT_CACHE_SIZE = 64

# Labs still running, stopped when the interpreter exits (a notebook closed without lab.stop()).
_RUNNING: weakref.WeakSet[Lab] = weakref.WeakSet()


@atexit.register
def _stop_running_labs() -> None:
    for lab in list(_RUNNING):
        lab.stop()


@dataclass(frozen=True)
class MailboxView:
    """One mailbox's folders, read from disk each time."""

    store: MailStore
    address: str

    def folder(self, name: str) -> list[EmailMessage]:
        return self.store.folder(self.address, name)

    def folders(self) -> list[str]:
        return self.store.folders(self.address)


class Lab:
    """A running lab. Start with `Lab.start()`, use as a context manager, or call `stop()`."""

    def __init__(self, runtime: LabRuntime, servers: ServerThread, dns_server: DNSServer, owns_state: bool):
        self.runtime = runtime
        self._servers = servers
        self._dns_server = dns_server
        self._owns_state = owns_state
        self._stopped = False
        self._client_certs: dict[str, ClientCert] = {}

    # -- starting and stopping ------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        world: str | Path = DEFAULT_WORLD,
        state_dir: str | Path | None = None,
        *,
        ports: dict[tuple[str, int], int] | None = None,
        dns_port: int = 0,
        host: str = "127.0.0.1",
        tls_cache: Path | None = None,
        advertise_xclient: bool = False,
        limits: SessionLimits | None = None,
        submission_limits: SubmissionLimits | None = None,
    ) -> Lab:
        """Load a world and serve it: every port is chosen free unless `ports` maps (host, port) to one.

        A state folder used before keeps its mailboxes, trace and tenant settings (cmdlet changes).
        `advertise_xclient` lists XCLIENT in EHLO for loopback clients that insist on seeing it (swaks);
        off by default, so the EHLO reply stays Microsoft's. `limits` sets the session limits of every
        endpoint (idle timeout, connections per address...); `submission_limits` the sending limits of
        SMTP AUTH submission (30 a minute, 10,000 recipients a day...); `host` other than loopback warns.
        """
        owns = state_dir is None
        if owns:
            remove_orphans()  # folders of labs whose kernel died without stopping them
        state = Path(state_dir) if state_dir else make_owned_state_dir()
        runtime = open_state(state, world, write=True)
        runtime.advertise_xclient = advertise_xclient
        runtime.submission_limits = submission_limits or SubmissionLimits()
        runtime.session_log = SessionLog(state / SESSIONS_FILE)
        loaded, clock = runtime.world, runtime.clock
        ca = LabCA.load_or_create(tls_cache) if tls_cache else LabCA.load_or_create()
        submission_tls = ca.server_context(list(SUBMISSION_HOSTS), min_version=ssl.TLSVersion.TLSv1)
        mx_host = tenant_mx_host(loaded)
        mx_tls = ca.server_context([mx_host, MX_WILDCARD], request_client_cert=True)
        transport = Transport(runtime)

        def handler_for(endpoint: Endpoint) -> tuple[Any, ssl.SSLContext | None]:
            if endpoint.role == SUBMISSION:
                return SubmissionHandler(runtime, transport), submission_tls
            if endpoint.role == LEGACY_SUBMISSION:
                return SubmissionHandler(runtime, transport, legacy=True), submission_tls
            if endpoint.role == MX:
                return MXHandler(runtime, transport), mx_tls
            if endpoint.outside is not None:
                return OutsideHandler(runtime, endpoint.outside), None
            assert endpoint.mail_filter is not None
            host_tls = _filter_tls(ca, endpoint.mail_filter.host)
            return FilterHandler(runtime, endpoint.mail_filter, mx_host, host_tls), None

        servers = ServerThread(limits=limits)
        servers.start()
        wanted = ports or {}
        try:
            for endpoint in endpoint_plan(loaded):
                handler, context = handler_for(endpoint)
                handler.served_as = endpoint.key
                runtime.endpoints[endpoint.key] = servers.add_endpoint(
                    handler,
                    fqdn=handler.fqdn,
                    clock=clock.now,
                    tls_context=context,
                    host=host,
                    port=wanted.get(endpoint.key, 0),
                )
            dns_server = DNSServer(runtime.dns, host=host, port=dns_port).start()
        except BaseException:
            servers.stop()
            raise
        lab = cls(runtime, servers, dns_server, owns)
        _RUNNING.add(lab)
        lab.state_dir = state
        lab.ca = ca
        return lab

    def stop(self) -> None:
        """Stop every server; a lab that made its own state folder removes it."""
        if self._stopped:
            return
        self._stopped = True
        _RUNNING.discard(self)
        self._dns_server.stop()
        self._servers.stop()
        if self._owns_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            release_state_dir(self.state_dir)  # its lock, held while the lab ran (after: no orphan window)

    def reset(self) -> None:
        """Back to the world's starting state on the same ports: tenant settings, connectors and DNS zones
        as loaded, mailboxes, quarantine and message trace emptied, sending counters and held mail gone."""
        if self._stopped:
            raise RuntimeError("the lab is stopped: start a new one with Lab.start()")
        self.settle()
        runtime = self.runtime
        fresh = load_world(runtime.world.source or DEFAULT_WORLD)
        with runtime.lock:
            runtime.world.tenant = fresh.tenant
            runtime.dns.replace_zones(zone_from_file(path) for path in fresh.zone_files)
            runtime.store.clear()
            (self.state_dir / TRACE_FILE).unlink(missing_ok=True)
            runtime.trace = MessageTrace(self.state_dir / TRACE_FILE)
            runtime.signed_in.clear()
            runtime.submissions.clear()
            runtime.deferred.clear()
            runtime.save_tenant()

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what learners and tests look at --------------------------------------------------------------
    state_dir: Path
    ca: LabCA

    @property
    def world(self) -> World:
        return self.runtime.world

    @property
    def dns(self) -> Any:
        return self.runtime.dns

    @property
    def clock(self) -> LabClock:
        return self.runtime.clock

    @property
    def stopped(self) -> bool:
        return self._stopped

    def settle(self) -> None:
        """Let sessions that are closing finish (their records written); a no-op once stopped."""
        if not self._stopped:
            self._servers.settle()

    @property
    def mx_host(self) -> str:
        """The tenant's MX host name, e.g. contoso-com.mail.protection.outlook.com."""
        return tenant_mx_host(self.world)

    @property
    def dns_server(self) -> tuple[str, int]:
        return self._dns_server.address

    def endpoint(self, host: str, port: int) -> tuple[str, int]:
        """The loopback (host, port) serving a world host name and port, e.g. ("smtp.office365.com", 587)."""
        return self.runtime.endpoint(host, port)

    def endpoints(self) -> dict[tuple[str, int], tuple[str, int]]:
        return dict(self.runtime.endpoints)

    def mailbox(self, address: str) -> MailboxView:
        known = {m.address for m in self.world.tenant.mailboxes} | {
            a for org in self.world.outside for a in org.mailboxes
        }
        if address.lower() not in known:
            raise KeyError(f"no mailbox {address} in the lab (mailboxes: {', '.join(sorted(known))})")
        return MailboxView(self.runtime.store, address.lower())

    def quarantine(self) -> list[EmailMessage]:
        return self.runtime.store.quarantined()

    def message_trace(self, **filters: Any) -> list[TraceRecord]:
        """Get-MessageTrace: records newest first; filter with sender=, recipient=, status=, start=, end=."""
        return self.runtime.trace.records(**filters)

    def issue_token(
        self, user: str, scope: str = "https://outlook.office.com/SMTP.Send", **kwargs: Any
    ) -> str:
        """An OAuth access token from the lab's token issuer (JWT-shaped: decode it to look inside)."""
        return self.runtime.tokens.issue(user, scope, **kwargs)

    def device(self, name: str) -> Device:
        """A device of the world, ready to send (a copy: change its settings freely)."""
        return Device.from_model(self.world.device(name))

    def client_certificate(self, domain: str) -> ClientCert:
        """A lab-issued certificate for a domain, as a relay device would present (cached per lab)."""
        if domain not in self._client_certs:
            if len(self._client_certs) >= CLIENT_CERT_CACHE_SIZE:
                del self._client_certs[next(iter(self._client_certs))]
            self._client_certs[domain] = self.ca.client_certificate(domain, [domain])
        return self._client_certs[domain]

    def locate(self, recipient: str, message_id: str) -> Outcome:
        """Where a message ended up for one recipient: a folder, quarantine, pending, or failed."""
        address = recipient.lower()
        store = self.runtime.store
        if message_id:
            for folder in store.folders(address):
                if any(
                    str(m.get("Message-ID", "")).strip() == message_id for m in store.folder(address, folder)
                ):
                    return Outcome(recipient, folder)
            for held in store.quarantined():
                if str(held.get("Message-ID", "")).strip() == message_id:
                    if str(held.get("X-MailflowLab-Quarantine-Recipient", "")).lower() == address:
                        return Outcome(recipient, "quarantine")
        records = [r for r in self.message_trace(recipient=address) if r.message_id == message_id]
        if records:
            record = records[0]
            last = record.events[-1].detail if record.events else ""
            where = outcome_of_status(record.status)
            return Outcome(recipient, where, None, last)
        return Outcome(recipient, "unknown")

    def powershell(self, text: str) -> PowerShellResult:
        """Run Exchange Online PowerShell lines against the lab tenant (changes apply to the next session)."""
        return run_powershell(self.runtime, text)

    def describe(self) -> str:
        """One line per endpoint: world name -> loopback socket."""
        lines = [f"{h}:{p} -> {a}:{b}" for (h, p), (a, b) in sorted(self.runtime.endpoints.items())]
        lines.append(f"lab DNS -> {self.dns_server[0]}:{self.dns_server[1]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Lab world={self.world.name!r} {state} state_dir={str(self.state_dir)!r}>"


def _filter_tls(ca: LabCA, host: str) -> Callable[[], ssl.SSLContext]:
    """The filter's client TLS context, made at its first relay (with a certificate for its host name)."""
    made: list[ssl.SSLContext] = []

    def context() -> ssl.SSLContext:
        if not made:
            made.append(ca.client_context(ca.client_certificate(host, [host])))
        return made[0]

    return context
