"""Reading one Exchange Online PowerShell export file (ConvertTo-Json): its objects, property by property."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .datafile import LabDataError, read_capped

T = TypeVar("T")

# A 20,000-mailbox Get-Mailbox export with the selected properties is some 15 MB.
MAX_EXPORT_BYTES = 256 * 1024 * 1024


class Warnings:
    """What an import could not carry into the lab, counted per file and property, never dropped."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def add(self, file: str, prop: str, problem: str) -> None:
        self._counts[(file, prop, problem)] += 1

    def lines(self) -> list[str]:
        out = []
        for (file, prop, problem), count in self._counts.items():
            times = f" ({count} objects)" if count > 1 else ""
            out.append(f"{file}: {prop}: {problem}{times}")
        return out


def _decode(path: Path, data: bytes) -> str:
    """Windows PowerShell writes UTF-16 with a BOM unless told otherwise; PowerShell 7 writes UTF-8."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabDataError(path, "", f"is not UTF-8 or UTF-16 text (byte {exc.start})") from None


class ExportFile:
    """One <Cmdlet>.json file: a single object or a list of them, as ConvertTo-Json writes either."""

    def __init__(self, folder: Path, name: str, warnings: Warnings, required: bool = False) -> None:
        self.path = folder / name
        self.name = name
        self.warnings = warnings
        self.is_list = False
        self._rows: list[Any] = []
        if not self.path.exists():
            if required:
                raise LabDataError(self.path, "", "missing: run Export-MailflowLabTenant.ps1 again")
            warnings.add(name, "(file)", "missing: nothing of it imported, lab defaults used")
            return
        text = _decode(self.path, read_capped(self.path, MAX_EXPORT_BYTES)).strip()
        if not text:  # ConvertTo-Json of nothing writes nothing
            return
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            raise LabDataError(self.path, where, f"not JSON ({exc.msg})") from None
        if data is None:
            return
        self.is_list = isinstance(data, list)
        self._rows = data if self.is_list else [data]

    def rows(self) -> Iterator[Row]:
        for index, data in enumerate(self._rows):
            where = f"[{index}]" if self.is_list else ""
            if not isinstance(data, dict):
                raise LabDataError(self.path, where or "top level", f"expected an object, got {_kind(data)}")
            yield Row(self, where, data)

    def __len__(self) -> int:
        return len(self._rows)


class Row:
    """One exported object: each property read is marked; done() warns about every other one by name."""

    def __init__(self, file: ExportFile, where: str, data: dict[str, Any]) -> None:
        self.file = file
        self.where = where
        self._data = data
        self._read: set[str] = set()

    def error(self, prop: str, problem: str) -> LabDataError:
        return LabDataError(self.file.path, f"{self.where}.{prop}" if self.where else prop, problem)

    def warn(self, prop: str, problem: str) -> None:
        self.file.warnings.add(self.file.name, prop, problem)

    def raw(self, prop: str) -> Any:
        self._read.add(prop)
        return self._data.get(prop)

    def has(self, prop: str) -> bool:
        return prop in self._data

    def str(self, prop: str, default: Any = None, required: bool = False) -> Any:
        value = self.raw(prop)
        if value is None or value == "":
            if required:
                raise self.error(prop, "missing (this property is required)")
            return default
        if not isinstance(value, str):
            raise self.error(prop, f"expected a string, got {_kind(value)}")
        return value.strip()

    def bool(self, prop: str, default: Any) -> Any:
        """true, false, or null ($null: the default, e.g. "follow the tenant")."""
        value = self.raw(prop)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(prop, f"expected true, false or null, got {_kind(value)}")
        return value

    def choice(self, prop: str, choices: tuple[str, ...], default: Any = None) -> Any:
        value = self.str(prop, default)
        if value is default:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise self.error(prop, f"expected one of {', '.join(choices)}, got {value!r}")

    def parsed(self, prop: str, parse: Callable[[str], T], expected: str, required: bool = False) -> Any:
        value = self.str(prop, None, required)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise self.error(prop, f"expected {expected}, got {value!r}") from None

    def strs(self, prop: str) -> list[str]:
        """A multi-valued property: a list of strings, one string, or null (empty)."""
        value = self.raw(prop)
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value.strip() else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(prop, f"expected a list of strings, got {_kind(value)}")
        return [v.strip() for v in value if v.strip()]

    def parsed_list(self, prop: str, parse: Callable[[str], T], expected: str) -> list[T]:
        out = []
        for index, text in enumerate(self.strs(prop)):
            try:
                out.append(parse(text))
            except ValueError:
                raise self.error(f"{prop}[{index}]", f"expected {expected}, got {text!r}") from None
        return out

    def done(self) -> None:
        for prop in self._data:
            if prop not in self._read:
                self.warn(prop, "not modelled by the lab, not imported")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"a number ({value!r})"
