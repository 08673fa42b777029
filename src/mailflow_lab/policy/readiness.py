"""Device readiness: from a device's recorded sessions and the tenant, which of the three options works."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..world.model import World
from .devices import DeviceFacts, DeviceKey, world_servers
from .devices import group_devices as group_devices
from .observed import SessionRecord
from .option_checks import CONNECTOR_NAME as CONNECTOR_NAME
from .option_checks import assess_direct_send, assess_relay, assess_smtp_auth
from .option_verdict import STATUS_TEXT as STATUS_TEXT
from .option_verdict import Blocker as Blocker
from .option_verdict import OptionVerdict
from .option_verdict import Status as Status


@dataclass(frozen=True)
class DeviceReadiness:
    """The readiness report for one device."""

    device: DeviceKey
    appears_as: tuple[str, ...]  # the addresses Microsoft 365 sees it from
    sessions: int
    observed: tuple[str, ...]
    options: tuple[OptionVerdict, ...]
    recommended: str | None

    def option(self, name: str) -> OptionVerdict:
        return next(o for o in self.options if o.option == name)

    @property
    def usable_today(self) -> tuple[str, ...]:
        return tuple(o.option for o in self.options if o.usable_today)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usable_today"] = list(self.usable_today)
        for option, verdict in zip(data["options"], self.options, strict=True):
            option["usable_today"] = verdict.usable_today
        return data


# -- the report --------------------------------------------------------------------------------------
def assess_all(
    records: Iterable[SessionRecord], world: World, mx_host: str, spf: Mapping[tuple[str, str], str] = {}
) -> list[DeviceReadiness]:
    return [
        assess(k, v, world, mx_host, spf)
        for k, v in group_devices(records, mx_host, world_servers(world)).items()
    ]


def assess(
    key: DeviceKey,
    records: list[SessionRecord],
    world: World,
    mx_host: str,
    spf: Mapping[tuple[str, str], str] = {},
) -> DeviceReadiness:
    """One device's readiness. `spf` maps (client address, sender) to its SPF result, where known.

    Device facts come from its sessions (the latest session at an endpoint is its current setting); tenant
    facts from the tenant as it is now, so a cmdlet run since the last attempt counts.
    """
    facts = DeviceFacts(records, world.tenant, mx_host)
    verdicts = (
        assess_smtp_auth(facts, world.tenant),
        assess_direct_send(facts, world, spf),
        assess_relay(facts, world),
    )
    return DeviceReadiness(
        device=key,
        appears_as=tuple(sorted({r.client_ip for r in records})),
        sessions=len(records),
        observed=facts.observed(),
        options=verdicts,
        recommended=_recommend(verdicts, facts.external),
    )


def _recommend(verdicts: tuple[OptionVerdict, ...], external: list[str]) -> str | None:
    """advice.recommend's order: SMTP AUTH; a connector when outside recipients are needed; direct send."""
    usable = {v.option for v in verdicts if v.usable_today}
    for option in ("smtp-auth", *(("relay", "direct-send") if external else ("direct-send", "relay"))):
        if option in usable:
            return option
    return None
