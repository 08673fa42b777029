"""The endpoint plan: which world host names and ports a lab serves, and what answers on each."""

from __future__ import annotations

from dataclasses import dataclass

from ..world.hosts import LEGACY_SUBMISSION_SERVER, SUBMISSION_SERVER, tenant_mx_host
from ..world.model import MailFilter, OutsideOrganisation, World

# What answers on an endpoint; Lab.start makes one handler per row from its role.
SUBMISSION = "submission"  # SMTP AUTH client submission ([MFD] option 1)
LEGACY_SUBMISSION = "legacy-submission"  # the TLS 1.0/1.1 opt-in endpoint ([AUTHSMTP])
MX = "mx"  # the tenant's MX: direct send, connector relay, inbound mail ([MFD] options 2 and 3)
OUTSIDE = "outside"  # an outside organisation's own receiving server (Fabrikam)
FILTER = "filter"  # a third-party filtering service in front of the tenant's MX


@dataclass(frozen=True)
class Endpoint:
    """One world (host, port) a lab serves, its role, and the world object behind it when it has one."""

    host: str
    port: int
    role: str
    outside: OutsideOrganisation | None = None
    mail_filter: MailFilter | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.host, self.port)


def endpoint_plan(world: World) -> tuple[Endpoint, ...]:
    """Every endpoint of a world, Microsoft 365's first: submission on 587 and 25 ([MFD] port table),
    the legacy endpoint on 587, the tenant MX on 25, then each outside server and filter on 25."""
    rows = [
        Endpoint(SUBMISSION_SERVER, 587, SUBMISSION),
        Endpoint(SUBMISSION_SERVER, 25, SUBMISSION),
        Endpoint(LEGACY_SUBMISSION_SERVER, 587, LEGACY_SUBMISSION),
        Endpoint(tenant_mx_host(world), 25, MX),
    ]
    rows += [Endpoint(org.mail_server, 25, OUTSIDE, outside=org) for org in world.outside]
    rows += [Endpoint(f.host, 25, FILTER, mail_filter=f) for f in world.filters]
    return tuple(rows)
