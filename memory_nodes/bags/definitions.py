"""Complete message definitions for bag schemas, in the text rosbag2 embeds in its files.

A `ros2msg` schema is the type's own `.msg` text followed by every type it uses, each
after a line of 80 `=` and a line `MSG: pkg/Type`, depth first, each type once, a type's
dependencies in sorted order (what rosbag2's recorder writes, so readers that parse its
bags parse ours). The `.msg` files come from the `share/<pkg>/msg/` directories of the
ROS install (`AMENT_PREFIX_PATH`, the Python prefix: pip wheels install them there).
When a type has no `.msg` file there, a `fallback` may supply its text (the recorder
derives it from the generated Python class, see `msg_text_from_fields`); otherwise its
`.idl` gives a `ros2idl` schema, as rosbag2 does.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

#: The line before each dependency's definition.
SEPARATOR = '=' * 80

PRIMITIVES = frozenset({
    'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16',
    'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'})

_NAME = r'[A-Za-z][A-Za-z0-9_]*'
_TYPE_RE = re.compile(rf'^({_NAME})/(?:({_NAME})/)?({_NAME})$')
_IDL_INCLUDE_RE = re.compile(r'^#include\s+["<]([A-Za-z0-9_/]+)\.idl[">]', re.M)


class DefinitionNotFound(LookupError):
    """No definition of a message type (or of a type it uses) could be found."""


@dataclass(frozen=True)
class Schema:
    """A schema record's content: type name (`pkg/msg/Type`), encoding and text."""

    name: str
    encoding: str  # 'ros2msg' or 'ros2idl'
    text: str


def split_type(type_name: str) -> tuple[str, str, str]:
    """'pkg/msg/Type' or 'pkg/Type' -> ('pkg', 'msg', 'Type'); ValueError otherwise."""
    m = _TYPE_RE.match(type_name.strip())
    if m is None:
        raise ValueError(f'message type {type_name!r} is not pkg/Type or pkg/msg/Type')
    return m.group(1), m.group(2) or 'msg', m.group(3)


def default_prefixes() -> list[Path]:
    """Where ROS packages are installed: `AMENT_PREFIX_PATH`, then this Python's prefix."""
    out = [Path(p) for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    for p in (Path(sys.prefix), Path(sys.base_prefix)):
        if p not in out:
            out.append(p)
    return out


def field_types(text: str, package: str) -> set[str]:
    """The non-primitive types (`pkg/Type`) the fields of a `.msg` text use."""
    types = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        base = re.split(r'[\s\[<=]', line, maxsplit=1)[0]
        if not base or base in PRIMITIVES:
            continue  # also every constant: constants are primitives
        if base == 'Header':  # ROS 1 shorthand, still accepted by the parsers
            types.add('std_msgs/Header')
        else:
            types.add(base if '/' in base else f'{package}/{base}')
    return types


def msg_text_from_fields(fields: dict[str, str]) -> str:
    """A `.msg` text from a generated class's `get_fields_and_field_types()` (no constants).

    Maps the IDL-style names rosidl reports ('double', 'sequence<octet, 4>', 'string<8>',
    'float[9]') to `.msg` syntax ('float64', 'byte[<=4]', 'string<=8', 'float32[9]').
    """
    idl = {'double': 'float64', 'float': 'float32', 'octet': 'byte', 'boolean': 'bool',
           'long double': 'float64', 'wchar': 'char'}

    def scalar(t: str) -> str:
        t = t.strip()
        m = re.match(r'^(w?string)<(\d+)>$', t)
        if m:
            return f'{m.group(1)}<={m.group(2)}'
        return idl.get(t, t)

    lines = []
    for name, t in fields.items():
        m = re.match(r'^sequence<(.+?)(?:,\s*(\d+))?>$', t)
        if m:
            bound = f'<={m.group(2)}' if m.group(2) else ''
            lines.append(f'{scalar(m.group(1))}[{bound}] {name}')
            continue
        m = re.match(r'^(.+)\[(\d+)\]$', t)
        if m:
            lines.append(f'{scalar(m.group(1))}[{m.group(2)}] {name}')
            continue
        lines.append(f'{scalar(t)} {name}')
    return '\n'.join(lines) + '\n'


class MessageDefinitions:
    """Finds and assembles complete definitions; caches what it read."""

    def __init__(self, prefixes: Iterable[Path | str] | None = None,
                 fallback: Callable[[str], str | None] | None = None) -> None:
        self.prefixes = [Path(p) for p in (prefixes if prefixes is not None
                                           else default_prefixes())]
        self.fallback = fallback
        self._texts: dict[tuple[str, str], str] = {}

    def definition_file(self, type_name: str, ext: str = 'msg') -> Path | None:
        """The installed `.msg` (or `.idl`) file of a type, if any prefix has one."""
        pkg, ns, name = split_type(type_name)
        for prefix in self.prefixes:
            path = prefix / 'share' / pkg / ns / f'{name}.{ext}'
            if path.is_file():
                return path
        return None

    def _text(self, type_name: str, ext: str) -> str:
        pkg, ns, name = split_type(type_name)
        key = (f'{pkg}/{ns}/{name}', ext)
        if key not in self._texts:
            path = self.definition_file(type_name, ext)
            text = path.read_text(encoding='utf-8') if path is not None else None
            if text is None and ext == 'msg' and self.fallback is not None:
                text = self.fallback(f'{pkg}/{ns}/{name}')
            if text is None:
                where = ', '.join(str(p / 'share' / pkg / ns) for p in self.prefixes)
                raise DefinitionNotFound(f'no {name}.{ext} for {type_name} in {where}')
            self._texts[key] = text
        return self._texts[key]

    def msg_definition(self, type_name: str) -> str:
        """The complete `ros2msg` text of `type_name` (DefinitionNotFound if any is missing)."""
        seen: set[str] = set()

        def expand(name: str, depth: int) -> str:
            if depth > 50:
                raise DefinitionNotFound(f'{type_name}: definitions nest deeper than 50')
            pkg, _, _ = split_type(name)
            text = self._text(name, 'msg')
            for dep in sorted(field_types(text, pkg)):
                if dep in seen:
                    continue
                seen.add(dep)
                text += f'\n{SEPARATOR}\nMSG: {dep}\n' + expand(dep, depth + 1)
            return text

        return expand(type_name, 0)

    def idl_definition(self, type_name: str) -> str:
        """The complete `ros2idl` text: every .idl after its `IDL: pkg/msg/Type` header."""
        pkg, ns, name = split_type(type_name)
        out, seen, todo = [], set(), [f'{pkg}/{ns}/{name}']
        while todo:
            current = todo.pop(0)
            if current in seen:
                continue
            seen.add(current)
            text = self._text(current, 'idl')
            out.append(f'{SEPARATOR}\nIDL: {current}\n{text}')
            todo += [inc for inc in _IDL_INCLUDE_RE.findall(text) if inc not in seen]
        return '\n'.join(out)

    def schema(self, type_name: str) -> Schema:
        """The schema of `type_name`: `ros2msg` when the .msg texts exist, else `ros2idl`."""
        pkg, ns, name = split_type(type_name)
        full = f'{pkg}/{ns}/{name}'
        try:
            return Schema(full, 'ros2msg', self.msg_definition(full))
        except DefinitionNotFound as msg_error:
            try:
                return Schema(full, 'ros2idl', self.idl_definition(full))
            except DefinitionNotFound:
                raise msg_error from None
