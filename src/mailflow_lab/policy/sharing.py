"""Calendar sharing outside the organisation: from viewer, owner, policies and relationships to what is seen.

Two mechanisms, judged separately and then combined (the viewer gets the better of the two):

- a **sharing policy** (per mailbox) caps what a user may share with a *person* outside, by invitation,
  or with anyone through a published link (`Anonymous`);
- an **organisation relationship** (per partner organisation) opens free/busy of *every* user to *every*
  user of the partner, up to its `FreeBusyAccessLevel`, and still within each user's own calendar
  permission.

[SHARING] = reference sheet eop-verdicts-connectors-trace.md, "Sharing and organisation relationships".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..world.model import (
    ANONYMOUS,
    CALENDAR_ACCESS_LEVELS,
    CalendarItem,
    Mailbox,
    OrganizationRelationship,
    SharingPolicy,
    Tenant,
)

ViewerKind = Literal["person", "anonymous", "organisation"]
SHARING = "sharing policy"
RELATIONSHIP = "organization relationship"

# [SHARING]: the calendar actions of a sharing policy and the access each allows.
ACTION_ACCESS = {
    "CalendarSharingFreeBusySimple": "AvailabilityOnly",  # free/busy times
    "CalendarSharingFreeBusyDetail": "LimitedDetails",  # plus subject and location
    "CalendarSharingFreeBusyReviewer": "Reviewer",  # plus body
}
WHAT_IS_SEEN = {
    "None": "nothing",
    "AvailabilityOnly": "free/busy times",
    "LimitedDetails": "free/busy times, subject and location",
    "Reviewer": "full detail (subject, location and body)",
}


def rank(access: str) -> int:
    return CALENDAR_ACCESS_LEVELS.index(access)


def lower_of(a: str, b: str) -> str:
    return a if rank(a) <= rank(b) else b


@dataclass(frozen=True)
class Viewer:
    """Who looks at a Contoso calendar from outside: a person, anyone with a link, or a whole organisation."""

    kind: ViewerKind
    address: str = ""
    domain: str = ""

    @classmethod
    def person(cls, address: str) -> Viewer:
        address = address.strip().lower()
        return cls("person", address, address.rpartition("@")[2])

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls("anonymous")

    @classmethod
    def organisation(cls, domain: str) -> Viewer:
        return cls("organisation", domain=domain.strip().lower().rstrip("."))

    @property
    def label(self) -> str:
        if self.kind == "person":
            return self.address
        if self.kind == "anonymous":
            return "an anonymous person (the published link)"
        return f"anyone at {self.domain}"


@dataclass(frozen=True)
class Route:
    """What one mechanism gives the viewer, the rule that decided it, and why."""

    mechanism: str
    access: str
    rule: str
    why: str


@dataclass(frozen=True)
class CalendarView:
    """The owner's calendar as the viewer sees it: the access, the mechanism that gave it, and why."""

    viewer: Viewer
    owner: str
    access: str
    mechanism: str | None
    rule: str
    why: str
    routes: tuple[Route, ...]
    shown: tuple[ShownItem, ...] = ()  # the owner's appointments as the viewer sees them

    @property
    def sees(self) -> str:
        return WHAT_IS_SEEN[self.access]

    def route(self, mechanism: str) -> Route:
        return next(r for r in self.routes if r.mechanism == mechanism)

    def lines(self) -> list[str]:
        """The calendar as the viewer sees it, one appointment a line."""
        return [
            "  ".join(
                part
                for part in (
                    f"{i.start:%a %d %b %H:%M}-{i.end:%H:%M}",
                    i.show_as,
                    i.subject,
                    i.location,
                    i.body,
                )
                if part
            )
            for i in self.shown
        ]


@dataclass(frozen=True)
class ShownItem:
    """An appointment as a viewer sees it: a block of time, and as much text as the access allows."""

    start: datetime
    end: datetime
    show_as: str
    subject: str = ""
    location: str = ""
    body: str = ""


def sharing_route(viewer: Viewer, owner: Mailbox, policy: SharingPolicy | None) -> Route:
    """User-to-user sharing: what the owner shared with this person, capped by the owner's sharing policy."""
    if viewer.kind == "organisation":
        # [SHARING]: user-to-user sharing is governed by sharing policies; an organisation as a whole is
        # the business of an organisation relationship.
        why = "a sharing policy governs what a user shares with a person, not with a whole organisation"
        return Route(SHARING, "None", "sharing.not-a-person", why)
    key = ANONYMOUS if viewer.kind == "anonymous" else viewer.address
    offered = owner.calendar_shared_with.get(key)
    if offered is None:
        if viewer.kind == "anonymous":
            why = f"{owner.address} has not published their calendar (no anonymous link)"
            return Route(SHARING, "None", "sharing.not-published", why)
        why = f"{owner.address} has not shared their calendar with {viewer.address}"
        return Route(SHARING, "None", "sharing.not-shared", why)
    if policy is None:
        why = f"no sharing policy applies to {owner.address}, so nothing can be shared outside"
        return Route(SHARING, "None", "sharing.no-policy", why)
    if not policy.enabled:
        why = f"the sharing policy {policy.name!r} of {owner.address} is disabled"
        return Route(SHARING, "None", "sharing.policy-disabled", why)
    # [SHARING]: "*" means every federated organisation, "Anonymous" anyone. A domain of its own wins
    # over "*". Lab choice: every outside organisation of the lab world counts as federated.
    if viewer.kind == "anonymous":
        entry = ANONYMOUS
    else:
        entry = viewer.domain if viewer.domain in policy.domains else "*"
    actions = policy.domains.get(entry, [])
    allowed = max((ACTION_ACCESS[a] for a in actions if a in ACTION_ACCESS), key=rank, default="None")
    if allowed == "None":
        target = "anonymous people" if viewer.kind == "anonymous" else viewer.domain
        why = f"the sharing policy {policy.name!r} allows no calendar sharing with {target}"
        return Route(SHARING, "None", "sharing.domain-not-allowed", why)
    action = next(a for a in actions if ACTION_ACCESS.get(a) == allowed)
    access = lower_of(offered, allowed)
    if rank(access) < rank(offered):
        why = (
            f"{owner.address} shared {WHAT_IS_SEEN[offered]}, but their sharing policy {policy.name!r} "
            f"allows only {WHAT_IS_SEEN[allowed]} ({entry}:{action})"
        )
        return Route(SHARING, access, "sharing.capped-by-policy", why)
    why = (
        f"{owner.address} shared {WHAT_IS_SEEN[offered]} and their sharing policy {policy.name!r} "
        f"allows it ({entry}:{action})"
    )
    return Route(SHARING, access, "sharing.shared", why)


def relationship_route(
    viewer: Viewer,
    owner: Mailbox,
    relationships: Iterable[OrganizationRelationship],
    *,
    partner_side_ready: bool = True,
) -> Route:
    """Business-to-business free/busy: the relationship for the viewer's domain, within the owner's rights."""
    if viewer.kind == "anonymous":
        why = "an organisation relationship is between organisations; an anonymous person belongs to none"
        return Route(RELATIONSHIP, "None", "relationship.anonymous", why)
    domain = viewer.domain
    found = next((r for r in relationships if domain in r.domain_names), None)
    if found is None:
        why = f"there is no organisation relationship with {domain}"
        return Route(RELATIONSHIP, "None", "relationship.none", why)
    if not found.enabled:
        why = f"the organisation relationship {found.name!r} is disabled"
        return Route(RELATIONSHIP, "None", "relationship.disabled", why)
    if not found.free_busy_access_enabled:
        # [SHARING]: -FreeBusyAccessEnabled defaults to $false.
        why = f"the organisation relationship {found.name!r} has FreeBusyAccessEnabled $false"
        return Route(RELATIONSHIP, "None", "relationship.free-busy-off", why)
    if found.free_busy_access_level == "None":
        why = f"the organisation relationship {found.name!r} has FreeBusyAccessLevel None"
        return Route(RELATIONSHIP, "None", "relationship.level-none", why)
    if not partner_side_ready:
        # [SHARING]: each side configures its own relationship; the partner's asks, ours answers.
        why = f"{domain} has no organisation relationship of its own with us, so it never asks"
        return Route(RELATIONSHIP, "None", "relationship.partner-side", why)
    level = found.free_busy_access_level
    access = lower_of(level, owner.calendar_default_access)
    if rank(access) < rank(level):
        # [SHARING]: "A user's own calendar permissions still apply."
        why = (
            f"the organisation relationship {found.name!r} allows {WHAT_IS_SEEN[level]} "
            f"(FreeBusyAccessLevel {level}), but {owner.address}'s own calendar permission for Default is "
            f"{owner.calendar_default_access}: {WHAT_IS_SEEN[access]}"
        )
        return Route(RELATIONSHIP, access, "relationship.capped-by-calendar-permission", why)
    why = (
        f"the organisation relationship {found.name!r} gives {domain} {WHAT_IS_SEEN[access]} "
        f"(FreeBusyAccessLevel {level})"
    )
    return Route(RELATIONSHIP, access, "relationship.free-busy", why)


def calendar_view(
    tenant: Tenant, viewer: Viewer, owner: Mailbox | str, *, partner_side_ready: bool = True
) -> CalendarView:
    """What the viewer sees of the owner's calendar: the better of the two mechanisms, and why."""
    mailbox = owner if isinstance(owner, Mailbox) else tenant.find_mailbox(owner)
    if mailbox is None:
        raise KeyError(f"no mailbox {owner} in the tenant")
    routes = (
        sharing_route(viewer, mailbox, tenant.sharing_policy_of(mailbox)),
        relationship_route(
            viewer, mailbox, tenant.organization_relationships, partner_side_ready=partner_side_ready
        ),
    )
    best = max(routes, key=lambda r: rank(r.access))  # the first on a tie
    if best.access == "None":
        why = f"{viewer.label} sees nothing: " + "; ".join(r.why for r in routes)
        return CalendarView(viewer, mailbox.address, "None", None, "sharing.nothing", why, routes)
    why = f"{viewer.label} sees {WHAT_IS_SEEN[best.access]} through the {best.mechanism}: {best.why}"
    shown = tuple(visible_items(best.access, mailbox.calendar))
    return CalendarView(viewer, mailbox.address, best.access, best.mechanism, best.rule, why, routes, shown)


def visible_items(access: str, items: Iterable[CalendarItem]) -> list[ShownItem]:
    """The appointments as seen at an access level: nothing, busy blocks, plus subject/location, plus body."""
    shown: list[ShownItem] = []
    for item in sorted(items, key=lambda i: i.start):
        if access == "None":
            break
        if access == "AvailabilityOnly":
            if item.show_as != "Free":  # free/busy shows the time taken, and what kind, nothing more
                shown.append(ShownItem(item.start, item.end, item.show_as))
            continue
        body = item.body if access == "Reviewer" else ""
        shown.append(ShownItem(item.start, item.end, item.show_as, item.subject, item.location, body))
    return shown
