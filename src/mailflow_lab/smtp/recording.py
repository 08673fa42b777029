"""The session record: what each SMTP session showed of its client, written to sessions.jsonl as it closes."""

from __future__ import annotations

import asyncio
from typing import Any

from ..policy.observed import SessionRecord


class SessionRecording:
    """The part of LabSMTP that fills `self.record` (a mixin: it reads the connection's facts and counts)."""

    record: SessionRecord | None
    facts: Any
    event_handler: Any
    _commands: int

    def note_auth_user(self, user: str | None) -> None:
        """The user name an AUTH named, for the session record: only a well-formed address is kept.

        A user name is no secret, but a client may put anything there (its password, by mistake): what does
        not look like an address (user@domain, printable, no spaces) is left out.
        """
        if self.record is None or not self.record.auth or not user:
            return
        local, at, domain = user.partition("@")
        if at and local and "." in domain and user.isprintable() and " " not in user and len(user) <= 254:
            self.record.auth[-1].user = user.lower()

    def _open_record(self, transport: asyncio.BaseTransport) -> None:
        handler = self.event_handler
        runtime = handler.runtime
        if getattr(runtime, "session_log", None) is None:
            return
        host, port = getattr(handler, "served_as", ("", 0))
        sockname = transport.get_extra_info("sockname") or ("", 0)
        self.record = SessionRecord(
            endpoint=host or getattr(handler, "fqdn", ""),
            port=port or int(sockname[1]),
            started=runtime.clock.now().isoformat(timespec="seconds"),
            listen=f"{sockname[0]}:{sockname[1]}",
            peer_ip=self.facts.peer_ip,
            session_id=getattr(self, "session_id", ""),
        )

    def _close_record(self) -> None:
        """Once per session, as it closes (connection_lost may come twice after a failed handshake)."""
        record, self.record = self.record, None
        if record is None:
            return
        facts = self.facts
        record.ended = self.event_handler.runtime.clock.now().isoformat(timespec="seconds")
        record.client_ip, record.xclient, record.ehlo = facts.client_ip, facts.xclient, facts.helo
        record.tls_version, record.tls_cipher = facts.tls_version, facts.tls_cipher
        record.cert_names = list(facts.cert_names)
        record.login = facts.identity
        record.commands = self._commands
        try:
            self.event_handler.runtime.session_log.append(record)
        except OSError as error:
            self.event_handler.runtime.errors.append(f"session record not written: {error}")
