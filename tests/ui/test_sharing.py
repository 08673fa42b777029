"""The "what does the other side see" widget, headless: viewers, settings, the calendar as seen, and why."""

from __future__ import annotations

import pytest

from mailflow_lab.ui.sharing import NOT_ALLOWED, NOT_SHARED, SharingExplorer, viewer_choices
from mailflow_lab.world.loader import load_world
from mailflow_lab.world.model import Tenant, World


@pytest.fixture
def world() -> World:
    return load_world()


def test_viewers_are_a_person_an_organisation_and_anyone(world: World) -> None:
    keys = [key for _label, key in viewer_choices(world)]
    assert keys == ["person:pat@fabrikam.com", "organisation:fabrikam.com", "anonymous:"]
    assert [key for _label, key in viewer_choices(world.tenant)] == keys  # a bare tenant: Fabrikam assumed


def test_starts_from_the_tenant(world: World) -> None:
    explorer = SharingExplorer(world.tenant)
    assert explorer.owner.value == "alex@contoso.com"  # shared mailboxes have no calendar to pick
    assert explorer.policy_action.value == "CalendarSharingFreeBusySimple"  # the default policy's *
    assert explorer.shared.value == "Reviewer"
    assert explorer.default_access.value == "AvailabilityOnly"
    assert not explorer.free_busy_enabled.value
    assert explorer.view is not None and explorer.view.access == "AvailabilityOnly"
    assert [s.show_as for s in explorer.shown] == ["Busy", "Tentative"]  # lunch is Free: no block
    assert all(s.subject == "" for s in explorer.shown)
    assert "sees free/busy times" in explorer.output.value
    assert "Contract renewal" not in explorer.output.value
    assert "<code>*</code>" in explorer.policy_label.value


def test_the_policy_setting_shows_more_to_pat(world: World) -> None:
    explorer = SharingExplorer(world.tenant)
    explorer.policy_action.value = "CalendarSharingFreeBusyReviewer"
    assert explorer.view is not None and explorer.view.access == "Reviewer"
    assert "Discount ceiling 12%" in explorer.output.value
    explorer.shared.value = NOT_SHARED
    assert explorer.view.access == "None" and "nothing" in explorer.output.value
    assert "empty calendar" in explorer.output.value
    # A what-if: the tenant itself is unchanged.
    assert world.tenant.sharing_policies[0].domains["*"] == ["CalendarSharingFreeBusySimple"]


def test_the_relationship_reaches_the_whole_organisation(world: World) -> None:
    explorer = SharingExplorer(world, viewer="organisation:fabrikam.com")
    assert explorer.shared.disabled
    assert explorer.view is not None and explorer.view.access == "None"
    explorer.free_busy_enabled.value = True
    explorer.free_busy_level.value = "LimitedDetails"
    assert (explorer.view.access, explorer.view.rule) == (
        "AvailabilityOnly",
        "relationship.capped-by-calendar-permission",
    )
    explorer.default_access.value = "Reviewer"
    assert explorer.view.access == "LimitedDetails"
    assert "Contract renewal with Fabrikam" in explorer.output.value and "12%" not in explorer.output.value
    explorer.partner_ready.value = False
    assert explorer.view.rule == "sharing.nothing"


def test_anonymous_sees_what_was_published(world: World) -> None:
    explorer = SharingExplorer(world.tenant, viewer="anonymous:")
    assert explorer.free_busy_enabled.disabled
    assert explorer.view is not None and explorer.view.access == "LimitedDetails"
    explorer.policy_action.value = NOT_ALLOWED
    assert explorer.view.access == "None"
    explorer.viewer.value = "person:pat@fabrikam.com"  # switching viewer reloads its settings
    assert explorer.policy_action.value == "CalendarSharingFreeBusySimple"


def test_reload_follows_the_tenant(world: World) -> None:
    tenant: Tenant = world.tenant
    explorer = SharingExplorer(tenant)
    tenant.sharing_policies[0].domains["fabrikam.com"] = ["CalendarSharingFreeBusyDetail"]
    assert explorer.view is not None and explorer.view.access == "AvailabilityOnly"
    assert explorer.reload().access == "LimitedDetails"
    assert explorer.policy_action.value == "CalendarSharingFreeBusyDetail"
    assert explorer.widget.children
