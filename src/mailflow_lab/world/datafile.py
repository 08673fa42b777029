"""Reading the lab's TOML data files key by key, with one clear error naming file, key and expectation."""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING = object()


class LabDataError(ValueError):
    """A world, zone or scenario file with a mistake: says which file, where, and what was expected."""

    def __init__(self, file: str | Path, where: str, problem: str) -> None:
        self.file = str(file)
        self.where = where
        self.problem = problem
        super().__init__(f"{self.file}: {where}: {problem}" if where else f"{self.file}: {problem}")


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a LabDataError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabDataError(path, "", f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise LabDataError(path, "", f"is not UTF-8 text (byte {exc.start} cannot be read)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = ""
        if "(at line " in message:
            message, _, position = message.partition(" (at ")
            where = position.rstrip(")").split(",")[0]  # "line 3"
        raise LabDataError(path, where, f"TOML syntax error: {message}") from None


class Table:
    """One TOML table being read: every key must be taken, so a leftover key is reported as unknown."""

    def __init__(self, file: str | Path, data: Any, path: str = "") -> None:
        self.file = file
        self.path = path
        if not isinstance(data, dict):
            raise LabDataError(file, path or "top level", f"expected a table, got {_kind(data)}")
        self._data: dict[str, Any] = data
        self._taken: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> LabDataError:
        return LabDataError(self.file, self.key_path(key), problem)

    def _get(self, key: str, default: Any) -> Any:
        self._taken.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise LabDataError(self.file, self.key_path(key), "missing (this key is required)")
        return default

    def has(self, key: str) -> bool:
        return key in self._data

    def claim(self, key: str) -> None:
        """Mark a key as read elsewhere (by the caller), so done() does not call it unknown."""
        self._taken.add(key)

    def keys(self) -> list[str]:
        """Every key present, for tables whose keys are names (such as DKIM selectors)."""
        return list(self._data)

    def value(self, key: str, kind: type[T], default: Any = _MISSING) -> T:
        raw = self._get(key, default)
        if raw is default and default is not _MISSING:
            return raw
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            raw = float(raw)
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            raise self.error(key, f"expected {_kind_name(kind)}, got {_kind(raw)}")
        return raw

    def str(self, key: str, default: Any = _MISSING) -> str:
        return self.value(key, str, default)

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        return self.value(key, bool, default)

    def int(self, key: str, default: Any = _MISSING) -> int:
        return self.value(key, int, default)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        raw = self.str(key, default)
        if raw is default and default is not _MISSING:
            return raw
        for choice in choices:
            if raw.lower() == choice.lower():
                return choice
        raise self.error(key, f"expected one of {', '.join(choices)}, got {raw!r}")

    def parsed(self, key: str, parse: Callable[[str], T], expected: str, default: Any = _MISSING) -> T:
        raw = self.str(key, default)
        if raw is default and default is not _MISSING:
            return raw
        try:
            return parse(raw)
        except ValueError:
            raise self.error(key, f"expected {expected}, got {raw!r}") from None

    def str_list(self, key: str, default: Any = _MISSING) -> list[str]:
        raw = self._get(key, default)
        if raw is default and default is not _MISSING:
            return list(raw)
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise self.error(key, f"expected a list of strings, got {_kind(raw)}")
        return list(raw)

    def parsed_list(
        self, key: str, parse: Callable[[str], T], expected: str, default: Any = _MISSING
    ) -> list[T]:
        items = self.str_list(key, default)
        out: list[T] = []
        for index, item in enumerate(items):
            try:
                out.append(parse(item))
            except ValueError:
                raise self.error(f"{key}[{index}]", f"expected {expected}, got {item!r}") from None
        return out

    def table(self, key: str, required: bool = True) -> Table:
        raw = self._get(key, _MISSING if required else {})
        return Table(self.file, raw, self.key_path(key))

    def tables(self, key: str) -> Iterator[Table]:
        raw = self._get(key, [])
        if not isinstance(raw, list):
            raise self.error(key, f"expected an array of tables ([[{self.key_path(key)}]]), got {_kind(raw)}")
        for index, item in enumerate(raw):
            yield Table(self.file, item, f"{self.key_path(key)}[{index}]")

    def done(self) -> None:
        """Report the first key nobody asked for, with the keys that are allowed."""
        unknown = [key for key in self._data if key not in self._taken]
        if unknown:
            allowed = ", ".join(sorted(self._taken)) or "none"
            raise self.error(unknown[0], f"unknown key (allowed here: {allowed})")


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4 or IPv6 address, ValueError otherwise."""
    return ipaddress.ip_address(text.strip())


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR range (a bare address is a /32 or /128); host bits must be zero."""
    return ipaddress.ip_network(text.strip(), strict=True)


def parse_email(text: str) -> str:
    """A plain addr-spec local@domain, lower-cased domain; ValueError otherwise."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not parse_domain_ok(domain) or any(c in local for c in " <>,;"):
        raise ValueError(text)
    return f"{local}@{domain.lower()}"


def parse_domain(text: str) -> str:
    """A DNS domain name, lower-cased, without the trailing dot; ValueError otherwise."""
    name = text.strip().rstrip(".").lower()
    if not parse_domain_ok(name):
        raise ValueError(text)
    return name


def parse_domain_ok(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(
        0 < len(label) < 64 and all(c.isalnum() or c in "-_*" for c in label) and not label.startswith("-")
        for label in labels
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{_kind_name(type(value))} ({value!r})"


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        dict: "a table",
        list: "a list",
    }.get(kind, kind.__name__)
