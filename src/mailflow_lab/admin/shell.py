"""Running Exchange Online PowerShell lines against the lab tenant: pipelines, formatting, all-or-nothing."""

from __future__ import annotations

import copy
from typing import Any

from . import mailbox_cmdlets, mailflow_cmdlets, sharing_cmdlets, tenant_cmdlets
from .binder import WHAT_IF, Cmdlet, CmdletError, Context, bind, check_mandatory
from .objects import PowerShellResult, PSObject, default_view, format_list, format_table
from .syntax import Command, PowerShellSyntaxError, Value, parse

REGISTRY: dict[str, Cmdlet] = {
    c.name.lower(): c
    for c in [
        *tenant_cmdlets.CMDLETS,
        *mailbox_cmdlets.CMDLETS,
        *mailflow_cmdlets.CMDLETS,
        *sharing_cmdlets.CMDLETS,
    ]
}
FORMATTERS = {
    "format-list": "list",
    "fl": "list",
    "format-table": "table",
    "ft": "table",
    "select-object": "select",
    "select": "select",
}


def run(runtime: Any, text: str) -> PowerShellResult:
    """Run lines one statement at a time; a failing statement leaves the tenant as it was and stops."""
    result = PowerShellResult()
    try:
        statements = parse(text)
    except PowerShellSyntaxError as exc:
        result.error = f"ParserError: {exc}"
        return result
    for pipeline in statements:
        ctx = Context(runtime)
        with runtime.lock:
            before = copy.deepcopy(runtime.world.tenant)
            try:
                objects, formatted = _pipeline(ctx, pipeline.commands)
            except CmdletError as exc:
                runtime.world.tenant = before
                result.warnings += ctx.warnings
                result.error = str(exc)
                return result
            if ctx.what_if:
                # -WhatIf: say what would change, change nothing.
                runtime.world.tenant = before
                name = pipeline.commands[-1].name
                result.blocks.append(f'What if: Performing the operation "{name}" on the lab tenant.')
                continue
            if ctx.changed:
                runtime.save_tenant()
        result.warnings += ctx.warnings
        result.objects += objects
        shown = formatted if formatted is not None else default_view(objects) if objects else ""
        if shown:
            result.blocks.append(shown)
    return result


def _pipeline(ctx: Context, commands: tuple[Command, ...]) -> tuple[list[PSObject], str | None]:
    objects: list[PSObject] | None = None
    formatted: str | None = None
    for position, command in enumerate(commands):
        cmdlet = REGISTRY.get(command.name.lower())
        try:
            objects, formatted = _step(ctx, position, command, cmdlet, objects, formatted)
        except CmdletError as exc:
            # PowerShell names the command that failed before its message.
            raise CmdletError(f"{cmdlet.name if cmdlet else command.name}: {exc}") from None
    return objects or [], formatted


def _step(
    ctx: Context,
    position: int,
    command: Command,
    cmdlet: Cmdlet | None,
    objects: list[PSObject] | None,
    formatted: str | None,
) -> tuple[list[PSObject], str | None]:
    key = command.name.lower()
    if key in FORMATTERS:
        return _format(FORMATTERS[key], command, objects or [])
    if cmdlet is None:
        raise CmdletError(
            f"The term '{command.name}' is not recognized as a name of a cmdlet, function, script file, "
            "or executable program.\nCheck the spelling of the name, or if a path was included, verify "
            "that the path is correct and try again."
        )
    values = bind(cmdlet, command)
    ctx.what_if = ctx.what_if or bool(values.pop(WHAT_IF, False))
    if position == 0:
        check_mandatory(cmdlet, values)
        return cmdlet.run(ctx, values), formatted
    if not cmdlet.takes_pipeline_identity:
        raise CmdletError(
            "The input object cannot be bound to any parameters for the command either because the "
            "command does not take pipeline input or the input and its properties do not match any of "
            "the parameters that take pipeline input."
        )
    produced: list[PSObject] = []
    for item in objects or []:
        bound = {**values, "Identity": str(item.get("Identity") or item.get("Name"))}
        check_mandatory(cmdlet, bound)
        produced += cmdlet.run(ctx, bound)
    return produced, formatted


def _format(kind: str, command: Command, objects: list[PSObject]) -> tuple[list[PSObject], str | None]:
    names: list[str] = []
    for element in command.elements:
        if isinstance(element, Value):
            value = element.value
            names += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif element.name.lower() in ("property", "p") and element.has_value:
            value = element.value
            names += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if kind == "select":
        if "*" in names:
            return objects, None
        return [o.select(names) for o in objects] if names else objects, None
    if names == ["*"]:
        names = []
    text = format_list(objects, names or None) if kind == "list" else format_table(objects, names or None)
    return objects, text
