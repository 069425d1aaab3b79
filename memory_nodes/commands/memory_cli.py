"""`embodied-memory memory at|changes`: a saved memory as of a time, and what changed.

    embodied-memory memory at T --file MEMORY [--label L] [--room R] [--json]
    embodied-memory memory changes T1 T2 --file MEMORY [--room R] [--json]

MEMORY is a SQLite memory file (.db, .sqlite, .sqlite3: the memory node's database or
a SaveMemory snapshot) or a JSON export (.json, .json.gz). T is seconds in the stamps
the memory uses (sim or ROS time) or an ISO-8601 date and time (UTC unless it names a
zone). The file is never modified: a SQLite file is read from a private copy.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SQLITE_SUFFIXES = ('.db', '.sqlite', '.sqlite3')


class CliError(Exception):
    """A problem with an argument or a file, already worded for the user."""


def parse_time(text: str, what: str) -> float:
    """Seconds from '1234.5' or an ISO-8601 string; CliError naming `what` otherwise."""
    try:
        value = float(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
        except ValueError:
            raise CliError(f'{what}: {text!r} is neither seconds nor an ISO-8601 time '
                           f'(e.g. 1700000000.5 or 2026-03-01T10:00:00)') from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        value = when.timestamp()
    if not math.isfinite(value):
        raise CliError(f'{what}: {text!r} is not a finite time')
    return value


def load_memory(path_text: str):  # noqa: ANN201 - LongTermMemory (imported lazily)
    """The long-term memory saved in a file; CliError naming the file if unreadable.

    The file is never written: a SQLite file is read from a private copy (with its WAL).
    """
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.recovery import MemoryFileError

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise CliError(f'--file: no memory file {str(path)!r}')
    config = LongTermMemoryConfig()
    config.embedder.backend = 'hashing'  # never needed here: do not load a model
    config.persistence.checkpoint_interval_s = 0.0  # a read: no checkpoint thread
    kind = 'SQLite' if path.suffix in SQLITE_SUFFIXES else 'JSON'
    try:
        return LongTermMemory.load(path, config)
    except MemoryFileError as exc:
        raise CliError(f'--file: cannot read {str(path)!r} as a {kind} memory file: '
                       f'{exc.cause}') from None


def _pos(p: Any) -> str:
    return f'({p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f})'


def _states(states: dict[str, Any]) -> str:
    return ','.join(f'{k}={v}' for k, v in sorted(states.items())) or '-'


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ['  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in [header, *rows]]
    return '\n'.join([lines[0], '  '.join('-' * w for w in widths), *lines[1:]])


def memory_at(args: argparse.Namespace) -> int:
    """Print the objects and furniture as believed at T."""
    from memory_nodes.domain.labels import normalize_label

    t = parse_time(args.time, 'T')
    mem = load_memory(args.file)
    try:
        past = mem.as_of(t)
    except ValueError as exc:
        raise CliError(f'T: {exc}') from None
    graph = past.graph
    rows = []
    for node in sorted(graph.nodes.values(), key=lambda n: n.id):
        if node.layer not in ('object', 'furniture'):
            continue
        room = graph.nodes.get(node.room or '')
        room_name = room.label if room is not None else ''
        if args.label and normalize_label(node.label).replace(' ', '') != \
                normalize_label(args.label).replace(' ', ''):
            continue
        if args.room and args.room not in (node.room, room_name) \
                and normalize_label(args.room) != room_name:
            continue
        sup = graph.support(node.id)
        rows.append({
            'id': node.id, 'label': node.label, 'layer': node.layer, 'status': node.status,
            'room': room_name,
            'support': f'{sup[1]} {graph.nodes[sup[0]].label} {sup[0]}' if sup else '',
            'position': [round(float(v), 3) for v in node.position],
            'states': dict(node.states)})
    if args.json:
        print(json.dumps({'as_of': t, 'file': args.file, 'objects': rows}, indent=1))
        return 0
    print(f'memory {args.file} as of {t:.3f}: {len(rows)} objects and furniture')
    if rows:
        print(_table([[r['id'], r['label'], r['status'], r['room'] or '-',
                       r['support'] or '-', _pos(r['position']), _states(r['states'])]
                      for r in rows],
                     ['id', 'label', 'status', 'room', 'support', 'position', 'states']))
    return 0


def _side(v: Any) -> str:
    if v is None or not v.alive:
        return '-'
    where = v.describe_support() or v.room_name or '?'
    return f'{v.status} {where} {_pos(v.position)} {_states(v.states)}'


def memory_changes(args: argparse.Namespace) -> int:
    """Print what appeared, moved, changed state, went missing or came back."""
    t1 = parse_time(args.since, 'T1')
    t2 = parse_time(args.until, 'T2')
    if t2 < t1:
        raise CliError(f'T2 ({t2:.3f}) is before T1 ({t1:.3f})')
    mem = load_memory(args.file)
    try:
        changes = mem.changes(t1, t2, args.room or '')
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps({'since': t1, 'until': t2, 'room': args.room or None,
                          'file': args.file, 'changes': [c.to_dict() for c in changes]},
                         indent=1))
        return 0
    where = f' in {args.room}' if args.room else ''
    print(f'memory {args.file}: {len(changes)} changes{where} between {t1:.3f} and '
          f'{t2:.3f}')
    if changes:
        print(_table([[f'{c.stamp:.3f}', c.object_id, c.label, c.kind, _side(c.before),
                       _side(c.after)] for c in changes],
                     ['stamp', 'id', 'label', 'change', 'before', 'after']))
    return 0


def _run(func):  # noqa: ANN001, ANN202
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except CliError as exc:
            print(f'embodied-memory memory: error: {exc}', file=sys.stderr)
            return 2
    return wrapped


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `memory at` and `memory changes`."""
    memory = subparsers.add_parser(
        'memory', help='a saved memory as of a time, and what changed between two times')
    sub = memory.add_subparsers(dest='memory_command', required=True)
    at = sub.add_parser('at', help='objects and furniture as believed at time T')
    at.add_argument('time', metavar='T', help='seconds (memory stamps) or ISO-8601')
    at.add_argument('--label', default='', help='only objects with this label')
    at.add_argument('--room', default='', help='only objects in this room (name or id)')
    changes = sub.add_parser('changes', help='what changed between T1 and T2')
    changes.add_argument('since', metavar='T1', help='seconds (memory stamps) or ISO-8601')
    changes.add_argument('until', metavar='T2', help='seconds (memory stamps) or ISO-8601')
    changes.add_argument('--room', default='', help='only changes in this room')
    for p, func in ((at, memory_at), (changes, memory_changes)):
        p.add_argument('--file', required=True, metavar='MEMORY',
                       help='SQLite memory file (.db) or JSON export (.json, .json.gz)')
        p.add_argument('--json', action='store_true', help='machine-readable output')
        p.set_defaults(func=_run(func))
