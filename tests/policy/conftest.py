"""Fixtures for the policy tables: a fresh default world per test, and a way to change its tenant."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from typing import Any

import pytest

from mailflow_lab.world.loader import load_world
from mailflow_lab.world.model import InboundConnector, Tenant, World

TenantFactory = Callable[..., Tenant]


@pytest.fixture
def world() -> World:
    """The default lab world (data/worlds/contoso.toml), loaded afresh so tests never share state."""
    return load_world()


@pytest.fixture
def make_tenant(world: World) -> TenantFactory:
    """Apply a row's tenant settings, per-mailbox fields and extra inbound connectors, return the tenant."""

    def make(
        settings: Mapping[str, Any] | None = None,
        mailboxes: Mapping[str, Mapping[str, Any]] | None = None,
        connectors: Iterable[InboundConnector] = (),
    ) -> Tenant:
        tenant = world.tenant
        for name, value in (settings or {}).items():
            assert hasattr(tenant.settings, name), f"no tenant setting {name}"
            setattr(tenant.settings, name, value)
        for address, fields in (mailboxes or {}).items():
            mailbox = tenant.find_mailbox(address)
            assert mailbox is not None, f"no mailbox {address} in the default world"
            for name, value in fields.items():
                assert hasattr(mailbox, name), f"no mailbox field {name}"
                setattr(mailbox, name, deepcopy(value))
        tenant.inbound_connectors.extend(deepcopy(list(connectors)))
        return tenant

    return make
