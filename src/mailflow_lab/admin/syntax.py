"""Reading PowerShell lines as admins type them: commands, parameters, values, pipelines, comments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class PowerShellSyntaxError(ValueError):
    """A line PowerShell itself would not parse."""


@dataclass(frozen=True)
class Parameter:
    """`-Name`, or `-Name:value` when `value` is given (`has_value`)."""

    name: str
    value: Any = None
    has_value: bool = False


@dataclass(frozen=True)
class Value:
    """A value standing on its own: positional, or the value of the parameter before it."""

    value: Any


@dataclass(frozen=True)
class Command:
    name: str
    elements: tuple[Parameter | Value, ...]
    text: str


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[Command, ...]
    text: str


@dataclass
class _Reader:
    text: str
    pos: int = 0
    statements: list[Pipeline] = field(default_factory=list)

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\r") and self.peek():
            self.pos += 1
        if self.peek() == "`" and self.peek(1) == "\n":  # a backtick continues the line
            self.pos += 2
            self.skip_spaces()
        if self.peek() == "#":
            while self.peek() and self.peek() != "\n":
                self.pos += 1

    def error(self, problem: str) -> PowerShellSyntaxError:
        line = self.text.count("\n", 0, self.pos) + 1
        return PowerShellSyntaxError(
            f"At line:{line} char:{self.pos - self.text.rfind(chr(10), 0, self.pos)}: {problem}"
        )


def parse(text: str) -> list[Pipeline]:
    """Statements separated by new lines or `;`, each a pipeline of commands joined by `|`."""
    reader = _Reader(text)
    while True:
        reader.skip_spaces()
        char = reader.peek()
        if not char:
            break
        if char in "\n;":
            reader.pos += 1
            continue
        if char == "|":
            raise reader.error("An empty pipe element is not allowed.")
        reader.statements.append(_pipeline(reader))
    return reader.statements


def _pipeline(reader: _Reader) -> Pipeline:
    start = reader.pos
    commands = [_command(reader)]
    while True:
        reader.skip_spaces()
        if reader.peek() != "|":
            break
        reader.pos += 1
        reader.skip_spaces()
        while reader.peek() == "\n":  # a pipe at the end of a line continues on the next
            reader.pos += 1
            reader.skip_spaces()
        if not reader.peek() or reader.peek() in ";|":
            raise reader.error("An empty pipe element is not allowed.")
        commands.append(_command(reader))
    return Pipeline(tuple(commands), reader.text[start : reader.pos].strip())


def _command(reader: _Reader) -> Command:
    start = reader.pos
    name = _bare(reader)
    if not name:
        raise reader.error(f"Unexpected token '{reader.peek()}' in expression or statement.")
    elements: list[Parameter | Value] = []
    while True:
        reader.skip_spaces()
        char = reader.peek()
        if not char or char in "\n;|":
            break
        if char == "-" and (reader.peek(1).isalpha() or reader.peek(1) == "_"):
            reader.pos += 1
            param = _bare(reader, stop=":")
            if reader.peek() == ":":
                reader.pos += 1
                elements.append(Parameter(param, _value_list(reader), True))
            else:
                elements.append(Parameter(param))
            continue
        elements.append(Value(_value_list(reader)))
    return Command(name, tuple(elements), reader.text[start : reader.pos].strip())


def _value_list(reader: _Reader) -> Any:
    """A value, or several joined by commas (PowerShell's array syntax)."""
    items = [_value(reader)]
    while True:
        save = reader.pos
        reader.skip_spaces()
        if reader.peek() != ",":
            reader.pos = save
            break
        reader.pos += 1
        reader.skip_spaces()
        items.append(_value(reader))
    return items if len(items) > 1 else items[0]


def _value(reader: _Reader) -> Any:
    char = reader.peek()
    if char in ("'", '"'):
        return _string(reader)
    if char == "$":
        reader.pos += 1
        word = _bare(reader).lower()
        constants = {"true": True, "false": False, "null": None}
        if word not in constants:
            raise reader.error(f"The variable '${word}' is not known in the lab; use $true, $false or $null.")
        return constants[word]
    if char == "@" and reader.peek(1) == "{":
        return _hashtable(reader)
    if char == "@" and reader.peek(1) == "(":
        reader.pos += 2
        items: list[Any] = []
        while True:
            reader.skip_spaces()
            if reader.peek() == ")":
                reader.pos += 1
                return items
            if not reader.peek():
                raise reader.error("Missing closing ')' in subexpression.")
            items.append(_value(reader))
            reader.skip_spaces()
            if reader.peek() == ",":
                reader.pos += 1
    if char == "(":
        raise reader.error("Subexpressions ( ... ) are not supported in the lab; type the value itself.")
    word = _bare(reader)
    if not word:
        raise reader.error(f"Unexpected token '{char}' in expression or statement.")
    if word.isdigit():
        return int(word)
    return word


def _string(reader: _Reader) -> str:
    quote = reader.peek()
    reader.pos += 1
    out = []
    while True:
        char = reader.peek()
        if not char:
            raise reader.error(f"The string is missing the terminator: {quote}.")
        reader.pos += 1
        if char == quote:
            if reader.peek() == quote:  # '' or "" inside a string is one quote
                out.append(quote)
                reader.pos += 1
                continue
            return "".join(out)
        if char == "`" and quote == '"' and reader.peek():
            escaped = reader.peek()
            reader.pos += 1
            out.append({"n": "\n", "t": "\t", "0": "\0"}.get(escaped, escaped))
            continue
        out.append(char)


def _hashtable(reader: _Reader) -> dict[str, Any]:
    reader.pos += 2
    table: dict[str, Any] = {}
    while True:
        reader.skip_spaces()
        while reader.peek() in ("\n", ";"):
            reader.pos += 1
            reader.skip_spaces()
        if reader.peek() == "}":
            reader.pos += 1
            return table
        if not reader.peek():
            raise reader.error("Missing closing '}' in statement block or type definition.")
        key = _string(reader) if reader.peek() in ("'", '"') else _bare(reader, stop="=")
        reader.skip_spaces()
        if reader.peek() != "=":
            raise reader.error("Missing '=' operator after key in hash literal.")
        reader.pos += 1
        reader.skip_spaces()
        table[key] = _value_list(reader)


def _bare(reader: _Reader, stop: str = "") -> str:
    start = reader.pos
    while True:
        char = reader.peek()
        if not char or char.isspace() or char in ";|,'\"(){}=" + stop:
            break
        if char == "@" and reader.pos == start:
            break
        reader.pos += 1
    return reader.text[start : reader.pos]
