"""Training and held-out examples for the goal reader, from the suite generator.

Homes come from `sim.suites.generate_suite` with seeds no suite file uses (training
1000-1999, held out 2000-2999; the suites use 11-45), every suite kind (simple,
composite, complex, stale). Each task gives examples in three wordings: the suite's own
instruction (with politeness and typos sometimes), a rewording by `wording.say`, and a
chain of two or three consecutive tasks said as one request (the shape of ALFRED-L's
long instructions). Targets are the canonical type-level goals (`canonical_goals`).

The memory context of an example lists what a robot would remember about the goal's
types (where such a thing is kept, in which room) plus a distractor, each line sometimes
left out: memory never knows everything.

Held-out sets: `heldout_home` (unseen homes, the training wording family) and
`heldout_wording` (unseen homes and the phrasing family training never saw).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from memory_nodes.domain.goals import GoalCondition, parse_condition
from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.planner.language.goal_grammar import canonical_goals
from memory_nodes.planner.language.memory_context import ContextEntry, format_context
from memory_nodes.tools.goal_reader_training.wording import perturb, say

SUITES = ('simple', 'composite', 'complex', 'stale')
TRAIN_SEEDS = range(1000, 2000)
HELDOUT_SEEDS = range(2000, 3000)


@dataclass
class Example:
    """One (instruction, memory context, goals) example."""

    instruction: str
    context: str
    target: str
    split: str
    source: str
    home: int


def _context(goals: list[GoalCondition], rng: random.Random) -> str:
    types = []
    for g in goals:
        for t in (g.obj, g.target if g.kind in ('ON', 'INSIDE') else None):
            if t and t not in types:
                types.append(t)
    types.append(rng.choice(HOUSEHOLD.object_types()))  # a distractor
    entries = []
    for t in types:
        if rng.random() < 0.3:
            continue  # memory does not know it
        spec = HOUSEHOLD[t]
        support = rng.choice(spec.kept_on) if spec.kept_on else ''
        relation = '' if not support else (
            'in' if HOUSEHOLD[support].receptacle == 'in' else 'on')
        room = spec.rooms[0] if spec.rooms else ''
        entries.append(ContextEntry(t, relation, support, room))
    rng.shuffle(entries)
    return format_context(entries)


def _goals(task) -> list[GoalCondition]:  # noqa: ANN001 - sim.task_schema.Task
    return [parse_condition(t) for t in canonical_goals(task.goals, HOUSEHOLD)]


def examples(seeds: range, n_homes: int, split: str, family: int, rng: random.Random,
             progress: Callable[[str], object] | None = None) -> Iterator[Example]:
    """Examples from `n_homes` homes per suite kind, seeds taken from `seeds` in order."""
    from sim.suites import generate_suite

    for name in SUITES:
        chosen = list(seeds)[:n_homes]
        suite = generate_suite(name, check_physics=False, seeds=chosen)
        for episode, seed in zip(suite.episodes, chosen):
            tasks = [(t, _goals(t)) for t in episode.tasks]
            for task, goals in tasks:
                target = ', '.join(g.to_text() for g in goals)
                if family == 0:
                    yield Example(perturb(task.instruction, rng, 0), _context(goals, rng),
                                  target, split, f'{name}:suite', seed)
                yield Example(say(goals, rng, family), _context(goals, rng), target, split,
                              f'{name}:reworded', seed)
            for k in range(0, len(tasks) - 1, 2):
                chain = [g for _, goals in tasks[k:k + rng.choice((2, 3))] for g in goals]
                chain = chain[:6]
                yield Example(say(chain, rng, family), _context(chain, rng),
                              ', '.join(g.to_text() for g in chain), split,
                              f'{name}:chain', seed)
        if progress is not None:
            progress(f'{split}: {name} done ({n_homes} homes)')


def make_data(out_dir: Path, train_homes: int = 150, heldout_homes: int = 10,
              seed: int = 0, progress: Callable[[str], object] | None = print) -> dict:
    """Write train.jsonl, heldout_home.jsonl and heldout_wording.jsonl; returns counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sets = {
        'train': examples(TRAIN_SEEDS, train_homes, 'train', 0, rng, progress),
        'heldout_home': examples(HELDOUT_SEEDS, heldout_homes, 'heldout_home', 0, rng,
                                 progress),
        'heldout_wording': examples(range(HELDOUT_SEEDS.start + 500, HELDOUT_SEEDS.stop),
                                    heldout_homes, 'heldout_wording', 1, rng, progress),
    }
    counts = {}
    digest = hashlib.sha256()
    for name, items in sets.items():
        seen = set()
        rows = []
        for ex in items:
            key = (ex.instruction, ex.target)
            if key in seen:
                continue
            seen.add(key)
            rows.append(json.dumps(asdict(ex), sort_keys=True))
        text = '\n'.join(rows) + '\n'
        (out_dir / f'{name}.jsonl').write_text(text)
        digest.update(text.encode())
        counts[name] = len(rows)
    info = {'counts': counts, 'sha256': digest.hexdigest(), 'train_homes': train_homes,
            'heldout_homes': heldout_homes, 'seed': seed}
    (out_dir / 'data.json').write_text(json.dumps(info, indent=1))
    return info


def load(path: Path) -> list[Example]:
    """Examples of one JSONL file."""
    return [Example(**json.loads(line)) for line in path.read_text().splitlines() if line]
