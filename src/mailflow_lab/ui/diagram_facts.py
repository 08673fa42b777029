"""What the diagrams name from a lab world: office IP, tenant, default domain and its MX host, outside org."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..world.hosts import mx_host_for

if TYPE_CHECKING:
    from ..world.model import World


@dataclass(frozen=True)
class DiagramFacts:
    """The names a diagram prints; the defaults are the default lab world's (Contoso and Fabrikam)."""

    office_ip: str = "203.0.113.10"
    tenant: str = "Contoso"
    domain: str = "contoso.com"
    outside: str = "Fabrikam"
    outside_server: str = "mail.fabrikam.com"

    @property
    def mx_host(self) -> str:
        """The Microsoft 365 MX host of the default domain."""
        return mx_host_for(self.domain)


def facts_of(world: World | None) -> DiagramFacts:
    """A world's facts (the defaults without a world, or for what the world leaves out)."""
    if world is None:
        return DiagramFacts()
    domains = world.tenant.accepted_domains
    default = next((d.name for d in domains if d.default), domains[0].name if domains else "contoso.com")
    outside = world.outside[0] if world.outside else None
    return DiagramFacts(
        office_ip=str(world.network.office.public_ip),
        tenant=world.tenant.name,
        domain=default,
        outside=outside.name if outside else DiagramFacts.outside,
        outside_server=outside.mail_server if outside else DiagramFacts.outside_server,
    )


__all__ = ["DiagramFacts", "facts_of"]
