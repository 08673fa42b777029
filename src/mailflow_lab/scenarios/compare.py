"""A scenario's steps in a lab: apply its changes, send (or look at a calendar), observe, compare."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..client.device import Device, SendResult
from ..lab.lab import Lab
from ..policy.sharing import WHAT_IS_SEEN, CalendarView
from .model import CalendarExpectation, Changes, Expectation, Scenario


class ScenarioError(RuntimeError):
    """A scenario's own change failed (a cmdlet line refused, a DNS name outside the lab)."""


@dataclass
class Observation:
    """What one send did, in the terms an expectation uses."""

    step: str
    reply: str | None
    error: str | None
    outcome: dict[str, str]
    trace: list[str]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class CalendarObservation:
    """What the viewer of a calendar scenario saw: the access, the mechanism that gave it, and why.

    `reply`, `error` and `outcome` answer what a summary of a mail observation asks, so the
    expected-versus-observed table reads the same for both kinds.
    """

    viewer: str
    owner: str
    access: str
    mechanism: str | None
    rule: str
    why: str
    lines: list[str] = field(default_factory=list)  # the owner's appointments as the viewer sees them

    @property
    def reply(self) -> str | None:
        return None

    @property
    def error(self) -> str | None:
        return None

    @property
    def outcome(self) -> dict[str, str]:
        return {"access": self.access}


@dataclass
class ScenarioResult:
    scenario: Scenario
    broken: Observation | CalendarObservation
    broken_mismatches: list[str]
    fixed: Observation | CalendarObservation | None = None
    fixed_mismatches: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[str]:
        return [f"broken: {m}" for m in self.broken_mismatches] + [
            f"fixed: {m}" for m in self.fixed_mismatches
        ]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "title": self.scenario.title,
            "ok": self.ok,
            "broken": asdict(self.broken),
            "fixed": asdict(self.fixed) if self.fixed else None,
            "mismatches": self.mismatches,
        }


def apply_changes(lab: Lab, changes: Changes, where: str = "") -> None:
    """Apply cmdlet lines, DNS edits and history to a running lab; a refused line is a ScenarioError."""
    for line in changes.powershell:
        result = lab.powershell(line)
        if not result.ok:
            raise ScenarioError(f"{where}{line}: {result.error}")
    for change in changes.dns:
        try:
            if not change.values:
                lab.dns.remove_records(change.name, change.rdtype)
            elif change.rdtype == "TXT":
                lab.dns.set_txt(change.name, change.values)
            else:
                lab.dns.set_records(change.name, change.rdtype, change.values)
        except (KeyError, ValueError) as exc:
            raise ScenarioError(f"{where}dns {change.name} {change.rdtype}: {exc}") from None
    for address, count in changes.recipients_sent_today.items():
        lab.runtime.record_submission(address, count)
    if changes.freeze_clock:
        lab.clock.freeze()


def build_device(lab: Lab, fields: dict[str, Any]) -> Device:
    """A Device from scenario fields; an OAuth scope gets a token from the lab's issuer."""
    settings = dict(fields)
    scope = settings.pop("oauth_scope", None)
    user = settings.pop("oauth_user", None)
    expired = settings.pop("oauth_expired", False)
    if scope:
        token_user = user or settings.get("username") or settings.get("sender", "")
        settings["oauth_token"] = lab.issue_token(token_user, scope, lifetime_s=0 if expired else 3600)
        settings.pop("password", None)
    return Device(**settings)


def send(lab: Lab, scenario: Scenario, device: Device) -> SendResult:
    """Send the scenario's message (count times); the last result is the one that is judged."""
    message = scenario.message
    if message is None:
        raise ScenarioError(f"{scenario.name}: a [calendar] scenario sends no message")
    attachment = b"x" * (message.size_kb * 1024) if message.size_kb else None
    result: SendResult | None = None
    for _ in range(message.count):
        result = device.send(
            lab,
            to=list(message.to),
            subject=message.subject,
            attachment=attachment,
            header_from=message.header_from,
        )
    assert result is not None
    return result


def observe(
    lab: Lab, result: SendResult, traced_before: set[tuple[str, str]], headers: set[str]
) -> Observation:
    outcome = {address.lower(): o.where for address, o in result.outcome.items()}
    new = [r for r in lab.message_trace() if (r.message_trace_id, r.recipient_address) not in traced_before]
    if result.message_id:
        new = [r for r in new if r.message_id == result.message_id]
    seen: dict[str, str] = {}
    for address, where in outcome.items():
        if seen or not headers or where not in ("Inbox", "Junk Email"):
            continue
        for message in lab.mailbox(address).folder(where):
            if str(message.get("Message-ID", "")).strip() == result.message_id:
                seen = {name: " ".join(str(message.get(name, "")).split()) for name in headers}
                break
    return Observation(
        step=result.step,
        reply=str(result.reply) if result.reply else None,
        error=result.error,
        outcome=outcome,
        trace=sorted({r.status for r in new}),
        headers=seen,
    )


def observe_calendar(view: CalendarView) -> CalendarObservation:
    """A calendar view in the terms a calendar expectation uses."""
    return CalendarObservation(
        viewer=view.viewer.label,
        owner=view.owner,
        access=view.access,
        mechanism=view.mechanism,
        rule=view.rule,
        why=view.why,
        lines=view.lines(),
    )


def compare(expect: Expectation | CalendarExpectation, seen: Observation | CalendarObservation) -> list[str]:
    """Each stated expectation against what happened, as readable mismatch lines."""
    if isinstance(expect, CalendarExpectation) and isinstance(seen, CalendarObservation):
        return compare_calendar(expect, seen)
    if not (isinstance(expect, Expectation) and isinstance(seen, Observation)):
        raise TypeError(f"cannot compare {type(expect).__name__} with {type(seen).__name__}")
    problems = []
    if expect.step and seen.step != expect.step:
        problems.append(f"expected to stop at {expect.step}, stopped at {seen.step}")
    if expect.reply and not (seen.reply or "").startswith(expect.reply):
        problems.append(f"expected a reply starting {expect.reply!r}, got {seen.reply or seen.error!r}")
    if expect.error and expect.error not in (seen.error or ""):
        problems.append(f"expected an error mentioning {expect.error!r}, got {seen.error or seen.reply!r}")
    for address, where in expect.outcome.items():
        if seen.outcome.get(address) != where:
            problems.append(f"expected {address} -> {where}, got {seen.outcome.get(address, 'nothing')}")
    if expect.trace == "none" and seen.trace:
        problems.append(f"expected no trace entry, got {', '.join(seen.trace)}")
    elif expect.trace and expect.trace != "none" and seen.trace != [expect.trace]:
        problems.append(f"expected trace status {expect.trace}, got {', '.join(seen.trace) or 'no entry'}")
    for name, text in expect.header.items():
        if text not in seen.headers.get(name, ""):
            problems.append(
                f"expected {name} to contain {text!r}, got {seen.headers.get(name, '(no copy)')!r}"
            )
    return problems


def compare_calendar(expect: CalendarExpectation, seen: CalendarObservation) -> list[str]:
    """What the viewer should see against what they see, as readable mismatch lines."""
    problems = []
    if seen.access != expect.access:
        problems.append(
            f"expected {seen.viewer} to see {WHAT_IS_SEEN[expect.access]} ({expect.access}), "
            f"sees {WHAT_IS_SEEN[seen.access]} ({seen.access})"
        )
    if expect.mechanism == "none" and seen.mechanism:
        problems.append(f"expected no mechanism to give access, got the {seen.mechanism}")
    elif expect.mechanism and expect.mechanism != "none" and seen.mechanism != expect.mechanism:
        problems.append(f"expected access through the {expect.mechanism}, got {seen.mechanism or 'none'}")
    if expect.why and expect.why not in seen.why:
        problems.append(f"expected the reason to mention {expect.why!r}, got {seen.why!r}")
    return problems
