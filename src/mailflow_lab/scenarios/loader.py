"""Reading scenario files from data/scenarios/, every mistake named by file and key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..policy.sharing import Viewer
from ..world.datafile import LabDataError, Table, load_toml, parse_domain, parse_email, parse_ip
from ..world.model import ANONYMOUS
from ..world.paths import confined_path, data_dir
from .model import (
    ACCESS_LEVELS,
    MECHANISMS,
    OUTCOMES,
    STEPS,
    TRACE_STATUSES,
    CalendarCheck,
    CalendarExpectation,
    Changes,
    DnsChange,
    Expectation,
    Message,
    Scenario,
)

_EMAIL = "an email address such as alex@contoso.com"
_VIEWER = (
    "a person's address (pat@fabrikam.com), a domain for anyone there (fabrikam.com) "
    "or Anonymous (anyone with the published link)"
)
# The keys that only make sense for one kind of scenario, to name the mix-up when they meet the other.
_MAIL_EXPECT_KEYS = ("step", "reply", "error", "outcome", "trace", "header")
_CALENDAR_EXPECT_KEYS = ("access", "mechanism", "why")
_SENDING_ONLY = {"setup": ("recipients_sent_today", "freeze_clock"), "fix": ("device",)}
_NOT_BOTH = "a scenario checks either a [calendar] or a send ([device] and [message]), not both"
_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_RDTYPES = ("A", "AAAA", "MX", "TXT", "CNAME", "PTR", "NS")


# Instructor scenario packs: extra folders, separated like PATH, e.g. a folder shared with a class.
PACKS_ENV = "MAILFLOW_LAB_SCENARIOS"


def scenarios_dir() -> Path:
    """The scenarios shipped with the kit."""
    return data_dir() / "scenarios"


def scenario_dirs() -> list[Path]:
    """The shipped scenarios, then every folder named in MAILFLOW_LAB_SCENARIOS."""
    packs = [Path(p) for p in os.environ.get(PACKS_ENV, "").split(os.pathsep) if p.strip()]
    return [scenarios_dir(), *packs]


def scenario_paths(directory: Path | None = None) -> list[Path]:
    """Scenario files of one folder, or of every folder (a pack's file shadows a shipped one by name)."""
    folders = [directory] if directory else scenario_dirs()
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = path
    return sorted(found.values(), key=lambda p: p.stem)


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario name ("smtp-auth-tenant-off") or a path to a .toml file -> the file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    by_name = {p.stem: p for p in scenario_paths()}
    if str(name_or_path) not in by_name:
        known = ", ".join(by_name) or "none"
        raise FileNotFoundError(f"no scenario named {name_or_path!r} (known: {known})")
    return by_name[str(name_or_path)]


def load_scenario_file(name_or_path: str | Path) -> Scenario:
    path = find_scenario(name_or_path)
    top = Table(path, load_toml(path))
    world_text = top.str("world", "contoso")
    world: str | Path = world_text
    if world_text.endswith(".toml"):
        world = confined_path(top, "world", world_text, owner="scenario")
    elif not world_text.replace("-", "").replace("_", "").isalnum():
        raise top.error("world", f"expected a world name such as contoso or a .toml file, got {world_text!r}")
    is_calendar = top.has("calendar")
    for key in ("device", "message"):
        if is_calendar and top.has(key):
            raise top.error(key, _NOT_BOTH)
    title, objective, complaint = top.str("title"), top.str("objective"), top.str("complaint")
    hint, explanation, tags = top.str("hint"), top.str("explanation"), tuple(top.str_list("tags", []))
    setup_table = top.table("setup", required=False)
    setup = _changes(setup_table, setup=True)
    calendar = _calendar(top.table("calendar")) if is_calendar else None
    device = {} if is_calendar else _device(top.table("device"))
    message = None if is_calendar else _message(top.table("message"))
    expect = _expectation(top.table("expect"), calendar=is_calendar)
    fix_table = top.table("fix")
    fix = _changes(fix_table, setup=False, keep=("expect",))
    fix_expect = _expectation(fix_table.table("expect"), calendar=is_calendar)
    fix_table.done()
    top.done()
    if is_calendar:
        for where, table in (("setup", setup_table), ("fix", fix_table)):
            for key in _SENDING_ONLY[where]:
                if table.has(key):
                    raise table.error(key, "only for a scenario that sends; a [calendar] one sends nothing")
        if not fix.powershell:
            raise LabDataError(path, "fix", "a calendar fix needs powershell changes")
    elif not (fix.powershell or fix.dns or fix.device):
        raise LabDataError(path, "fix", "a fix needs powershell, dns or device changes")
    return Scenario(
        name=path.stem,
        path=path,
        title=title,
        objective=objective,
        complaint=complaint,
        hint=hint,
        explanation=explanation,
        world=world,
        tags=tags,
        setup=setup,
        device=device,
        message=message,
        expect=expect,
        fix=fix,
        fix_expect=fix_expect,
        calendar=calendar,
    )


def parse_viewer(text: str) -> Viewer:
    """A person (pat@fabrikam.com), anyone at a domain (fabrikam.com) or Anonymous; ValueError otherwise."""
    if text.strip().lower() == ANONYMOUS.lower():
        return Viewer.anonymous()
    if "@" in text:
        return Viewer.person(parse_email(text))
    return Viewer.organisation(parse_domain(text))


def _calendar(t: Table) -> CalendarCheck:
    check = CalendarCheck(
        viewer=t.parsed("viewer", parse_viewer, _VIEWER),
        owner=t.parsed("owner", parse_email, _EMAIL).lower(),
    )
    inside = check.owner.rpartition("@")[2]
    if check.viewer.domain == inside:
        raise t.error("viewer", f"expected someone outside {inside}: sharing is with other organisations")
    t.done()
    return check


def _changes(t: Table, *, setup: bool, keep: tuple[str, ...] = ()) -> Changes:
    changes = Changes(
        powershell=tuple(t.str_list("powershell", [])),
        dns=tuple(_dns(d) for d in t.tables("dns")),
        device=_device(t.table("device", required=False), partial=True) if not setup else {},
        recipients_sent_today=_sent_today(t.table("recipients_sent_today", required=False)) if setup else {},
        freeze_clock=t.bool("freeze_clock", False) if setup else False,
    )
    for key in keep:
        t.claim(key)
    t.done()
    return changes


def _dns(t: Table) -> DnsChange:
    change = DnsChange(
        name=t.str("name").rstrip(".").lower(),
        rdtype=t.choice("type", _RDTYPES),
        values=tuple(t.str_list("values")),
    )
    t.done()
    return change


def _sent_today(t: Table) -> dict[str, int]:
    out = {}
    for address in t.keys():
        try:
            parse_email(address)
        except ValueError:
            raise t.error(address, f"expected {_EMAIL}") from None
        count = t.int(address)
        if count < 0:
            raise t.error(address, f"expected a number of recipients, 0 or more, got {count}")
        out[address.lower()] = count
    t.done()
    return out


def _device(t: Table, *, partial: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    required = () if partial else ("name", "server", "sender")
    for key in ("name", "server", "username", "password", "helo", "client_cert", "oauth_scope", "oauth_user"):
        if t.has(key) or key in required:
            fields[key] = t.str(key)
    if t.has("sender") or "sender" in required:
        fields["sender"] = t.parsed("sender", parse_email, _EMAIL)
    if t.has("port"):
        fields["port"] = t.int("port")
        if not 0 < fields["port"] < 65536:
            raise t.error("port", f"expected a port from 1 to 65535, got {fields['port']}")
    if t.has("tls"):
        fields["tls"] = t.choice("tls", ("none", "starttls", "implicit"))
    for key in ("tls_min_version", "tls_max_version"):
        if t.has(key):
            fields[key] = t.choice(key, _TLS_VERSIONS)
    if t.has("source_ip"):
        fields["source_ip"] = t.parsed("source_ip", parse_ip, "an IPv4 or IPv6 address")
    if t.has("oauth_expired"):
        fields["oauth_expired"] = t.bool("oauth_expired")
    if t.has("chunking"):
        fields["chunking"] = t.bool("chunking")
    t.done()
    return fields


def _message(t: Table) -> Message:
    to = t.parsed_list("to", parse_email, _EMAIL)
    if not to:
        raise t.error("to", "expected at least one recipient")
    message = Message(
        to=tuple(to),
        subject=t.str("subject", "Lab scenario"),
        header_from=t.parsed("header_from", parse_email, _EMAIL, None),
        size_kb=t.int("size_kb", 0),
        count=t.int("count", 1),
    )
    if not 1 <= message.count <= 200:
        raise t.error("count", f"expected 1 to 200 messages, got {message.count}")
    if not 0 <= message.size_kb <= 200_000:
        raise t.error("size_kb", f"expected 0 to 200000 KB, got {message.size_kb}")
    t.done()
    return message


def _expectation(t: Table, *, calendar: bool = False) -> Expectation | CalendarExpectation:
    wrong_keys = _MAIL_EXPECT_KEYS if calendar else _CALENDAR_EXPECT_KEYS
    for key in wrong_keys:
        if t.has(key):
            if calendar:
                problem = "only for a scenario that sends; a [calendar] one takes access, mechanism, why"
            else:
                problem = "only for a [calendar] scenario; this one sends ([device] and [message])"
            raise t.error(key, problem)
    if calendar:
        return _calendar_expectation(t)
    outcome_table = t.table("outcome", required=False)
    outcome = {}
    for address in outcome_table.keys():
        outcome[address.lower()] = outcome_table.choice(address, OUTCOMES)
    outcome_table.done()
    header_table = t.table("header", required=False)
    header = {name: header_table.str(name) for name in header_table.keys()}
    header_table.done()
    expectation = Expectation(
        step=t.choice("step", STEPS, None),
        reply=t.str("reply", None),
        error=t.str("error", None),
        outcome=outcome,
        trace=t.choice("trace", TRACE_STATUSES, None),
        header=header,
    )
    if not any((expectation.step, expectation.reply, expectation.error, outcome, expectation.trace, header)):
        raise LabDataError(t.file, t.path, "state at least one of step, reply, error, outcome, trace, header")
    t.done()
    return expectation


def _calendar_expectation(t: Table) -> CalendarExpectation:
    expectation = CalendarExpectation(
        access=t.choice("access", ACCESS_LEVELS),
        mechanism=t.choice("mechanism", MECHANISMS, None),
        why=t.str("why", None),
    )
    if expectation.mechanism == "none" and expectation.access != "None":
        raise t.error("mechanism", f'"none" goes with access "None"; {expectation.access} comes through one')
    if expectation.access == "None" and expectation.mechanism not in (None, "none"):
        raise t.error("mechanism", 'a viewer who sees nothing sees it through no mechanism: write "none"')
    t.done()
    return expectation
