"""Whole-world consistency checks: duplicates, and names one table uses that another must define."""

from __future__ import annotations

from pathlib import Path

from .datafile import LabDataError
from .model import Tenant, World
from .rules import connector_problem


def check_world(world: World, path: Path) -> None:
    """Rules that span tables: duplicates and names that must exist elsewhere in the world."""
    tenant = world.tenant
    seen: dict[str, int] = {}
    for index, mailbox in enumerate(tenant.mailboxes):
        where = f"tenant.mailboxes[{index}].address"
        if mailbox.address in seen:
            first = f"tenant.mailboxes[{seen[mailbox.address]}]"
            raise LabDataError(path, where, f"duplicate mailbox {mailbox.address} (first at {first})")
        seen[mailbox.address] = index
        domain = mailbox.address.rpartition("@")[2]
        if not tenant.is_accepted(domain):
            raise LabDataError(path, where, f"{domain} is not an accepted domain of the tenant")
    for index, mailbox in enumerate(tenant.mailboxes):
        for t_index, trustee in enumerate(mailbox.send_as_trustees):
            if trustee not in seen:
                where = f"tenant.mailboxes[{index}].send_as_trustees[{t_index}]"
                raise LabDataError(path, where, f"no mailbox {trustee} in the tenant")
    for index, domain in enumerate(tenant.accepted_domains):
        if [d.name for d in tenant.accepted_domains].count(domain.name) > 1:
            where = f"tenant.accepted_domains[{index}].name"
            raise LabDataError(path, where, f"duplicate accepted domain {domain.name}")
    names: set[str] = set()
    for index, connector in enumerate(tenant.inbound_connectors):
        where = f"tenant.inbound_connectors[{index}]"
        if connector.name.lower() in names:
            raise LabDataError(path, f"{where}.name", f"duplicate connector name {connector.name!r}")
        names.add(connector.name.lower())
        problem = connector_problem(tenant, connector)
        if problem is not None:
            raise LabDataError(path, f"{where}.{problem[0]}", problem[1])
    names = set()
    for index, outbound in enumerate(tenant.outbound_connectors):
        if outbound.name.lower() in names:
            where = f"tenant.outbound_connectors[{index}].name"
            raise LabDataError(path, where, f"duplicate connector name {outbound.name!r}")
        names.add(outbound.name.lower())
    hosts = {org.mail_server for org in world.outside}
    for index, mail_filter in enumerate(world.filters):
        if mail_filter.host in hosts:
            raise LabDataError(
                path, f"filters[{index}].host", f"{mail_filter.host} is already a lab mail server"
            )
        hosts.add(mail_filter.host)
    for index, config in enumerate(tenant.dkim):
        if not tenant.is_accepted(config.domain):
            raise LabDataError(
                path, f"tenant.dkim[{index}].domain", f"{config.domain} is not an accepted domain"
            )
    for index, org in enumerate(world.outside):
        for domain in org.domains:
            if tenant.is_accepted(domain):
                raise LabDataError(
                    path,
                    f"outside[{index}].domains",
                    f"{domain} is an accepted domain of the tenant",
                )
    _check_sharing(tenant, path)
    if not any(d.default for d in tenant.accepted_domains):
        tenant.accepted_domains[0].default = True
    for index, zone_file in enumerate(world.zone_files):
        if not zone_file.is_file():
            raise LabDataError(path, f"zones[{index}]", f"zone file {zone_file} does not exist")


def _check_sharing(tenant: Tenant, path: Path) -> None:
    """Sharing policies and organisation relationships: unique names, names that exist."""
    names: dict[str, int] = {}
    for index, policy in enumerate(tenant.sharing_policies):
        if policy.name.lower() in names:
            where = f"tenant.sharing_policies[{index}].name"
            raise LabDataError(path, where, f"duplicate sharing policy {policy.name!r}")
        names[policy.name.lower()] = index
    defaults = [i for i, p in enumerate(tenant.sharing_policies) if p.default]
    if len(defaults) > 1:
        where = f"tenant.sharing_policies[{defaults[1]}].default"
        raise LabDataError(path, where, f"only one default sharing policy (first at [{defaults[0]}])")
    for index, mailbox in enumerate(tenant.mailboxes):
        if mailbox.sharing_policy is not None and mailbox.sharing_policy.lower() not in names:
            known = ", ".join(p.name for p in tenant.sharing_policies) or "none"
            where = f"tenant.mailboxes[{index}].sharing_policy"
            raise LabDataError(path, where, f"no sharing policy {mailbox.sharing_policy!r} (known: {known})")
        for address in mailbox.calendar_shared_with:
            if tenant.is_accepted(address.rpartition("@")[2]):
                where = f"tenant.mailboxes[{index}].calendar_shared_with.{address}"
                raise LabDataError(path, where, "sharing policies govern people outside the organisation")
    seen: dict[str, int] = {}
    for index, relationship in enumerate(tenant.organization_relationships):
        where = f"tenant.organization_relationships[{index}]"
        if relationship.name.lower() in seen:
            raise LabDataError(
                path, f"{where}.name", f"duplicate organization relationship {relationship.name!r}"
            )
        seen[relationship.name.lower()] = index
        for domain in relationship.domain_names:
            if tenant.is_accepted(domain):
                raise LabDataError(
                    path, f"{where}.domain_names", f"{domain} is an accepted domain of the tenant"
                )
