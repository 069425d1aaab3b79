"""Import KARMA's ALFRED-L task files into our task schema, reporting what does not map.

ALFRED-L files are a JSON object with lists `SimpleTasks`, `CompositeTasks`,
`ComplexTasks`, each entry `{FloorPlan, ID, "Goal Condition", Instruction}`. The goal text
is a comma-separated sequence of sub-goals in loose spelling. Each sub-goal is parsed,
its words mapped to catalogue types (`WORLD_ONTOLOGY.resolve`, preferring types of the FloorPlan's
room: 1-30 kitchen, 201-230 living room, 301-330 bedroom, 401-430 bathroom), checked for
possibility, and either kept (with notes on what was assumed) or listed in the task's
`unmapped` with the reason. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_nodes.domain.goals import (
    STATE_WORDS,
    GoalCondition,
    GoalParseError,
    parse_condition,
    split_conditions,
)
from sim.catalog import CATALOG, WORLD_ONTOLOGY
from sim.floorplan_homes import describe_home, floorplan_home, floorplan_number, floorplan_room
from sim.task_schema import Episode, HomeRef, Suite, Task, condition_problems

#: Section name in the file -> our suite name.
SECTIONS = {'SimpleTasks': 'simple', 'CompositeTasks': 'composite', 'ComplexTasks': 'complex'}


class AlfredFileError(ValueError):
    """The file is not an ALFRED-L task file at all (not JSON, no task lists)."""


@dataclass
class ImportedTask:
    """One ALFRED-L entry after import: the task, what was mapped and what was not."""

    section: str
    raw: dict[str, Any]
    task: Task
    room: str | None
    mapped: list[tuple[str, str, list[str]]] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def report_lines(self) -> list[str]:
        """Per-task report for people: one line per sub-goal in file order, mapped or not."""
        fp = self.raw.get('FloorPlan')
        return [f'{self.task.task_id}  FloorPlan {fp} ({self.room or "unknown room"}): '
                f'{len(self.mapped)} mapped, {len(self.unmapped)} not mapped'] + self.lines


@dataclass
class ImportResult:
    """Everything imported from one file: the suite and a per-task report."""

    suite: Suite
    tasks: list[ImportedTask]

    def report(self) -> str:
        """The full report: each task's lines and a summary line."""
        lines = []
        for item in self.tasks:
            lines += item.report_lines()
        mapped = sum(len(t.mapped) for t in self.tasks)
        unmapped = sum(len(t.unmapped) for t in self.tasks)
        full = sum(1 for t in self.tasks if not t.unmapped)
        for episode in self.suite.episodes:
            lines.append(f'home for {episode.episode_id}: {describe_home(episode.home)}')
        lines.append(f'imported {len(self.tasks)} task(s): {mapped} sub-goal(s) mapped, '
                     f'{unmapped} not mapped; {full} task(s) fully mapped')
        return '\n'.join(lines)


_NUMBER = re.compile(r'^[\s\[\]()+\-.,\d]+$')


def _arg_words(text: str) -> list[str] | None:
    inner = re.match(r'^\s*[A-Za-z_]+\s*\((.*)\)\s*(:.*)?$', text, re.S)
    if not inner:
        return None
    try:
        return split_conditions(inner.group(1))
    except GoalParseError:
        return None


def _explain(text: str, err: GoalParseError) -> str:
    """A reason for people, naming the usual ALFRED-L slips."""
    args = _arg_words(text) or []
    if any(_NUMBER.match(a) and re.search(r'\d', a) for a in args):
        return 'coordinates instead of an object'
    head = re.match(r'^\s*([A-Za-z_]+)', text)
    kind = head.group(1).upper() if head else ''
    if kind == 'STATE' and len(args) == 2 and args[1].lower() not in STATE_WORDS:
        alias = WORLD_ONTOLOGY.resolve(args[1])
        if alias.ok and CATALOG[alias.object_type].is_receptacle:
            return (f'{args[1]!r} is not a state but a receptacle ({alias.object_type}); '
                    f'perhaps ON({args[0]}, {alias.object_type}) was meant')
        return f'unknown state {args[1]!r}'
    message, prefix = str(err), f'{text.strip()!r}: '
    return message[len(prefix):] if message.startswith(prefix) else message


def _map_condition(text: str, room: str | None
                   ) -> tuple[GoalCondition | None, list[str], str | None]:
    """Parse and map one sub-goal: (condition or None, notes, reason it was not mapped)."""
    notes: list[str] = []
    try:
        cond = parse_condition(text)
    except GoalParseError as err:
        if 'missing ": 1"' not in str(err):
            return None, notes, _explain(text, err)
        try:
            cond = parse_condition(text, require_value=False)
        except GoalParseError as err2:
            return None, notes, _explain(text, err2)
        notes.append('missing ": 1", read as ": 1"')
    fields = dict(cond.__dict__)
    names = [('obj', cond.obj)]
    if cond.kind in ('ON', 'INSIDE'):
        names.append(('target', cond.target))
    for key, word in names:
        if not word:
            continue
        alias = WORLD_ONTOLOGY.resolve(word, room=room)
        if not alias.ok:
            return None, notes, f'{word!r} is not a known object type'
        if alias.how not in ('exact', 'case'):
            notes.append(alias.describe())
        fields[key] = alias.object_type
    if cond.kind in ('ON', 'INSIDE') and fields['target'] in CATALOG:
        relation = CATALOG[fields['target']].receptacle
        wanted = 'ON' if relation == 'on' else 'INSIDE' if relation == 'in' else cond.kind
        if wanted != cond.kind:
            notes.append(f'{fields["target"]} takes objects {relation!r}: '
                         f'{cond.kind} read as {wanted}')
            fields['kind'] = wanted
    spec = CATALOG.get(fields['obj'] or '')
    if cond.kind == 'STATE' and cond.target == 'cooked' and cond.state_value \
            and spec is not None and 'food' in spec.categories \
            and 'cooked' not in spec.state_keys() and 'hot' in spec.state_keys():
        # ALFRED's "cook"/"heat" is heating in a microwave; AI2-THOR cooks only some
        # foods (not lettuce), so cooking another food can only make it hot. Cooking what
        # is not food (a book) stays unmapped.
        notes.append(f'{fields["obj"]} cannot be cooked in AI2-THOR: cooked read as hot '
                     '(heated in a microwave)')
        fields['target'] = 'hot'
    mapped = GoalCondition(**fields)
    problems = condition_problems(mapped)
    if problems:
        return None, notes, '; '.join(problems)
    return mapped, notes, None


def import_entry(entry: Any, section: str, index: int, source_name: str) -> ImportedTask:
    """Import one ALFRED-L entry; never raises for bad content, reports it instead."""
    raw = entry if isinstance(entry, dict) else {'value': entry}
    suite = SECTIONS.get(section, section.lower())
    task_id = f'alfred_l-{suite}-{raw.get("ID", index + 1)}'
    floorplan = floorplan_number(raw.get('FloorPlan'))
    room = floorplan_room(floorplan) if floorplan is not None else None
    instruction = str(raw.get('Instruction', '')).strip()
    goal_text = raw.get('Goal Condition')
    unmapped: list[dict[str, str]] = []
    mapped: list[tuple[str, str, list[str]]] = []
    goals: list[GoalCondition] = []
    lines: list[str] = []

    def skip(text: str, reason: str) -> None:
        unmapped.append({'text': text, 'reason': reason})
        lines.append(f'    SKIP {text}  ({reason})')

    if room is None:
        skip(f'FloorPlan {raw.get("FloorPlan")!r}',
             'not a FloorPlan number of a known room type')
    elif raw.get('FloorPlan') != floorplan:
        lines.append(f'    note FloorPlan {raw.get("FloorPlan")!r} read as {floorplan}')
    if not instruction:
        skip('Instruction', 'missing or empty')
    pieces: list[str] = []
    if not isinstance(goal_text, str) or not goal_text.strip():
        skip('Goal Condition', 'missing or empty')
    else:
        try:
            pieces = split_conditions(goal_text)
        except GoalParseError as err:
            skip(goal_text, str(err))
    for piece in pieces:
        cond, notes, reason = _map_condition(piece, room)
        if cond is None:
            skip(piece, reason or 'not mapped')
            continue
        goals.append(cond)
        mapped.append((piece, cond.to_text(), notes))
        extra = f'  [{"; ".join(notes)}]' if notes else ''
        lines.append(f'    ok   {piece}  ->  {cond.to_text()}{extra}')
    source = {'dataset': 'ALFRED-L', 'file': source_name, 'section': section,
              'id': raw.get('ID'), 'floorplan': floorplan, 'goal_condition': goal_text}
    notes = [f'{text}: {"; ".join(n)}' for text, _, n in mapped if n]
    if notes:
        source['notes'] = notes
    task = Task(task_id, instruction or '(no instruction)', goals, source=source,
                tags=['alfred_l', suite], unmapped=unmapped)
    return ImportedTask(section, raw, task, room, mapped, unmapped, lines)


def import_alfred_l(doc: Any, source_name: str = 'alfred_l.json') -> ImportResult:
    """Import a parsed ALFRED-L document: one episode per FloorPlan, tasks in file order."""
    if not isinstance(doc, dict) or not any(isinstance(v, list) for v in doc.values()):
        raise AlfredFileError(f'{source_name}: expected an object with task lists such as '
                              f'{", ".join(SECTIONS)}')
    imported: list[ImportedTask] = []
    used: set[str] = set()
    episodes: dict[Any, Episode] = {}
    for section, entries in doc.items():
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            item = import_entry(entry, section, index, source_name)
            if item.task.task_id in used:  # two entries with one ID: both kept, told apart
                n = 2
                while f'{item.task.task_id}.{n}' in used:
                    n += 1
                item.task.task_id = f'{item.task.task_id}.{n}'
                item.lines.insert(0, f'    note ID {item.raw.get("ID")!r} repeats an earlier '
                                     f'task: this one is {item.task.task_id}')
            used.add(item.task.task_id)
            imported.append(item)
            floorplan = item.task.source.get('floorplan')
            key = floorplan if item.room is not None else 'unknown'
            if key not in episodes:
                episodes[key] = Episode(f'alfred_l-floorplan{key}', HomeRef(0), [])
            episodes[key].tasks.append(item.task)
    for key, episode in episodes.items():  # each home holds what all of its tasks need
        episode.home = floorplan_home(key, episode.tasks)
    names = sorted({SECTIONS.get(s, s) for s in doc if isinstance(doc[s], list)})
    suite = Suite('alfred_l-' + '+'.join(names), list(episodes.values()),
                  description=f'ALFRED-L tasks imported from {source_name}',
                  generator={'module': 'sim.alfred_l', 'source': source_name})
    return ImportResult(suite, imported)


def import_alfred_l_file(path: str | Path) -> ImportResult:
    """Read and import an ALFRED-L file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AlfredFileError(f'{path.name}: not JSON: line {err.lineno}: {err.msg}') from None
    return import_alfred_l(doc, path.name)


__all__ = ['AlfredFileError', 'ImportResult', 'ImportedTask', 'floorplan_room',
           'import_alfred_l', 'import_alfred_l_file', 'import_entry']
