"""The lab resolver of a world: its zone files loaded into one LabDNS."""

from __future__ import annotations

from ..world.datafile import LabDataError
from ..world.model import World
from .resolver import LabDNS
from .zones import zone_from_file


def load_world_dns(world: World) -> LabDNS:
    """The lab resolver over a world's zone files (zone mistakes are reported with file and line)."""
    dns = LabDNS()
    for zone_file in world.zone_files:
        zone = zone_from_file(zone_file)
        try:
            dns.add_zone(zone)
        except ValueError as exc:
            raise LabDataError(zone_file, "", str(exc)) from None
    return dns
