"""Sharing in the world file: the default world's state, each mistake named, the tenant.json round trip."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.world.loader import data_dir, load_world
from mailflow_lab.world.model import DEFAULT_SHARING_POLICY, OrganizationRelationship, SharingPolicy
from mailflow_lab.world.state import tenant_from_dict, tenant_to_dict

WORLD = data_dir() / "worlds" / "contoso.toml"


def _world(tmp_path: Path, old: str, new: str) -> Path:
    text = WORLD.read_text()
    assert old in text, old
    text = text.replace(old, new, 1).replace('"../', f'"{data_dir().as_posix()}/')
    path = tmp_path / "world.toml"
    path.write_text(text)
    return path


def test_default_world_sharing_state() -> None:
    tenant = load_world().tenant
    (policy,) = tenant.sharing_policies
    # The sheet's observed Default Sharing Policy.
    assert policy == SharingPolicy(
        DEFAULT_SHARING_POLICY,
        {"Anonymous": ["CalendarSharingFreeBusyReviewer"], "*": ["CalendarSharingFreeBusySimple"]},
        enabled=True,
        default=True,
    )
    assert tenant.organization_relationships == []
    alex = tenant.find_mailbox("alex@contoso.com")
    assert alex is not None and alex.sharing_policy is None
    assert tenant.sharing_policy_of(alex) is policy
    assert alex.calendar_default_access == "AvailabilityOnly"
    assert alex.calendar_shared_with == {"pat@fabrikam.com": "Reviewer", "Anonymous": "LimitedDetails"}
    assert [i.subject for i in alex.calendar][:2] == ["Contract renewal with Fabrikam", "Lunch"]
    assert alex.calendar[0].start == datetime(2026, 3, 2, 9, 0)
    assert [i.show_as for i in alex.calendar] == ["Busy", "Free", "Tentative"]


def test_a_world_without_sharing_tables_gets_the_default_policy(tmp_path: Path) -> None:
    start = WORLD.read_text().index("# The sharing policy every")
    end = WORLD.read_text().index("[[tenant.dkim]]")
    path = _world(tmp_path, WORLD.read_text()[start:end], "")
    tenant = load_world(path).tenant
    assert [p.name for p in tenant.sharing_policies] == [DEFAULT_SHARING_POLICY]
    assert tenant.sharing_policies[0].default


def test_relationships_and_policies_load(tmp_path: Path) -> None:
    extra = (
        '[[tenant.sharing_policies]]\nname = "Partners"\n'
        'domains = ["fabrikam.com: CalendarSharingFreeBusyDetail, ContactsSharing"]\n\n'
        '[[tenant.organization_relationships]]\nname = "Fabrikam"\ndomain_names = ["fabrikam.com"]\n'
        'free_busy_access_enabled = true\nfree_busy_access_level = "limiteddetails"\n\n[[tenant.dkim]]'
    )
    path = _world(tmp_path, "[[tenant.dkim]]", extra)
    path.write_text(
        path.read_text().replace(
            "calendar_default_access", 'sharing_policy = "partners"\ncalendar_default_access'
        )
    )
    tenant = load_world(path).tenant
    assert tenant.sharing_policies[1] == SharingPolicy(
        "Partners", {"fabrikam.com": ["CalendarSharingFreeBusyDetail", "ContactsSharing"]}
    )
    assert tenant.organization_relationships == [
        OrganizationRelationship("Fabrikam", ["fabrikam.com"], True, True, "LimitedDetails")
    ]
    alex = tenant.find_mailbox("alex@contoso.com")
    assert alex is not None and tenant.sharing_policy_of(alex) is tenant.sharing_policies[1]


def _policy(domains: str) -> str:
    return f'[[tenant.sharing_policies]]\nname = "P"\ndomains = [{domains}]\n\n[[tenant.dkim]]'


def _relationship(body: str) -> str:
    return f'[[tenant.organization_relationships]]\nname = "R"\n{body}\n\n[[tenant.dkim]]'


MISTAKES = [
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"fabrikam.com"'),
        "tenant.sharing_policies[1].domains[0]",
        "expected '<domain>: <action>'",
        id="entry-without-action",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"fabrikam.com: CalendarSharingEverything"'),
        "tenant.sharing_policies[1].domains[0]",
        "unknown sharing action",
        id="unknown-action",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"fabrikam: CalendarSharingFreeBusySimple"'),
        "tenant.sharing_policies[1].domains[0]",
        "expected *, Anonymous or a domain",
        id="bad-domain",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"fabrikam.com: CalendarSharingFreeBusySimple, CalendarSharingFreeBusyDetail"'),
        "tenant.sharing_policies[1].domains[0]",
        "choose one calendar sharing action",
        id="two-levels",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"Anonymous: ContactsSharing"'),
        "tenant.sharing_policies[1].domains[0]",
        "only calendar sharing actions",
        id="anonymous-contacts",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy('"*: ContactsSharing", "*: CalendarSharingFreeBusySimple"'),
        "tenant.sharing_policies[1].domains[1]",
        "* is listed twice",
        id="domain-twice",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy("").replace('name = "P"', 'name = "default sharing policy"'),
        "tenant.sharing_policies[1].name",
        "duplicate sharing policy",
        id="duplicate-policy",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _policy("").replace('name = "P"', 'name = "P"\ndefault = true'),
        "tenant.sharing_policies[1].default",
        "only one default",
        id="two-defaults",
    ),
    pytest.param(
        'calendar_default_access = "AvailabilityOnly"',
        'sharing_policy = "Partners"',
        "tenant.mailboxes[0].sharing_policy",
        "no sharing policy 'Partners'",
        id="unknown-policy",
    ),
    pytest.param(
        'calendar_default_access = "AvailabilityOnly"',
        'calendar_default_access = "Owner"',
        "tenant.mailboxes[0].calendar_default_access",
        "expected one of None, AvailabilityOnly",
        id="bad-calendar-permission",
    ),
    pytest.param(
        '"pat@fabrikam.com" = "Reviewer"',
        '"pat@fabrikam.com" = "Editor"',
        "tenant.mailboxes[0].calendar_shared_with.pat@fabrikam.com",
        "expected one of AvailabilityOnly, LimitedDetails, Reviewer",
        id="bad-share-level",
    ),
    pytest.param(
        '"pat@fabrikam.com" = "Reviewer"',
        '"scanner@contoso.com" = "Reviewer"',
        "tenant.mailboxes[0].calendar_shared_with.scanner@contoso.com",
        "people outside the organisation",
        id="share-inside",
    ),
    pytest.param(
        '"pat@fabrikam.com" = "Reviewer"',
        '"pat" = "Reviewer"',
        "tenant.mailboxes[0].calendar_shared_with.pat",
        "expected an email address",
        id="share-bad-address",
    ),
    pytest.param(
        "start = 2026-03-02T09:00:00",
        'start = "9am"',
        "tenant.mailboxes[0].calendar[0].start",
        "expected a TOML date and time",
        id="start-as-text",
    ),
    pytest.param(
        "end = 2026-03-02T10:00:00",
        "end = 2026-03-02T08:00:00",
        "tenant.mailboxes[0].calendar[0].end",
        "before it starts",
        id="ends-before-start",
    ),
    pytest.param(
        'show_as = "Free"',
        'show_as = "Away"',
        "tenant.mailboxes[0].calendar[1].show_as",
        "expected one of Free, Tentative, Busy, OutOfOffice",
        id="bad-show-as",
    ),
    pytest.param(
        'location = "Teams"',
        'location = "Teams"\nattendees = 3',
        "tenant.mailboxes[0].calendar[0].attendees",
        "unknown key",
        id="unknown-calendar-key",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _relationship('domain_names = ["fabrikam.com"]\nfree_busy_access_level = "Reviewer"'),
        "tenant.organization_relationships[0].free_busy_access_level",
        "expected one of None, AvailabilityOnly, LimitedDetails",
        id="relationship-level",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _relationship("domain_names = []"),
        "tenant.organization_relationships[0].domain_names",
        "at least one domain",
        id="relationship-no-domain",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _relationship('domain_names = ["contoso.com"]'),
        "tenant.organization_relationships[0].domain_names",
        "accepted domain",
        id="relationship-own-domain",
    ),
    pytest.param(
        "[[tenant.dkim]]",
        _relationship('domain_names = ["fabrikam.com"]\nmail_tips = true'),
        "tenant.organization_relationships[0].mail_tips",
        "unknown key",
        id="relationship-unknown-key",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), MISTAKES)
def test_sharing_mistakes_name_file_key_and_expectation(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    path = _world(tmp_path, old, new)
    with pytest.raises(LabDataError) as caught:
        load_world(path)
    error = caught.value
    assert error.file == str(path)
    assert error.where == where, error
    assert problem in error.problem, error


def test_sharing_state_round_trips_through_tenant_json() -> None:
    tenant = load_world().tenant
    tenant.sharing_policies.append(
        SharingPolicy("Partners", {"fabrikam.com": ["CalendarSharingFreeBusyDetail"]})
    )
    tenant.organization_relationships.append(
        OrganizationRelationship(
            "Fabrikam",
            ["fabrikam.com"],
            free_busy_access_enabled=True,
            free_busy_access_level="AvailabilityOnly",
        )
    )
    alex = tenant.find_mailbox("alex@contoso.com")
    assert alex is not None
    alex.sharing_policy = "Partners"
    data = json.loads(json.dumps(tenant_to_dict(tenant)))
    assert tenant_from_dict(data) == tenant


def test_a_tenant_json_saved_before_sharing_still_loads() -> None:
    data = json.loads(json.dumps(tenant_to_dict(load_world().tenant)))
    del data["sharing_policies"], data["organization_relationships"]
    for mailbox in data["mailboxes"]:
        for key in ("sharing_policy", "calendar", "calendar_default_access", "calendar_shared_with"):
            del mailbox[key]
    tenant = tenant_from_dict(data)
    assert [p.name for p in tenant.sharing_policies] == [DEFAULT_SHARING_POLICY]
    assert tenant.organization_relationships == []
    assert all(m.calendar == [] and m.calendar_default_access == "AvailabilityOnly" for m in tenant.mailboxes)
