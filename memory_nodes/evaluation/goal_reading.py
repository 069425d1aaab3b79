"""How well instructions are read into goals: exact match and per-condition F1.

Parse-only evaluation of a reader (the language model's `GoalReader`, or the controlled
grammar) on (instruction, gold goals) pairs: held-out generated examples, and the
ALFRED-L files, whose instructions people wrote. Every task given is counted; a gold
condition the catalogue cannot map (listed by the importer) counts as missed.

Goals compare as canonical type-level text (`canonical_goals`: `#Apple_1` reads as
Apple). Per task: precision = matched / predicted, recall = matched / gold (multisets,
order ignored), F1 their harmonic mean; exact = the same conditions in the same order.
`goal_f1` is the mean of per-task F1.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory_nodes.domain.goals import GoalParseError, split_conditions
from memory_nodes.domain.ontology import Ontology
from memory_nodes.planner.instruction_grammar import goals_from_instruction
from memory_nodes.planner.language.goal_grammar import canonical_goals
from memory_nodes.planner.language.memory_context import ContextEntry


@dataclass
class ReadCase:
    """One instruction with its gold goals (canonical text) and how many did not map."""

    case_id: str
    instruction: str
    gold: list[str]
    unmapped: int = 0
    context: list[ContextEntry] | str = field(default_factory=list)


@dataclass
class ReadScore:
    """One case read: what came out, its scores and its cost."""

    case: ReadCase
    predicted: list[str]
    f1: float
    exact: bool
    seconds: float
    valid: bool
    new_tokens: int = 0


def score(predicted: Sequence[str], gold: Sequence[str], unmapped: int = 0
          ) -> tuple[float, bool]:
    """(F1, exact) of predicted against gold conditions (`unmapped` gold ones missed)."""
    matched = sum((Counter(predicted) & Counter(gold)).values())
    n_gold = len(gold) + unmapped
    if not predicted or not n_gold:
        return 0.0, False
    p, r = matched / len(predicted), matched / n_gold
    f1 = 0.0 if matched == 0 else 2 * p * r / (p + r)
    return f1, list(predicted) == list(gold) and unmapped == 0


def alfred_cases(paths: Sequence[Path]) -> list[ReadCase]:
    """Every task of the ALFRED-L files (their own mapping of gold words to types)."""
    from sim.alfred_l import import_alfred_l_file
    from sim.catalog import WORLD_ONTOLOGY

    cases = []
    for path in paths:
        for imported in import_alfred_l_file(path).tasks:
            task = imported.task
            cases.append(ReadCase(task.task_id, task.instruction,
                                  canonical_goals(task.goals, WORLD_ONTOLOGY),
                                  len(imported.unmapped)))
    return cases


def jsonl_cases(path: Path) -> list[ReadCase]:
    """The examples of a `make_data` JSONL file as cases."""
    from memory_nodes.tools.goal_reader_training.make_data import load

    return [ReadCase(f'{path.stem}-{i}', ex.instruction, split_conditions(ex.target),
                     context=ex.context) for i, ex in enumerate(load(path))]


Reader = Callable[[ReadCase], tuple[list[str], bool, int]]


def grammar_reader(ontology: Ontology) -> Reader:
    """The controlled grammar (no model) as a reader: the baseline."""
    def read(case: ReadCase) -> tuple[list[str], bool, int]:
        result = goals_from_instruction(case.instruction, ontology)
        try:
            goals = canonical_goals(result.goals, ontology)
        except GoalParseError:
            goals = []
        return goals, bool(goals), 0
    return read


def model_reader(reader, ontology: Ontology) -> Reader:  # noqa: ANN001 - a GoalReader
    """A `GoalReader` as a reader (its context: the case's)."""
    def read(case: ReadCase) -> tuple[list[str], bool, int]:
        reading = reader.read(case.instruction, context=case.context)
        if not reading.valid:
            return [], False, reading.new_tokens
        return canonical_goals(reading.goals, ontology), True, reading.new_tokens
    return read


def evaluate(cases: Sequence[ReadCase], read: Reader,
             progress: Callable[[str], object] | None = None) -> list[ReadScore]:
    """Read every case and score it."""
    out = []
    for i, case in enumerate(cases):
        t0 = time.monotonic()
        predicted, valid, new = read(case)
        f1, exact = score(predicted, case.gold, case.unmapped)
        out.append(ReadScore(case, predicted, f1, exact, time.monotonic() - t0, valid, new))
        if progress is not None and (i + 1) % 10 == 0:
            progress(f'  read {i + 1}/{len(cases)}')
    return out


def summary(scores: Sequence[ReadScore]) -> dict[str, float]:
    """goal_f1, goal_exact, tasks, invalid, decision p50/p95 (s)."""
    if not scores:
        return {'goal_f1': 0.0, 'goal_exact': 0.0, 'tasks': 0, 'invalid': 0}
    secs = sorted(s.seconds for s in scores)
    return {'goal_f1': round(sum(s.f1 for s in scores) / len(scores), 3),
            'goal_exact': round(sum(s.exact for s in scores) / len(scores), 3),
            'tasks': len(scores), 'invalid': sum(not s.valid for s in scores),
            'decision_p50_s': round(secs[len(secs) // 2], 3),
            'decision_p95_s': round(secs[min(len(secs) - 1, int(len(secs) * 0.95))], 3)}
