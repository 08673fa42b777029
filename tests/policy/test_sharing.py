"""Calendar sharing outside: each rule of policy/sharing.py, a row per case, and what each level shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mailflow_lab.policy.sharing import (
    RELATIONSHIP,
    SHARING,
    Viewer,
    calendar_view,
    relationship_route,
    sharing_route,
    visible_items,
)
from mailflow_lab.world.model import CalendarItem, OrganizationRelationship, SharingPolicy, World

PAT = Viewer.person("pat@fabrikam.com")
LEE = Viewer.person("Lee@Fabrikam.com")  # a Fabrikam user Alex never shared with
NORTHWIND = Viewer.person("kim@northwind.example")
ANYONE = Viewer.anonymous()
FABRIKAM = Viewer.organisation("fabrikam.com")

SIMPLE = "CalendarSharingFreeBusySimple"
DETAIL = "CalendarSharingFreeBusyDetail"
REVIEWER = "CalendarSharingFreeBusyReviewer"


def relationship(level: str = "AvailabilityOnly", **fields: Any) -> OrganizationRelationship:
    values: dict[str, Any] = {"free_busy_access_enabled": True, "free_busy_access_level": level, **fields}
    return OrganizationRelationship("Fabrikam", ["fabrikam.com"], **values)


# The default world: Default Sharing Policy (Anonymous:Reviewer, *:Simple), Alex shared all details with Pat,
# published titles and locations, Default calendar permission AvailabilityOnly, no relationship.
ROWS = [
    # -- sharing policies: what the owner shared, capped by the policy -------------------------------------
    pytest.param(
        PAT, {}, ("AvailabilityOnly", SHARING, "sharing.capped-by-policy"), id="default-policy-caps-pat"
    ),
    pytest.param(
        PAT,
        {"policy": {"fabrikam.com": [DETAIL]}},
        ("LimitedDetails", SHARING, "sharing.capped-by-policy"),
        id="domain-detail",
    ),
    pytest.param(
        PAT,
        {"policy": {"fabrikam.com": [REVIEWER]}},
        ("Reviewer", SHARING, "sharing.shared"),
        id="domain-reviewer-all-shared",
    ),
    pytest.param(
        PAT,
        {"policy": {"fabrikam.com": [REVIEWER]}, "shared": {"pat@fabrikam.com": "LimitedDetails"}},
        ("LimitedDetails", SHARING, "sharing.shared"),
        id="owner-shared-less-than-allowed",
    ),
    pytest.param(
        PAT,
        {"policy": {"fabrikam.com": ["ContactsSharing"], "*": [REVIEWER]}},
        (None, None, "sharing.nothing"),
        id="own-domain-entry-wins-over-star",
    ),
    pytest.param(
        PAT,
        {"policy": {"northwind.example": [REVIEWER]}},
        (None, None, "sharing.nothing"),
        id="no-entry-for-the-domain",
    ),
    pytest.param(PAT, {"policy_enabled": False}, (None, None, "sharing.nothing"), id="policy-disabled"),
    pytest.param(PAT, {"no_default": True}, (None, None, "sharing.nothing"), id="no-policy-at-all"),
    pytest.param(PAT, {"shared": {}}, (None, None, "sharing.nothing"), id="not-shared-with-pat"),
    pytest.param(LEE, {"policy": {"*": [REVIEWER]}}, (None, None, "sharing.nothing"), id="lee-not-shared"),
    pytest.param(
        NORTHWIND,
        {"shared": {"kim@northwind.example": "LimitedDetails"}},
        ("AvailabilityOnly", SHARING, "sharing.capped-by-policy"),
        id="star-covers-any-federated-domain",
    ),
    pytest.param(ANYONE, {}, ("LimitedDetails", SHARING, "sharing.shared"), id="anonymous-published"),
    pytest.param(
        ANYONE,
        {"shared": {"Anonymous": "Reviewer"}, "policy": {"Anonymous": [SIMPLE]}},
        ("AvailabilityOnly", SHARING, "sharing.capped-by-policy"),
        id="anonymous-capped",
    ),
    pytest.param(
        ANYONE, {"policy": {"*": [REVIEWER]}}, (None, None, "sharing.nothing"), id="star-is-not-anonymous"
    ),
    pytest.param(ANYONE, {"shared": {}}, (None, None, "sharing.nothing"), id="anonymous-not-published"),
    pytest.param(
        FABRIKAM,
        {"policy": {"fabrikam.com": [REVIEWER]}},
        (None, None, "sharing.nothing"),
        id="policy-says-nothing-to-an-organisation",
    ),
    # -- organisation relationships: every user of the partner, within the owner's calendar permission -----
    pytest.param(
        FABRIKAM,
        {"relationship": relationship()},
        ("AvailabilityOnly", RELATIONSHIP, "relationship.free-busy"),
        id="relationship-availability",
    ),
    pytest.param(
        LEE,
        {"relationship": relationship()},
        ("AvailabilityOnly", RELATIONSHIP, "relationship.free-busy"),
        id="relationship-reaches-lee",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship("LimitedDetails")},
        ("AvailabilityOnly", RELATIONSHIP, "relationship.capped-by-calendar-permission"),
        id="relationship-capped-by-calendar-permission",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship("LimitedDetails"), "default_access": "LimitedDetails"},
        ("LimitedDetails", RELATIONSHIP, "relationship.free-busy"),
        id="relationship-limited-details",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship("AvailabilityOnly"), "default_access": "Reviewer"},
        ("AvailabilityOnly", RELATIONSHIP, "relationship.free-busy"),
        id="relationship-level-is-the-cap",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship(free_busy_access_enabled=False)},
        (None, None, "sharing.nothing"),
        id="relationship-free-busy-off",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship("None")},
        (None, None, "sharing.nothing"),
        id="relationship-level-none",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship(enabled=False)},
        (None, None, "sharing.nothing"),
        id="relationship-disabled",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship(), "partner_side_ready": False},
        (None, None, "sharing.nothing"),
        id="partner-side-not-configured",
    ),
    pytest.param(
        FABRIKAM,
        {"relationship": relationship(), "default_access": "None"},
        (None, None, "sharing.nothing"),
        id="owner-calendar-closed",
    ),
    pytest.param(
        Viewer.organisation("northwind.example"),
        {"relationship": relationship()},
        (None, None, "sharing.nothing"),
        id="relationship-for-another-domain",
    ),
    pytest.param(
        ANYONE,
        {"relationship": relationship("LimitedDetails"), "shared": {}},
        (None, None, "sharing.nothing"),
        id="relationship-ignores-anonymous",
    ),
    # -- both: the viewer gets the better of the two -------------------------------------------------------
    pytest.param(
        PAT,
        {"relationship": relationship("LimitedDetails"), "default_access": "LimitedDetails"},
        ("LimitedDetails", RELATIONSHIP, "relationship.free-busy"),
        id="relationship-beats-policy",
    ),
    pytest.param(
        PAT,
        {"relationship": relationship(), "policy": {"fabrikam.com": [DETAIL]}},
        ("LimitedDetails", SHARING, "sharing.capped-by-policy"),
        id="policy-beats-relationship",
    ),
    pytest.param(
        PAT,
        {"relationship": relationship()},
        ("AvailabilityOnly", SHARING, "sharing.capped-by-policy"),
        id="tie-names-the-sharing-policy",
    ),
]


@pytest.mark.parametrize(("viewer", "setup", "expected"), ROWS)
def test_calendar_view(
    world: World, viewer: Viewer, setup: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    tenant = world.tenant
    alex = tenant.find_mailbox("alex@contoso.com")
    assert alex is not None
    if "policy" in setup or "policy_enabled" in setup:
        domains = setup.get("policy", tenant.sharing_policies[0].domains)
        tenant.sharing_policies.append(
            SharingPolicy("Row", domains, enabled=setup.get("policy_enabled", True))
        )
        alex.sharing_policy = "Row"
    if setup.get("no_default"):
        tenant.sharing_policies[0].default = False
    if "shared" in setup:
        alex.calendar_shared_with = setup["shared"]
    alex.calendar_default_access = setup.get("default_access", alex.calendar_default_access)
    if "relationship" in setup:
        tenant.organization_relationships.append(setup["relationship"])
    view = calendar_view(
        tenant, viewer, "alex@contoso.com", partner_side_ready=setup.get("partner_side_ready", True)
    )
    access, mechanism, rule = expected
    assert (view.access, view.mechanism, view.rule) == (access or "None", mechanism, rule), view.why
    assert view.why.startswith(viewer.label)
    assert len(view.routes) == 2 and {r.mechanism for r in view.routes} == {SHARING, RELATIONSHIP}


ROUTE_RULES = [
    pytest.param(PAT, {}, "sharing.capped-by-policy", "relationship.none", id="pat-default"),
    pytest.param(PAT, {"shared": {}}, "sharing.not-shared", "relationship.none", id="pat-not-shared"),
    pytest.param(
        ANYONE, {"shared": {}}, "sharing.not-published", "relationship.anonymous", id="not-published"
    ),
    pytest.param(FABRIKAM, {}, "sharing.not-a-person", "relationship.none", id="organisation"),
    pytest.param(
        PAT,
        {"policy": SharingPolicy("Off", {"*": [SIMPLE]}, enabled=False)},
        "sharing.policy-disabled",
        "relationship.none",
        id="disabled",
    ),
    pytest.param(PAT, {"policy": None}, "sharing.no-policy", "relationship.none", id="no-policy"),
    pytest.param(
        PAT,
        {"policy": SharingPolicy("C", {"*": ["ContactsSharing"]})},
        "sharing.domain-not-allowed",
        "relationship.none",
        id="contacts-only",
    ),
    pytest.param(
        FABRIKAM,
        {"relationships": [relationship(enabled=False)]},
        "sharing.not-a-person",
        "relationship.disabled",
        id="relationship-disabled",
    ),
    pytest.param(
        FABRIKAM,
        {"relationships": [relationship(free_busy_access_enabled=False)]},
        "sharing.not-a-person",
        "relationship.free-busy-off",
        id="free-busy-off",
    ),
    pytest.param(
        FABRIKAM,
        {"relationships": [relationship("None")]},
        "sharing.not-a-person",
        "relationship.level-none",
        id="level-none",
    ),
    pytest.param(
        FABRIKAM,
        {"relationships": [relationship()], "partner_side_ready": False},
        "sharing.not-a-person",
        "relationship.partner-side",
        id="partner-side",
    ),
]


@pytest.mark.parametrize(("viewer", "setup", "sharing_rule", "relationship_rule"), ROUTE_RULES)
def test_each_route_names_its_rule(
    world: World, viewer: Viewer, setup: dict[str, Any], sharing_rule: str, relationship_rule: str
) -> None:
    alex = world.tenant.find_mailbox("alex@contoso.com")
    assert alex is not None
    if "shared" in setup:
        alex.calendar_shared_with = setup["shared"]
    policy = setup.get("policy", world.tenant.sharing_policies[0])
    route = sharing_route(viewer, alex, policy)
    assert (route.mechanism, route.rule) == (SHARING, sharing_rule)
    other = relationship_route(
        viewer, alex, setup.get("relationships", []), partner_side_ready=setup.get("partner_side_ready", True)
    )
    assert (other.mechanism, other.rule) == (RELATIONSHIP, relationship_rule)
    if route.rule != "sharing.capped-by-policy":
        assert route.access == "None"
    assert other.access == "None"


def test_the_why_names_the_setting_that_decided(world: World) -> None:
    view = calendar_view(world.tenant, PAT, "alex@contoso.com")
    assert "Default Sharing Policy" in view.why and "*:CalendarSharingFreeBusySimple" in view.why
    assert view.sees == "free/busy times"
    world.tenant.organization_relationships.append(relationship("LimitedDetails"))
    view = calendar_view(world.tenant, FABRIKAM, "alex@contoso.com")
    assert "FreeBusyAccessLevel LimitedDetails" in view.why and "permission for Default" in view.why


def test_unknown_owner(world: World) -> None:
    with pytest.raises(KeyError, match="no mailbox ghost@contoso.com"):
        calendar_view(world.tenant, PAT, "ghost@contoso.com")


ITEMS = [
    CalendarItem("Renewal", datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10), "Teams", "12%"),
    CalendarItem("Lunch", datetime(2026, 3, 2, 12), datetime(2026, 3, 2, 13), show_as="Free"),
    CalendarItem(
        "Early", datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 8, 30), "Room 1", show_as="Tentative"
    ),
]


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        pytest.param("None", [], id="nothing"),
        pytest.param("AvailabilityOnly", [("Tentative", "", "", ""), ("Busy", "", "", "")], id="busy-blocks"),
        pytest.param(
            "LimitedDetails",
            [
                ("Tentative", "Early", "Room 1", ""),
                ("Busy", "Renewal", "Teams", ""),
                ("Free", "Lunch", "", ""),
            ],
            id="subject-and-location",
        ),
        pytest.param(
            "Reviewer",
            [
                ("Tentative", "Early", "Room 1", ""),
                ("Busy", "Renewal", "Teams", "12%"),
                ("Free", "Lunch", "", ""),
            ],
            id="full-detail",
        ),
    ],
)
def test_visible_items(access: str, expected: list[tuple[str, ...]]) -> None:
    shown = visible_items(access, ITEMS)
    assert [(s.show_as, s.subject, s.location, s.body) for s in shown] == expected
    assert [s.start for s in shown] == sorted(s.start for s in shown)
