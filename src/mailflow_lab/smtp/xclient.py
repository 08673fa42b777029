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

    def _loopback_peer(self) -> bool:
        try:
            return ipaddress.ip_address(self.facts.peer_ip).is_loopback
        except ValueError:
            return False

    async def smtp_XCLIENT(self, arg: str) -> None:
        """Postfix XCLIENT ADDR=: a lab client declares the address it appears from (loopback peers only).

        Never advertised in EHLO, so the EHLO reply stays identical to Microsoft 365's (DESIGN.md).
        """
        if not self._loopback_peer():
            await self.push(R.XCLIENT_DENIED)
            return
        attributes = dict(part.partition("=")[::2] for part in (arg or "").split())
        address = attributes.get("ADDR", "")
        try:
            declared = ipaddress.ip_address(address.removeprefix("IPV6:"))
            if isinstance(declared, ipaddress.IPv6Address) and declared.scope_id:
                raise ValueError(address)  # a zone (fe80::1%eth0) is no address Microsoft 365 could see
            client_ip = str(declared)
        except ValueError:
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
        # Postfix answers XCLIENT with a fresh greeting; the client says EHLO again.
        self._set_rset_state()
        self.session.host_name = None  # type: ignore[union-attr]
        await self.push(R.xclient_greeting(self.hostname, self.__ident__))
