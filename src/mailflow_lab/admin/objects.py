"""Cmdlet results as PowerShell shows them: objects with properties, Format-List and Format-Table."""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PSObject:
    """One result object: a type name, ordered properties, and the columns a table shows by default."""

    type_name: str
    properties: dict[str, Any]
    table_columns: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Any:
        for key, value in self.properties.items():
            if key.lower() == name.lower():
                return value
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def select(self, names: Sequence[str]) -> PSObject:
        chosen = {}
        for name in names:
            key = next((k for k in self.properties if k.lower() == name.lower()), name)
            chosen[key] = self.properties.get(key)
        return PSObject(self.type_name, chosen, tuple(chosen))


def show(value: Any) -> str:
    """A property value as PowerShell prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime):
        hour = value.hour % 12 or 12
        return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} " + (
            "AM" if value.hour < 12 else "PM"
        )
    if isinstance(value, list | tuple):
        return "{" + ", ".join(show(v) for v in value) + "}"
    return str(value)


def format_list(objects: Sequence[PSObject], names: Sequence[str] | None = None) -> str:
    blocks = []
    for obj in objects:
        chosen = obj.select(names) if names else obj
        width = max((len(k) for k in chosen.properties), default=0)
        blocks.append("\n".join(f"{k.ljust(width)} : {show(v)}" for k, v in chosen.properties.items()))
    return "\n\n".join(blocks)


def default_view(objects: Sequence[PSObject]) -> str:
    """PowerShell's default display: a list for one object, a table for several."""
    if len(objects) == 1:
        return format_list(objects)
    return format_table(objects)


def format_table(objects: Sequence[PSObject], names: Sequence[str] | None = None) -> str:
    if not objects:
        return ""
    columns = list(names or objects[0].table_columns or objects[0].properties)
    rows = [[show(obj.get(c)) for c in columns] for obj in objects]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    line = lambda cells: " ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(columns), line(["-" * len(c) for c in columns])]
    out += [line(r) for r in rows]
    return "\n".join(out)


@dataclass
class PowerShellResult:
    """What a run of PowerShell lines gave: objects, warnings, and the error that stopped it, if any."""

    objects: list[PSObject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    blocks: list[str] = field(default_factory=list)  # what each statement shows, in order

    @property
    def ok(self) -> bool:
        return self.error is None

    def __iter__(self) -> Iterator[PSObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, index: int) -> PSObject:
        return self.objects[index]

    def text(self) -> str:
        parts = [f"WARNING: {w}" for w in self.warnings] + self.blocks
        if self.error:
            parts.append(self.error)
        return "\n\n".join(p for p in parts if p)

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        body = html.escape(self.text())
        colour = "#b00020" if self.error else "inherit"
        return f'<pre style="color:{colour}">{body}</pre>'
