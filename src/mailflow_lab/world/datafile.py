"""Reading the lab's TOML data files key by key, with one clear error naming file, key and expectation."""

from __future__ import annotations

import ipaddress
import os
import stat
import string
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING = object()

# Size caps, checked before a file is parsed, so a huge or endless file is refused at once instead of
# hanging the loader. The shipped files are a few kilobytes; each cap leaves room for far bigger labs.
# A world or scenario file: 32 MiB. An imported tenant of 20,000 mailboxes is about 2.6 MB (mailflow-lab
# import, bench/tenant_scale.py), so 100,000 fit; tomllib reads 32 MB in a few seconds.
MAX_TOML_BYTES = 32 * 1024 * 1024
MAX_ZONE_BYTES = 256 * 1024  # a zone file (256 KiB, some 10,000 records; dnspython reads ~300 KB/s)
MAX_KEY_BYTES = 64 * 1024  # a DKIM private key (64 KiB; an RSA-4096 PEM is about 3.3 KB)


class LabDataError(ValueError):
    """A world, zone or scenario file with a mistake: says which file, where, and what was expected."""

    def __init__(self, file: str | Path, where: str, problem: str) -> None:
        self.file = str(file)
        self.where = where
        self.problem = problem
        super().__init__(f"{self.file}: {where}: {problem}" if where else f"{self.file}: {problem}")


def size_text(size: int) -> str:
    """1048576 -> "1 MiB", 65536 -> "64 KiB", 1500 -> "1,500 bytes"."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,} bytes"


def read_capped(
    path: Path, cap: int, file: str | Path | None = None, where: str = "", what: str = ""
) -> bytes:
    """The bytes of a regular file of at most `cap` bytes, checked with stat before and by a bounded read.

    A mistake is a LabDataError naming `file` and `where` (the data file and key that named `path`),
    or the path itself; `what` ("key file") starts the problem when `file` is another file.
    """
    owner = path if file is None else file
    label = f"{what} {path} " if file is not None else ""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LabDataError(owner, where, f"{label}is not a regular file")
        if info.st_size > cap:
            raise LabDataError(owner, where, f"{label}is {_too_big(info.st_size, cap)}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise LabDataError(owner, where, f"{label}cannot be read ({exc.strerror or exc})") from None
    if len(data) > cap:  # grew since stat
        raise LabDataError(owner, where, f"{label}is {_too_big(len(data), cap)}")
    return data


def _too_big(size: int, cap: int) -> str:
    return f"{size:,} bytes, over the {size_text(cap)} limit for this kind of file"


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file of at most MAX_TOML_BYTES; a syntax error becomes a LabDataError naming the line."""
    try:
        text = read_capped(path, MAX_TOML_BYTES).decode("utf-8")
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


# RFC 5322 atext, less "/": a local part names a mailbox folder, so no path separator gets in.
_LOCAL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-=?^_`{|}~.")


def parse_email(text: str) -> str:
    """A plain addr-spec local@domain (dot-atom local part), lower-cased domain; ValueError otherwise."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local_part_ok(local) or not parse_domain_ok(domain) or "*" in domain:
        raise ValueError(text)
    return f"{local}@{domain.lower()}"


def local_part_ok(local: str) -> bool:
    """RFC 5321 dot-atom: at most 64 characters, no leading, trailing or doubled dot, no '/', '\\',
    space, control or quoting character (letters beyond ASCII are allowed, as SMTPUTF8 does)."""
    return (
        0 < len(local) <= 64
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and all(c in _LOCAL_CHARACTERS or (ord(c) > 127 and c.isalnum()) for c in local)
    )


def parse_domain(text: str) -> str:
    """A DNS domain name, lower-cased, without the trailing dot; ValueError otherwise."""
    name = text.strip().rstrip(".").lower()
    if not parse_domain_ok(name):
        raise ValueError(text)
    return name


def parse_domain_ok(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(
            0 < len(label) < 64
            and all(c.isalnum() or c in "-_*" for c in label)
            and not label.startswith("-")
            for label in labels
        )
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
