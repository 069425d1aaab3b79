"""Training and held-out examples for the goal reader, from the suite generator.

Homes come from `sim.suites.generate_suite` with seeds no suite file uses (training
1000-1999, held out 2000-2999; the suites use 11-45 and 110-420), every suite kind (simple,
composite, complex, stale). Each task gives examples in three wordings: the suite's own
instruction (with politeness and typos sometimes), a rewording by `wording.say`, and a
chain of two or three consecutive tasks said as one request (the shape of ALFRED-L's
long instructions). Targets are the canonical type-level goals (`canonical_goals`).

The memory context of an example lists what a robot would remember about the goal's
types (where such a thing is kept, in which room) plus a distractor, each line sometimes
left out: memory never knows everything.

Besides the suites' tasks, `synthetic` chains cover the whole vocabulary the robot knows
(the simulator's catalogue, `WORLD_ONTOLOGY`): any pickupable thing on or in any
receptacle (a plate, a pot, the sink, the microwave), the states each type can take, the
switches, and chains that pass an object on ("put the apple on the plate, put the plate in
the fridge"), one to six steps long. The suites alone name few receptacles as targets, and
a model trained on them alone sends everything else to the bin.

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
from sim.catalog import WORLD_ONTOLOGY

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
        if rng.random() < 0.3 or t not in WORLD_ONTOLOGY:
            continue  # memory does not know it
        spec = WORLD_ONTOLOGY[t]
        support = rng.choice(spec.kept_on) if spec.kept_on else ''
        if support not in WORLD_ONTOLOGY:
            support = ''
        relation = '' if not support else (
            'in' if WORLD_ONTOLOGY[support].receptacle == 'in' else 'on')
        room = spec.rooms[0] if spec.rooms else ''
        entries.append(ContextEntry(t, relation, support, room))
    rng.shuffle(entries)
    return format_context(entries)


#: Goal state words per state key (`toggled` and `used_up` are goals of their own).
_GOAL_WORDS = {'open': ('open', 'closed'), 'dirty': ('clean',), 'hot': ('hot',),
               'cold': ('cold',), 'cooked': ('cooked',), 'sliced': ('sliced',),
               'filled': ('filled', 'empty')}


_WORD_ORDER = ('sliced', 'clean', 'cooked', 'hot', 'cold', 'open', 'closed', 'filled',
               'empty')


def _state_words(spec) -> list[str]:  # noqa: ANN001 - an ObjectType
    words = {w for key in spec.state_keys() for w in _GOAL_WORDS.get(key, ())}
    return [w for w in _WORD_ORDER if w in words]  # (the order the shipped data used)


def synthetic_goals(rng: random.Random) -> list[GoalCondition]:
    """A chain of one to six goals over the whole catalogue (see the module doc)."""
    onto = WORLD_ONTOLOGY
    movable = [t for t, s in onto.items() if s.pickupable]
    receptacles = [t for t, s in onto.items() if s.receptacle]
    switches = [t for t, s in onto.items() if s.toggleable]
    goals: list[GoalCondition] = []
    subject = rng.choice(movable)
    for _ in range(rng.choice((1, 2, 3, 3, 4, 4, 5, 6))):
        kind = rng.random()
        words = _state_words(onto[subject])
        if kind < 0.5:
            target = rng.choice([r for r in receptacles if r != subject])
            relation = 'INSIDE' if onto[target].receptacle == 'in' else 'ON'
            if rng.random() < 0.2:
                relation = 'ON' if relation == 'INSIDE' else 'INSIDE'
            text = f'{relation}({subject}, {target}): 1'
            goals.append(parse_condition(text))
            if onto[target].pickupable and rng.random() < 0.5:
                subject = target  # "... on the plate, put the plate in the fridge"
                continue
        elif kind < 0.8 and words:
            goals.append(parse_condition(f'STATE({subject}, {rng.choice(words)}): 1'))
        elif kind < 0.92:
            switch = rng.choice(switches)
            on = 'TOGGLEON' if rng.random() < 0.6 else 'TOGGLEOFF'
            goals.append(parse_condition(f'{on}({switch}): 1'))
        else:
            goals.append(parse_condition(f'HOLDING({subject}): 1'))
        if rng.random() < 0.3:
            subject = rng.choice(movable)
    return goals


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


def synthetic(n: int, rng: random.Random, split: str = 'train', family: int = 0
              ) -> Iterator[Example]:
    """`n` examples of `synthetic_goals` chains, said in phrasing `family`."""
    for _ in range(n):
        goals = synthetic_goals(rng)
        yield Example(say(goals, rng, family), _context(goals, rng),
                      ', '.join(g.to_text() for g in goals), split, 'synthetic', -1)


def make_data(out_dir: Path, train_homes: int = 150, heldout_homes: int = 10,
              seed: int = 0, progress: Callable[[str], object] | None = print,
              synthetic_examples: int = 4000) -> dict:
    """Write train.jsonl, heldout_home.jsonl and heldout_wording.jsonl; returns counts."""
    import itertools

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sets = {
        'train': itertools.chain(
            examples(TRAIN_SEEDS, train_homes, 'train', 0, rng, progress),
            synthetic(synthetic_examples, random.Random(f'synthetic-{seed}'))),
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
            'heldout_homes': heldout_homes, 'seed': seed,
            'synthetic_examples': synthetic_examples}
    (out_dir / 'data.json').write_text(json.dumps(info, indent=1))
    return info


def load(path: Path) -> list[Example]:
    """Examples of one JSONL file."""
    return [Example(**json.loads(line)) for line in path.read_text().splitlines() if line]
