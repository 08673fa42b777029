"""Open sessions of one endpoint, per client address (MaxInboundConnection and ...PerSource)."""

from __future__ import annotations

import collections

from ..policy import session as limits_policy
from ..policy.decision import Decision
from ..policy.session import SessionLimits


class ConnectionTable:
    """Open sessions of one endpoint, per client address, for MaxInboundConnection(PerSource).

    Only the event loop's thread touches it.
    """

    def __init__(self, limits: SessionLimits) -> None:
        self.limits = limits
        self.by_address: collections.Counter[str] = collections.Counter()

    @property
    def total(self) -> int:
        return sum(self.by_address.values())

    def admit(self, address: str) -> Decision | None:
        refusal = limits_policy.connection_refusal(self.by_address[address], self.total, self.limits)
        if refusal is None:
            self.by_address[address] += 1
        return refusal

    def release(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]

    def move(self, old: str, new: str) -> Decision | None:
        """A session now appears from another address (XCLIENT): count it there, if there is room."""
        if old == new:
            return None
        refusal = limits_policy.connection_refusal(self.by_address[new], self.total - 1, self.limits)
        if refusal is None:
            self.release(old)
            self.by_address[new] += 1
        return refusal
