"""Scoring goal conditions against a simulator's ground truth (the judge, never the player).

Containment follows AI2-THOR's `parentReceptacles`: `ON(Egg, DiningTable)` holds when the
table is anywhere in the egg's parent chain (egg in a bowl on the table), and by default ON
and INSIDE do not insist on the direct relation (`strict_relation=True` makes them).

A task is an ordered list of sub-goals (ALFRED-L semantics): `TaskScorer` advances through
them as each is reached in order; a later sub-goal that holds before an earlier one has been
reached counts only once the earlier one is reached and the later one holds again then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from memory_nodes.domain.goals import GoalCondition
from sim.interface import ObjectTruth

# -- checking ---------------------------------------------------------------------------------


def _matches(truth: ObjectTruth, object_type: str, object_id: str | None) -> bool:
    if object_id is not None:
        return truth.object_id == object_id
    return truth.object_type == object_type


def _ancestors(truth: ObjectTruth, world: Mapping[str, ObjectTruth]) -> list[ObjectTruth]:
    """Parent chain of `truth` (direct parent first); stops on cycles or unknown ids."""
    chain, seen, parent = [], {truth.object_id}, truth.parent
    while parent is not None and parent in world and parent not in seen:
        seen.add(parent)
        chain.append(world[parent])
        parent = world[parent].parent
    return chain


def _holds_positive(cond: GoalCondition, world: Mapping[str, ObjectTruth],
                    holding: str | None, strict_relation: bool) -> bool:
    subjects = [t for t in world.values() if _matches(t, cond.obj, cond.obj_id)]
    if cond.kind == 'HOLDING':
        return holding is not None and any(t.object_id == holding for t in subjects)
    if cond.kind in ('TOGGLEON', 'TOGGLEOFF'):
        want = cond.kind == 'TOGGLEON'
        return any(t.states.get('toggled', False) == want and 'toggled' in t.states
                   for t in subjects)
    if cond.kind == 'STATE':
        key = cond.target or ''
        return any(key in t.states and t.states[key] == cond.state_value for t in subjects)
    relation = 'on' if cond.kind == 'ON' else 'in'
    for subject in subjects:
        chain = _ancestors(subject, world)
        for depth, parent in enumerate(chain):
            if not _matches(parent, cond.target or '', cond.target_id):
                continue
            if strict_relation and depth == 0 and subject.relation != relation:
                continue
            return True
    return False


def check_condition(cond: GoalCondition, world: Mapping[str, ObjectTruth],
                    holding: str | None = None, *, strict_relation: bool = False) -> bool:
    """True if `cond` holds in `world` (ground truth by object id) with `holding` in hand.

    Positive conditions hold if some instance of the type satisfies them; negated ones hold
    if none does.
    """
    value = _holds_positive(cond, world, holding, strict_relation)
    return not value if cond.negated else value


# -- scoring ----------------------------------------------------------------------------------


@dataclass
class TaskScore:
    """Where a task stands: how many sub-goals were reached in order, and which is next."""

    goals: list[GoalCondition]
    reached: int = 0
    reached_at_step: list[int] = field(default_factory=list)
    steps: int = 0

    @property
    def success(self) -> bool:
        """All sub-goals reached in order."""
        return self.reached == len(self.goals)

    @property
    def goal_condition_rate(self) -> float:
        """Fraction of sub-goals reached in order (1.0 for an empty task)."""
        return self.reached / len(self.goals) if self.goals else 1.0

    @property
    def failed_subgoal(self) -> int | None:
        """Index of the first sub-goal not reached, or None on success."""
        return None if self.success else self.reached

    @property
    def failed_condition(self) -> GoalCondition | None:
        """The first sub-goal not reached, or None on success."""
        return None if self.success else self.goals[self.reached]

    def summary(self) -> str:
        """One line for people: `3/4 sub-goals, failed at #3 ON(Apple, DiningTable): 1`."""
        text = f'{self.reached}/{len(self.goals)} sub-goals'
        if not self.success:
            text += f', failed at #{self.reached} {self.failed_condition}'
        return text


class TaskScorer:
    """Scores one task's ordered sub-goals as the world changes.

    Call `update(ground_truth, holding)` after every skill (and once before the first); each
    call advances past every next sub-goal that now holds, so several can be reached by one
    action, but never one whose predecessors are not yet reached.
    """

    def __init__(self, goals: Sequence[GoalCondition], *, strict_relation: bool = False):
        self.score = TaskScore(list(goals))
        self.strict_relation = strict_relation

    def update(self, world: Mapping[str, ObjectTruth], holding: str | None = None) -> int:
        """Advance with the current world; return how many sub-goals this call reached."""
        score, before = self.score, self.score.reached
        while score.reached < len(score.goals) and check_condition(
                score.goals[score.reached], world, holding,
                strict_relation=self.strict_relation):
            score.reached += 1
            score.reached_at_step.append(score.steps)
        score.steps += 1
        return score.reached - before

    @property
    def next_goal(self) -> GoalCondition | None:
        """The sub-goal to reach next, or None when done."""
        return self.score.failed_condition

    @property
    def done(self) -> bool:
        """All sub-goals reached."""
        return self.score.success
