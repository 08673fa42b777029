"""XCLIENT (Postfix): a lab client on loopback declares the address it appears from (DESIGN.md)."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..policy import replies as R


class XclientCommand:
    """The part of LabSMTP that takes XCLIENT ADDR= (and HELO=) from loopback peers only."""

    facts: Any
    session: Any
    hostname: str
    _counted_as: str | None
    _connections: Any
    envelope: Any
    event_handler: Any

    def _loopback_peer(self) -> bool:
        try:
            return ipaddress.ip_address(self.facts.peer_ip).is_loopback
        except ValueError:
            return False

    async def smtp_XCLIENT(self, arg: str) -> None:
        """Postfix XCLIENT ADDR=: a lab client declares the address it appears from (loopback peers only).

        Never advertised in EHLO, so the EHLO reply stays identical to Microsoft 365's (DESIGN.md).
        """
        if self.envelope is not None and self.envelope.mail_from:
            await self.push(R.XCLIENT_IN_TRANSACTION)  # Postfix XCLIENT_README: not inside a transaction
            return
        if not self._loopback_peer():
            await self.push(R.XCLIENT_DENIED)
            return
        attributes = dict(part.partition("=")[::2] for part in (arg or "").split())
        address = attributes.get("ADDR", "")
        client_ip = declared_address(address)
        if client_ip is None:
            await self.push(R.xclient_bad_address(address))
            return
        if self._counted_as is not None:
            refusal = self._connections.move(self._counted_as, client_ip)
            if refusal is not None:
                await self.refuse_and_close(refusal.reply)
                return
            self._counted_as = client_ip
        self.facts.client_ip = client_ip
        self.facts.xclient = True
        if attributes.get("HELO"):
            self.facts.helo = attributes["HELO"]
        # Postfix answers XCLIENT with a fresh greeting and the session starts over as a new one: EHLO again,
        # no sign-in carried over (the TLS layer stays as it is).
        self._set_rset_state()
        self.session.host_name = None  # type: ignore[union-attr]
        self.session.extended_smtp = False  # type: ignore[union-attr]
        self.event_handler.sign_out(self)
        await self.push(R.xclient_greeting(self.hostname, self.__ident__))


def declared_address(text: str) -> str | None:
    """The address an XCLIENT ADDR= names, as Microsoft 365 would see it; None when no client could have it.

    Postfix forms (`IPV6:` prefix) are read; an IPv4-mapped IPv6 address is the IPv4 address it carries.
    Refused: a zone (fe80::1%eth0), the unspecified (0.0.0.0, ::), broadcast and multicast addresses.
    """
    try:
        declared = ipaddress.ip_address(text.removeprefix("IPV6:"))
    except ValueError:
        return None
    if isinstance(declared, ipaddress.IPv6Address):
        if declared.scope_id:
            return None
        if declared.ipv4_mapped is not None:
            declared = declared.ipv4_mapped
    broadcast = declared == ipaddress.IPv4Address("255.255.255.255")
    if declared.is_unspecified or declared.is_multicast or broadcast:
        return None
    return str(declared)
