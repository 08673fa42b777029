"""The "what does the other side see" widget: a viewer outside, a Contoso calendar, the settings, the view."""

from __future__ import annotations

import html
from copy import deepcopy
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..policy.sharing import (
    ACTION_ACCESS,
    WHAT_IS_SEEN,
    CalendarView,
    ShownItem,
    Viewer,
    calendar_view,
    visible_items,
)
from ..world.model import (
    ANONYMOUS,
    CALENDAR_ACCESS_LEVELS,
    Mailbox,
    OrganizationRelationship,
    OutsideOrganisation,
    SharingPolicy,
    Tenant,
    World,
)
from ..world.rules import FREE_BUSY_ACCESS_LEVELS
from .base import WidgetView

if TYPE_CHECKING:
    from ..lab.lab import Lab

WHAT_IF_POLICY = "What-if sharing policy"  # no longer shown: kept for code that imported it
AS_SET_HERE = "(as set in this widget)"
NOT_ALLOWED = "(no calendar sharing)"
NOT_SHARED = "(not shared)"


def _world_parts(source: Lab | World | Tenant) -> tuple[Tenant, list[OutsideOrganisation]]:
    if isinstance(source, Tenant):
        return source, []
    world = source if isinstance(source, World) else source.world
    return world.tenant, world.outside


def viewer_choices(source: Lab | World | Tenant) -> list[tuple[str, str]]:
    """(label, key) for every outside person and organisation of the world, and an anonymous person."""
    orgs = _world_parts(source)[1] or [
        OutsideOrganisation("Fabrikam", ["fabrikam.com"], "", ["pat@fabrikam.com"])
    ]
    choices: list[tuple[str, str]] = []
    for org in orgs:
        choices += [(f"{address} (a {org.name} user)", f"person:{address}") for address in org.mailboxes]
        choices += [
            (f"anyone at {domain} (the organisation)", f"organisation:{domain}") for domain in org.domains
        ]
    choices.append(("an anonymous person (the published link)", "anonymous:"))
    return choices


def viewer_from_key(key: str) -> Viewer:
    kind, _, value = key.partition(":")
    if kind == "person":
        return Viewer.person(value)
    if kind == "organisation":
        return Viewer.organisation(value)
    return Viewer.anonymous()


class SharingExplorer(WidgetView):
    """Pick a viewer, a calendar owner and the settings; see the owner's calendar as the viewer would.

    The settings start from the lab tenant and change a copy (a what-if): the lab itself changes only
    through the cmdlets (`lab.powershell(...)`). `reload()` starts again from the tenant after a cmdlet.
    """

    def __init__(
        self, lab: Lab | World | Tenant, viewer: str = "person:pat@fabrikam.com", owner: str = ""
    ) -> None:
        self.lab = lab
        self.tenant = self._tenant()
        owners = [m.address for m in self.tenant.mailboxes if m.mailbox_type == "User"]
        choices = viewer_choices(lab)
        keys = [k for _label, k in choices]
        style = {"description_width": "200px"}
        wide = widgets.Layout(width="560px")
        self.viewer = widgets.Dropdown(
            options=choices,
            value=viewer if viewer in keys else keys[0],
            description="Viewer",
            style=style,
            layout=wide,
        )
        self.owner = widgets.Dropdown(
            options=owners,
            value=owner or owners[0],
            description="Contoso calendar of",
            style=style,
            layout=wide,
        )
        self.policy_action = widgets.Dropdown(
            options=[NOT_ALLOWED, *ACTION_ACCESS],
            description="Sharing policy allows",
            style=style,
            layout=wide,
        )
        self.shared = widgets.Dropdown(
            options=[NOT_SHARED, *CALENDAR_ACCESS_LEVELS[1:]],
            description="Owner shared / published",
            style=style,
            layout=wide,
        )
        self.free_busy_enabled = widgets.Checkbox(description="FreeBusyAccessEnabled", indent=False)
        self.free_busy_level = widgets.Dropdown(
            options=list(FREE_BUSY_ACCESS_LEVELS), description="FreeBusyAccessLevel", style=style, layout=wide
        )
        self.partner_ready = widgets.Checkbox(
            value=True, description="the partner has its own relationship with us", indent=False
        )
        self.default_access = widgets.Dropdown(
            options=list(CALENDAR_ACCESS_LEVELS),
            description="Owner's calendar, Default",
            style=style,
            layout=wide,
        )
        self.policy_label = widgets.HTML()
        self.output = widgets.HTML()
        self.view: CalendarView | None = None
        self.shown: list[ShownItem] = []
        self._loading = False
        self.viewer.observe(lambda _c: self._load_settings(), names="value")
        self.owner.observe(lambda _c: self._load_settings(), names="value")
        for control in (
            self.policy_action,
            self.shared,
            self.free_busy_enabled,
            self.free_busy_level,
            self.partner_ready,
            self.default_access,
        ):
            control.observe(lambda _c: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [
                widgets.HTML("<b>Who looks, at whose calendar</b>"),
                self.viewer,
                self.owner,
                widgets.HTML("<b>User to user: the owner's sharing policy</b>"),
                self.policy_label,
                self.policy_action,
                self.shared,
                widgets.HTML("<b>Business to business: the organisation relationship</b>"),
                widgets.HBox([self.free_busy_enabled, self.partner_ready]),
                self.free_busy_level,
                self.default_access,
                self.output,
            ]
        )
        self._load_settings()

    # -- settings from the tenant ----------------------------------------------------------------------
    def _tenant(self) -> Tenant:
        return deepcopy(_world_parts(self.lab)[0])

    def reload(self) -> CalendarView:
        """Start again from the lab tenant (after a cmdlet changed it)."""
        self.tenant = self._tenant()
        return self._load_settings()

    def _owner_mailbox(self) -> Mailbox:
        mailbox = self.tenant.find_mailbox(self.owner.value)
        assert mailbox is not None
        return mailbox

    def _entry_key(self, viewer: Viewer, domains: dict[str, list[str]]) -> str:
        if viewer.kind == "anonymous":
            return ANONYMOUS
        return viewer.domain if viewer.domain in domains else "*"

    def _load_settings(self) -> CalendarView:
        viewer = viewer_from_key(self.viewer.value)
        owner = self._owner_mailbox()
        policy = self.tenant.sharing_policy_of(owner)
        domains = policy.domains if policy is not None and policy.enabled else {}
        key = self._entry_key(viewer, domains)
        action = next((a for a in domains.get(key, []) if a in ACTION_ACCESS), NOT_ALLOWED)
        shared_key = ANONYMOUS if viewer.kind == "anonymous" else viewer.address
        relationship = next(
            (
                r
                for r in self.tenant.organization_relationships
                if viewer.domain in r.domain_names and r.enabled
            ),
            None,
        )
        self._loading = True
        try:
            self.policy_action.value = action
            self.shared.value = owner.calendar_shared_with.get(shared_key, NOT_SHARED)
            self.shared.disabled = viewer.kind == "organisation"
            for control in (self.free_busy_enabled, self.free_busy_level, self.partner_ready):
                control.disabled = viewer.kind == "anonymous"  # no organisation, no relationship
            self.free_busy_enabled.value = relationship is not None and relationship.free_busy_access_enabled
            self.free_busy_level.value = (
                relationship.free_busy_access_level if relationship else "AvailabilityOnly"
            )
            self.default_access.value = owner.calendar_default_access
        finally:
            self._loading = False
        name = policy.name if policy is not None else "none"
        self.policy_label.value = html.escape(
            f"{owner.address} has the sharing policy {name!r}; its entry for "
        ) + (f"<code>{html.escape(key)}</code>")
        return self.refresh()

    # -- the what-if --------------------------------------------------------------------------------------
    def scenario(self) -> Tenant:
        """A copy of the tenant with the widget's settings applied."""
        tenant = deepcopy(self.tenant)
        viewer = viewer_from_key(self.viewer.value)
        owner = tenant.find_mailbox(self.owner.value)
        assert owner is not None
        policy = tenant.sharing_policy_of(owner)
        domains = dict(policy.domains) if policy is not None and policy.enabled else {}
        key = self._entry_key(viewer, domains)
        kept = [a for a in domains.get(key, []) if a not in ACTION_ACCESS]
        chosen = [] if self.policy_action.value == NOT_ALLOWED else [self.policy_action.value]
        domains[key] = [*chosen, *kept]
        # Named after the policy it stands for, so the explanation reads as the learner's own set-up.
        name = f"{policy.name if policy is not None else 'Default Sharing Policy'} {AS_SET_HERE}"
        tenant.sharing_policies.append(SharingPolicy(name, domains))
        owner.sharing_policy = name
        if viewer.kind != "organisation":
            shared_key = ANONYMOUS if viewer.kind == "anonymous" else viewer.address
            owner.calendar_shared_with.pop(shared_key, None)
            if self.shared.value != NOT_SHARED:
                owner.calendar_shared_with[shared_key] = self.shared.value
        owner.calendar_default_access = self.default_access.value
        if viewer.domain:
            tenant.organization_relationships = [
                r for r in tenant.organization_relationships if viewer.domain not in r.domain_names
            ]
            tenant.organization_relationships.append(
                OrganizationRelationship(
                    f"Relationship with {viewer.domain} {AS_SET_HERE}",
                    [viewer.domain],
                    free_busy_access_enabled=self.free_busy_enabled.value,
                    free_busy_access_level=self.free_busy_level.value,
                )
            )
        return tenant

    def refresh(self) -> CalendarView:
        if self._loading and self.view is not None:
            return self.view
        tenant = self.scenario()
        viewer = viewer_from_key(self.viewer.value)
        owner = tenant.find_mailbox(self.owner.value)
        assert owner is not None
        self.view = calendar_view(tenant, viewer, owner, partner_side_ready=self.partner_ready.value)
        self.shown = visible_items(self.view.access, owner.calendar)
        self.output.value = self._html(self.view, self.shown)
        return self.view

    def _html(self, view: CalendarView, shown: list[ShownItem]) -> str:
        colour = "#1b5e20" if view.access != "None" else "#b00020"
        head = (
            f'<p style="color:{colour}"><b>{html.escape(view.viewer.label)} sees {WHAT_IS_SEEN[view.access]}'
            f"</b> of {html.escape(view.owner)}'s calendar.</p>"
        )
        routes = "".join(
            f'<li title="rule: {html.escape(r.rule)}" data-rule="{html.escape(r.rule)}">'
            f"<b>{html.escape(r.mechanism)}</b>: {WHAT_IS_SEEN[r.access]}. {html.escape(r.why)}</li>"
            for r in view.routes
        )
        if not shown:
            table = "<p><i>(an empty calendar: nothing to show)</i></p>"
        else:
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(cell)}</td>"
                    for cell in (
                        f"{item.start:%a %d %b %H:%M}-{item.end:%H:%M}",
                        item.show_as,
                        item.subject,
                        item.location,
                        item.body,
                    )
                )
                + "</tr>"
                for item in shown
            )
            header = "".join(f"<th>{h}</th>" for h in ("when", "shows as", "subject", "location", "details"))
            table = f"<table><tr>{header}</tr>{rows}</table>"
        return f"{head}{table}<ul>{routes}</ul>"
