"""Binding typed words to a cmdlet's parameters the way PowerShell does: prefixes, positions, types."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .objects import PSObject
from .syntax import Command, Parameter, Value

Kind = Literal["string", "bool", "nullable-bool", "switch", "list", "datetime", "int", "choice", "ip-list"]

# Common parameters every Exchange cmdlet takes; the lab accepts them and ignores what they would change.
COMMON = ("Confirm", "WhatIf", "Verbose", "ErrorAction", "WarningAction", "DomainController", "Force")
WHAT_IF = "-WhatIf"  # key bind() sets when -WhatIf was given: the shell then changes nothing


class CmdletError(Exception):
    """An error as PowerShell writes it; the line that raised it changes nothing."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind = "string"
    mandatory: bool = False
    position: int | None = None
    choices: tuple[str, ...] = ()


@dataclass
class Context:
    """What a cmdlet can reach: the lab runtime and where to put warnings."""

    runtime: Any
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    what_if: bool = False

    def warn_once(self, key: str, text: str) -> None:
        seen: set[str] = self.runtime.__dict__.setdefault("_ps_warned", set())
        if key not in seen:
            seen.add(key)
            self.warnings.append(text)


Runner = Callable[[Context, dict[str, Any]], list[PSObject]]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    params: tuple[Param, ...]
    run: Runner
    takes_pipeline_identity: bool = False

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name.lower() == name.lower()), None)


def bind(cmdlet: Cmdlet, command: Command) -> dict[str, Any]:
    """Words -> {parameter name: converted value}; raises CmdletError with PowerShell's wording."""
    values: dict[str, Any] = {}
    positional = sorted((p for p in cmdlet.params if p.position is not None), key=lambda p: p.position or 0)
    elements = list(command.elements)
    index = 0
    while index < len(elements):
        element = elements[index]
        index += 1
        if isinstance(element, Parameter):
            spec = _resolve(cmdlet, element.name)
            if spec is None:  # a common parameter: take its value, if any, and move on
                if "whatif".startswith(element.name.lower()) and len(element.name) >= 2:
                    values[WHAT_IF] = element.value if element.has_value else True
                if not element.has_value and index < len(elements) and isinstance(elements[index], Value):
                    if element.name.lower() not in ("confirm", "whatif", "verbose", "force"):
                        index += 1
                continue
            if spec.kind == "switch":
                raw = element.value if element.has_value else True
            elif element.has_value:
                raw = element.value
            elif index < len(elements) and isinstance(elements[index], Value):
                raw = elements[index].value  # type: ignore[union-attr]
                index += 1
            else:
                raise CmdletError(
                    f"Missing an argument for parameter '{spec.name}'. "
                    f"Specify a parameter of type '{_type_name(spec)}' and try again."
                )
            values[spec.name] = convert(spec, raw)
            continue
        free = [p for p in positional if p.name not in values]
        if not free:
            raise CmdletError(
                f"A positional parameter cannot be found that accepts argument '{_plain(element.value)}'."
            )
        values[free[0].name] = convert(free[0], element.value)
    return values


def check_mandatory(cmdlet: Cmdlet, values: dict[str, Any]) -> None:
    missing = [p.name for p in cmdlet.params if p.mandatory and p.name not in values]
    if missing:
        raise CmdletError(
            "Cannot process command because of one or more missing mandatory parameters: "
            + " ".join(missing)
            + "."
        )


def _resolve(cmdlet: Cmdlet, typed: str) -> Param | None:
    exact = cmdlet.param(typed)
    if exact is not None:
        return exact
    matches = [p for p in cmdlet.params if p.name.lower().startswith(typed.lower())]
    common = [c for c in COMMON if c.lower().startswith(typed.lower())]
    if len(matches) == 1 and not any(c.lower() == typed.lower() for c in COMMON):
        return matches[0]
    if len(matches) > 1:
        options = " ".join(f"-{p.name}" for p in matches)
        raise CmdletError(
            f"Parameter cannot be processed because the parameter name '{typed}' is ambiguous. "
            f"Possible matches include: {options}."
        )
    if common:
        return None
    raise CmdletError(f"A parameter cannot be found that matches parameter name '{typed}'.")


def convert(spec: Param, raw: Any) -> Any:
    """A typed value -> the parameter's type, or PowerShell's conversion error."""
    kind = spec.kind
    if kind in ("bool", "switch", "nullable-bool"):
        if raw is None and kind == "nullable-bool":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        raise CmdletError(
            f"Cannot process argument transformation on parameter '{spec.name}'. Cannot convert value "
            f'"{_plain(raw)}" to type "System.Boolean". Boolean parameters accept only Boolean values and '
            "numbers, such as $True, $False, 1 or 0."
        )
    if kind == "choice":
        text = _plain(raw)
        for choice in spec.choices:
            if choice.lower() == text.lower():
                return choice
        raise CmdletError(
            f"Cannot bind parameter '{spec.name}'. Cannot convert value \"{text}\": Unable to match the "
            f"identifier name {text} to a valid enumerator name. Specify one of the following enumerator "
            f"names and try again: {', '.join(spec.choices)}"
        )
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
        if isinstance(raw, str) and raw.lower() == "unlimited":
            return None
        raise CmdletError(
            f"Cannot bind parameter '{spec.name}'. "
            f'Cannot convert value "{_plain(raw)}" to type "System.Int32".'
        )
    if kind == "datetime":
        return _datetime(spec, raw)
    if kind in ("list", "ip-list"):
        if isinstance(raw, dict):
            table = {str(k).lower(): v for k, v in raw.items()}
            if not set(table) <= {"add", "remove"}:
                raise CmdletError(
                    f"Cannot bind parameter '{spec.name}': a multi-valued property takes "
                    '@{Add="..."; Remove="..."}.'
                )
            return {key: [_item(spec, v) for v in _as_list(value)] for key, value in table.items()}
        if raw is None:
            return []
        return [_item(spec, v) for v in _as_list(raw)]
    if raw is None:
        return None
    if isinstance(raw, list | dict):
        raise CmdletError(
            f"Cannot convert '{_plain(raw)}' to the type 'System.String' required by parameter '{spec.name}'."
        )
    return str(raw)


def _item(spec: Param, value: Any) -> Any:
    if spec.kind != "ip-list":
        return str(value)
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise CmdletError(
            f"Cannot bind parameter '{spec.name}'. Cannot convert value \"{value}\" to type "
            '"Microsoft.Exchange.Data.IPRange". Error: "The IP address or range is not valid."'
        ) from None


def add_remove(
    current: list[Any], table: dict[str, list[Any]], normalise: Callable[[Any], Any] | None = None
) -> list[Any]:
    """A multi-valued property after @{Add=...; Remove=...}: additions not there yet, then removals.

    `normalise` (e.g. str.lower) is applied to what is added and removed before comparing.
    """
    norm = normalise or (lambda value: value)
    values = list(current)
    values += [norm(v) for v in table.get("add", []) if norm(v) not in values]
    removed = [norm(v) for v in table.get("remove", [])]
    return [v for v in values if v not in removed]


def _datetime(spec: Param, raw: Any) -> datetime:
    text = _plain(raw).strip()
    formats = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%Y-%m-%d")
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise CmdletError(
            f'Cannot bind parameter \'{spec.name}\'. Cannot convert value "{text}" to type "System.DateTime".'
        ) from None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _type_name(spec: Param) -> str:
    return {
        "bool": "System.Boolean",
        "nullable-bool": "System.Nullable[bool]",
        "list": "Microsoft.Exchange.Data.MultiValuedProperty",
        "ip-list": "Microsoft.Exchange.Data.MultiValuedProperty[IPRange]",
        "datetime": "System.DateTime",
        "int": "System.Int32",
    }.get(spec.kind, "System.String")
