"""Fair tasks: an instruction that names a type the home holds several of says which one.

A goal that pins one instance (`#Cloth_2`) of a type the home holds several of is fair only
if the instruction's words pick that instance out, for a person and for the planner, which
is told goal types only (never simulator ids). Accepted wordings:

- a place phrase after the object's name that `memory_nodes.domain.references.place_hints`
  reads ("the cloth on the toilet", "the lamp in the living room", "the cloth that was in
  the bathroom") and that holds no other instance of the type, either before the task's
  scripted changes (where the robot may have seen it) or after them (where it is now);
- a vague phrase of the task's `references` that appears in the instruction and ends in a
  room holding no other instance of the type ("switch on the light in the bedroom" for the
  bedroom's only desk lamp).

Otherwise the goal has to accept any instance (no `#id`). `unfair_tasks` lists every task
that breaks this; the suite generator draws such an episode again, and a test runs it on
every committed suite.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable
from dataclasses import replace

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.references import PlaceHint, place_hints
from sim.suite_world import UNKNOWN, SuiteWorld, build_home
from sim.task_schema import Episode, Suite, Task


def _room_words(room: str) -> str:
    return room.replace('_', ' ').lower()


def _singles_out(w: SuiteWorld, object_id: str, matches: Callable[[str], bool]) -> bool:
    """True if `object_id` is the one instance of its type for which `matches` holds."""
    return [i for i in w.ids(w.type_of(object_id)) if matches(i)] == [object_id]


def _hint_matches(w: SuiteWorld, hint: PlaceHint) -> Callable[[str], bool]:
    def matches(object_id: str) -> bool:
        truth = w.truth[object_id]
        if hint.room:
            # An object in someone's hand has no place a person could name.
            return w.room_name(object_id) == hint.room and truth.parent != UNKNOWN
        return w.parent_type(object_id) == hint.support

    return matches


def _room_phrase_singles_out(w: SuiteWorld, object_id: str, phrase: str) -> bool:
    """True if `phrase` ends in a room ("... in the bedroom") holding only this instance."""
    rooms = {r.name for r in w.spec.rooms}
    named = [r for r in rooms if phrase.lower().endswith(f' in the {_room_words(r)}')]
    return bool(named) and _singles_out(
        w, object_id, lambda i: w.room_name(i) == named[0] and w.truth[i].parent != UNKNOWN)


def _pinned(task: Task) -> Iterable[str]:
    for goal in task.goals:
        if goal.obj_id:
            yield goal.obj_id


def task_ambiguities(w: SuiteWorld, before: SuiteWorld, task: Task) -> list[str]:
    """Why `task` is unfair in the model `w` (its changes applied; `before`: without them)."""
    areas = [r.name for r in w.spec.rooms]
    hints = place_hints(task.instruction, [_by_type(w, g) for g in task.goals], areas)
    problems = []
    for object_id in dict.fromkeys(_pinned(task)):
        if object_id not in w.truth:
            problems.append(f'{task.task_id}: #{object_id} is not in the home')
            continue
        kind = w.type_of(object_id)
        if len(w.ids(kind)) < 2:
            continue
        hint = hints.get(kind)
        if hint is not None and any(_singles_out(m, object_id, _hint_matches(m, hint))
                                    for m in (before, w)):
            continue
        text = task.instruction.lower()
        if any(ref == object_id and phrase.lower() in text
               and _room_phrase_singles_out(w, object_id, phrase)
               for phrase, ref in task.references.items()):
            continue
        problems.append(f'{task.task_id}: "{task.instruction}" pins #{object_id} but the '
                        f'home holds {len(w.ids(kind))} of type {kind} and the wording does '
                        'not say which')
    return problems


def _by_type(w: SuiteWorld, goal: GoalCondition) -> GoalCondition:
    """The goal as the planner gets it: types only (it never sees simulator ids)."""

    def type_of(object_id: str | None) -> str | None:
        return w.type_of(object_id) if object_id and object_id in w.truth else None

    return replace(goal, obj=goal.obj or type_of(goal.obj_id) or '', obj_id=None,
                   target=goal.target or type_of(goal.target_id), target_id=None)


def unfair_tasks(episode: Episode, world: SuiteWorld | None = None) -> list[str]:
    """Every task of `episode` whose wording does not say which pinned instance it means.

    Replays the episode on the generator's model of its home (`world`, default: built from
    the episode's home reference), scripted changes and intended effects in order.
    """
    w = world or SuiteWorld(build_home(episode.home), random.Random(0))
    problems = []
    for task in episode.tasks:
        before = w
        if task.world_changes:
            # Where things were before the person's changes, for "the cloth that was in
            # the bathroom"; only the object truths change, so only they are copied.
            before = copy.copy(w)
            before.truth = copy.deepcopy(w.truth)
        for change in task.world_changes:
            w.change(change)
        problems += task_ambiguities(w, before, task)
        for goal in task.goals:
            w.apply(goal)
    return problems


def unfair_suite_tasks(suite: Suite) -> list[str]:
    """`unfair_tasks` over every episode of a suite."""
    return [p for episode in suite.episodes for p in unfair_tasks(episode)]
