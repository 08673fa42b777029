"""The lab tenant's transport: files accepted messages, relays them out, defers, and traces each step.

Mechanics only: which folder, which status, which words and which key are the delivery policy's
(policy/delivery.py); this module writes, hands off and traces what the policy says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..auth.verdicts import author_domain
from ..policy import delivery as policy
from ..policy import ndr as ndr_policy
from ..policy import replies as R
from ..policy import rollback
from ..policy import session as session_policy
from ..policy.antispam import Verdict
from ..store.runtime import Deferred, LabRuntime
from ..store.trace import TraceEvent, TraceRecord, new_trace_id
from .headers import ensure_message_id, headers_of, prepend, strip_headers
from .relay import dkim_sign_outbound, relay_out

__all__ = ["Incoming", "Transport", "headers_of", "prepare"]


@dataclass(frozen=True)
class Incoming:
    """A message as an endpoint accepted it, with what the session knew."""

    mail_from: str
    recipients: list[str]
    content: bytes
    client_ip: str
    helo: str
    tls_version: str | None
    endpoint_fqdn: str
    tls_cipher: str | None = None
    # The SMTP session's 16-hex id (the one its replies' diagnostic suffix shows), for the trace.
    session_id: str = ""
    # DSN parameters as the client sent them (RFC 3461): MAIL's RET= and ENVID=, each recipient's
    # NOTIFY= and ORCPT=, keyed by the recipient as accepted. Parsed by the delivery policy.
    dsn_mail_params: tuple[str, ...] = ()
    dsn_rcpt_params: dict[str, tuple[str, ...]] = field(default_factory=dict)


def prepare(
    content: bytes, incoming: Incoming, now: datetime, extra: list[tuple[str, str]]
) -> tuple[bytes, str]:
    """Prepend Received, the given headers and, when missing, a Message-ID; return the bytes and the id."""
    message_id, id_line = ensure_message_id(content, incoming.endpoint_fqdn)
    lines = [f"{name}: {value}" for name, value in extra]
    received = policy.received_header(
        incoming.helo,
        incoming.client_ip,
        incoming.endpoint_fqdn,
        incoming.tls_version,
        now,
        incoming.tls_cipher,
    )
    return prepend(content, [received, *([id_line] if id_line else []), *lines]), message_id


class Transport:
    """Delivery for one lab: the only place messages are written, relayed and traced."""

    def __init__(self, runtime: LabRuntime) -> None:
        self.runtime = runtime
        runtime.clock.on_advance(self.release_due)

    # -- records -------------------------------------------------------------------------------
    def _record(
        self,
        incoming: Incoming,
        message_id: str,
        trace_id: str,
        recipient: str,
        status: str,
        size: int,
        now: datetime,
    ) -> TraceRecord:
        subject, _, _ = headers_of(incoming.content)
        receive = TraceEvent(
            now, "RECEIVE", "Receive", policy.receive_detail(incoming.endpoint_fqdn), "receive"
        )
        record = TraceRecord(
            received=now,
            sender_address=incoming.mail_from,
            recipient_address=recipient,
            subject=subject,
            status=status,
            from_ip=incoming.client_ip,
            to_ip="",
            size=size,
            message_id=message_id,
            message_trace_id=trace_id,
            events=[receive],
            session_id=incoming.session_id,
        )
        if incoming.tls_version:
            detail = policy.tls_receive_detail(incoming.tls_version)
            record.events.append(TraceEvent(now, "RECEIVE", "Receive", detail, "receive.tls"))
        return record

    def _step(self, trace_id: str, recipient: str, step: policy.TraceStep) -> None:
        event = _trace_event(self.runtime.clock.now(), step)
        self.runtime.trace.update(trace_id, recipient, status=step.status, event=event)

    # -- SMTP AUTH client submission ------------------------------------------------------------------
    def submit(self, incoming: Incoming, login: str, delay_minutes: int = 0) -> str:
        """An authenticated message: Sent Items copy, then each recipient delivered, relayed or deferred."""
        incoming = replace(incoming, recipients=policy.distinct_recipients(incoming.recipients))
        return self._whole(incoming, lambda trace_id: self._submit(incoming, login, delay_minutes, trace_id))

    def _whole(self, incoming: Incoming, work: Callable[[str], str]) -> str:
        """One message taken in all or nothing: its trace lines synced once, before the endpoint says 250;
        if it fails half-way (the endpoint answers 451), every file written for it is taken back and its
        trace rows say so (policy/rollback.py), so the client's retry leaves one copy, not two."""
        trace_id = new_trace_id()
        with self.runtime.store.recording() as written, self.runtime.trace.batched():
            try:
                return work(trace_id)
            except BaseException:
                self.runtime.store.discard(written)
                for recipient in incoming.recipients:
                    record = self.runtime.trace.get(trace_id, recipient)
                    events = [e.event for e in record.events] if record is not None else []
                    if record is not None and rollback.taken_back(record.status, events):
                        self._step(trace_id, recipient, rollback.abandoned())
                raise

    def _submit(self, incoming: Incoming, login: str, delay_minutes: int, trace_id: str) -> str:
        runtime = self.runtime
        now = runtime.clock.now()
        content, message_id = prepare(incoming.content, incoming, now, policy.submission_stamp())
        if policy.keeps_sent_copy():
            runtime.store.deliver(login, policy.SENT_ITEMS, content)
        content = strip_headers(content, policy.BCC_HEADER)  # the recipients' copies: no Bcc
        submitted = policy.submitted(login)
        for recipient in incoming.recipients:
            record = self._record(
                incoming,
                message_id,
                trace_id,
                recipient,
                "Pending" if delay_minutes else "GettingStatus",
                len(content),
                now,
            )
            record.events.append(_trace_event(now, submitted))
            runtime.trace.add(record)
        runtime.record_submission(login, len(incoming.recipients))
        dsn = ndr_policy.parse_dsn(incoming.dsn_mail_params, incoming.dsn_rcpt_params)
        if delay_minutes:
            release = now + timedelta(minutes=delay_minutes)
            with runtime.lock:
                runtime.deferred.append(
                    Deferred(release, trace_id, incoming.mail_from, incoming.recipients, content, login, dsn)
                )
            for recipient in incoming.recipients:
                self._step(trace_id, recipient, policy.deferred(runtime.submission_limits))
            return message_id
        self._route_submitted(trace_id, incoming.mail_from, incoming.recipients, content, dsn)
        return message_id

    def _route_submitted(
        self, trace_id: str, mail_from: str, recipients: list[str], content: bytes, dsn: ndr_policy.Dsn
    ) -> None:
        internal, external = policy.split_recipients(self.runtime.world.tenant, recipients)
        filing = policy.submitted_filing()
        for recipient in internal:
            self._file(trace_id, mail_from, recipient, content, filing, "", dsn)
        if external:
            self._relay(trace_id, mail_from, external, content, dsn)

    def _file(
        self,
        trace_id: str,
        mail_from: str,
        recipient: str,
        content: bytes,
        filing: policy.Filing,
        why: str,
        dsn: ndr_policy.Dsn,
    ) -> None:
        """One internal recipient's copy, where the policy filed it (`why`: the quarantine's reason)."""
        for step in filing.before:
            self._step(trace_id, recipient, step)
        if filing.folder is None:
            self.runtime.store.quarantine(content, recipient, why)
        elif self.runtime.world.tenant.find_mailbox(recipient) is None:
            # Accepted (submission takes any recipient), then not found: Failed, and an NDR with 5.1.10.
            self._step(trace_id, recipient, policy.recipient_not_found(recipient))
            failure = ndr_policy.Failure(recipient, R.RECIPIENT_NOT_FOUND)
            self._bounce(trace_id, mail_from, [failure], content, dsn)
            return
        else:
            self.runtime.store.deliver(recipient, filing.folder, content)
            self._notify_success(trace_id, mail_from, recipient, None, content, dsn)
        self._step(trace_id, recipient, filing.final)

    def _relay(
        self, trace_id: str, mail_from: str, recipients: list[str], content: bytes, dsn: ndr_policy.Dsn
    ) -> None:
        refused = session_policy.relay_refusal(content)
        if refused is not None:
            # Bare line feeds: the outside servers take DATA only, so the hand-off fails (550 5.6.11).
            for recipient in recipients:
                self._step(
                    trace_id, recipient, policy.relay_refused_before_sending(refused.reply, refused.rule)
                )
            failures = [ndr_policy.Failure(r, refused.reply) for r in recipients]
            self._bounce(trace_id, mail_from, failures, content, dsn)
            return
        _, from_address, _ = headers_of(content)
        outbound = strip_headers(content, policy.ORGANISATION_HEADER_PREFIX)
        signed = dkim_sign_outbound(self.runtime, outbound, author_domain(from_address, mail_from, ""))
        failures: list[ndr_policy.Failure] = []
        for result in relay_out(self.runtime, signed, mail_from, recipients):
            step = policy.relay_outcome(result.server, result.reply)
            self._step(trace_id, result.recipient, step)
            if result.reply.accepted:
                self._notify_success(trace_id, mail_from, result.recipient, result.server, content, dsn)
            else:
                failures.append(ndr_policy.Failure(result.recipient, result.reply, result.server or None))
            if result.to_ip:
                self.runtime.trace.update(trace_id, result.recipient, to_ip=result.to_ip)
        self._bounce(trace_id, mail_from, failures, content, dsn)

    def _arrived(self, trace_id: str, recipient: str) -> datetime | None:
        """When the message was taken in (a report's Arrival-Date): its trace record's Received."""
        record = self.runtime.trace.get(trace_id, recipient)
        return record.received if record is not None else None

    def _bounce(
        self,
        trace_id: str,
        mail_from: str,
        failures: list[ndr_policy.Failure],
        content: bytes,
        dsn: ndr_policy.Dsn,
    ) -> None:
        """One non-delivery report to the sender for the recipients that failed, when the policy says one
        goes back (a tenant sender) and the sender did not ask NOTIFY=NEVER for them."""
        tenant = self.runtime.world.tenant
        wanted = [f for f in failures if dsn.wants(f.recipient, "FAILURE")]
        if not wanted or not policy.bounces_to(tenant, mail_from):
            return
        subject, _, _ = headers_of(content)
        now = self.runtime.clock.now()
        arrived = self._arrived(trace_id, wanted[0].recipient)
        token = str(uuid.uuid4())
        report = policy.ndr(tenant, mail_from, wanted, subject, content, now, token, dsn, arrived)
        self.runtime.store.deliver(mail_from, policy.INBOX, report)

    def _notify_success(
        self,
        trace_id: str,
        mail_from: str,
        recipient: str,
        relayed_to: str | None,
        content: bytes,
        dsn: ndr_policy.Dsn,
    ) -> None:
        """NOTIFY=SUCCESS: a "Delivered:" (or, handed to a server outside, "Relayed:") report."""
        tenant = self.runtime.world.tenant
        if not dsn.wants(recipient, "SUCCESS") or not policy.bounces_to(tenant, mail_from):
            return
        subject, _, _ = headers_of(content)
        now = self.runtime.clock.now()
        arrived = self._arrived(trace_id, recipient)
        report = policy.success_notification(
            tenant, mail_from, recipient, relayed_to, subject, content, now, str(uuid.uuid4()), dsn, arrived
        )
        self.runtime.store.deliver(mail_from, policy.INBOX, report)

    def release_due(self, now: datetime) -> None:
        """Deliver deferred messages whose time has come (called when the lab clock moves)."""
        with self.runtime.lock:
            due = [d for d in self.runtime.deferred if d.release_at <= now]
            self.runtime.deferred[:] = [d for d in self.runtime.deferred if d.release_at > now]
        for item in due:
            self._route_submitted(item.trace_id, item.mail_from, item.recipients, item.content, item.dsn)

    # -- the MX ----------------------------------------------------------------------------------------
    def inbound(
        self, incoming: Incoming, verdict: Verdict, stamp: list[tuple[str, str]], connector: str | None
    ) -> str:
        """Anonymous mail accepted at the MX (connector relay, direct send, inbound), filed by the verdict."""
        incoming = replace(incoming, recipients=policy.distinct_recipients(incoming.recipients))
        return self._whole(incoming, lambda trace: self._inbound(incoming, verdict, stamp, connector, trace))

    def _inbound(
        self,
        incoming: Incoming,
        verdict: Verdict,
        stamp: list[tuple[str, str]],
        connector: str | None,
        trace_id: str,
    ) -> str:
        runtime = self.runtime
        now = runtime.clock.now()
        content, message_id = prepare(incoming.content, incoming, now, stamp)
        content = strip_headers(content, policy.BCC_HEADER)
        internal, external = policy.split_recipients(runtime.world.tenant, incoming.recipients)
        for recipient in incoming.recipients:
            record = self._record(
                incoming, message_id, trace_id, recipient, "GettingStatus", len(content), now
            )
            if connector:
                detail = policy.connector_receive_detail(connector)
                record.events.append(TraceEvent(now, "RECEIVE", "Receive", detail, "connector.relay"))
            runtime.trace.add(record)
        filing = policy.inbound_filing(verdict)
        dsn = ndr_policy.parse_dsn(incoming.dsn_mail_params, incoming.dsn_rcpt_params)
        for recipient in internal:
            self._file(trace_id, incoming.mail_from, recipient, content, filing, verdict.explanation, dsn)
        if external:
            self._relay(trace_id, incoming.mail_from, external, content, dsn)
        return message_id


def _trace_event(when: datetime, step: policy.TraceStep) -> TraceEvent:
    """A policy's trace step as the trace records it (the action's name is the event's, capitalised)."""
    return TraceEvent(when, step.event, step.event.capitalize(), step.detail, step.rule)
