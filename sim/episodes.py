"""The one episode loop and the one result type, for every way of playing a task.

`run_episode(sim, episode, player)` builds the episode's home and resets the simulator once,
then for each task applies the scripted person's world changes, scores the task with
`TaskScorer` before acting and after every skill (ground truth is the judge, never the
player), lets the player play it and collects a `TaskRecord` per task in an
`EpisodeRecord`.

A `TaskPlayer` is what plays: the oracle (`sim.oracle.OraclePlayer`, a plan source from
ground truth in a re-plan loop) or the memory-driven planner under a memory condition
(`memory_nodes.evaluation.episodes.MemoryPlayer`). The types live here, in `sim`, because
the simulator may not import the evaluation while the evaluation may import the simulator.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.interface import Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Episode, Task, WorldChange


@dataclass
class SkillRecord:
    """One executed skill and how it went."""

    skill: str
    target: str | None
    success: bool
    reason: str | None = None


@dataclass
class TaskRecord:
    """How one task went, whoever played it.

    The score fields come from the episode loop's `TaskScorer`; the rest from the player.
    What a player does not measure stays 0 or empty: the oracle has no memory (lookups, STM
    hits, tokens, explorations), the memory runner keeps a text `skill_log` and the
    robot's `robot_time_s` instead of the oracle's structured `log` and `sim_time_s`.
    """

    task_id: str
    instruction: str = ''
    success: bool = False
    goal_condition_rate: float = 0.0
    reached: int = 0
    total: int = 0
    skills: int = 0
    failed_skills: int = 0
    replans: int = 0
    explorations: int = 0
    stale_hits: int = 0
    path_length_m: float = 0.0
    robot_time_s: float = 0.0
    wall_time_s: float = 0.0
    lookups: int = 0
    lookups_correct: int = 0
    stm_hits: int = 0  # lookups whose object was resident in the STM
    stm_needed: int = 0  # lookups of objects by scene-graph id (the STM hit rate's denominator)
    prompt_tokens: int = 0
    believed_done: bool = False
    error: str = ''
    skill_log: list[str] = field(default_factory=list)
    failed_subgoal: int | None = None
    failed_condition: str | None = None
    unmapped: int = 0  # sub-goals the task file gave that could not be mapped (never reached)
    reached_before_acting: int = 0
    sim_time_s: float = 0.0
    log: list[SkillRecord] = field(default_factory=list)


@dataclass
class EpisodeRecord:
    """Every task of one episode, in order, plus memory and speed figures and totals."""

    episode_id: str
    condition: str = ''
    tasks: list[TaskRecord] = field(default_factory=list)
    memory_nodes: int = 0
    fusion_ms: list[float] = field(default_factory=list)
    perception_ms: list[float] = field(default_factory=list)
    frames: int = 0
    wall_time_s: float = 0.0

    @property
    def success_rate(self) -> float:
        """Fraction of tasks fully reached."""
        return sum(t.success for t in self.tasks) / len(self.tasks) if self.tasks else 0.0

    @property
    def goal_condition_rate(self) -> float:
        """Mean goal-condition rate over tasks."""
        return (sum(t.goal_condition_rate for t in self.tasks) / len(self.tasks)
                if self.tasks else 0.0)

    @property
    def skills(self) -> int:
        """Skills executed in the episode."""
        return sum(t.skills for t in self.tasks)

    @property
    def path_length_m(self) -> float:
        """Robot path length over the episode, metres."""
        return sum(t.path_length_m for t in self.tasks)


class TaskPlayer(abc.ABC):
    """Plays the tasks of an episode; the loop owns reset, world changes and scoring.

    `play` must update `scorer` after every skill it executes (the loop fills the score
    fields of the record from it afterwards). The episode hooks are optional.
    """

    #: The label an `EpisodeRecord` carries (a memory condition, or 'oracle').
    condition: str = ''

    def begin_episode(self, sim: Simulator, episode: Episode) -> None:  # noqa: B027
        """The home is built and reset: set up whatever lives for the whole episode."""

    @abc.abstractmethod
    def play(self, sim: Simulator, task: Task, scorer: TaskScorer) -> TaskRecord:
        """Play `task` in the current world (its world changes already applied)."""

    def end_episode(self, sim: Simulator, record: EpisodeRecord) -> None:  # noqa: B027
        """Every task was played: add episode-wide figures to `record`."""


def apply_world_change(sim: Simulator, change: WorldChange) -> None:
    """Apply a scripted person's change through the backend's person API."""
    if change.op == 'move_object':
        mover = getattr(sim, 'move_object', None)
        if mover is None:
            raise NotImplementedError(f'{type(sim).__name__} has no move_object (person API)')
        mover(change.object_id, change.receptacle_id, change.relation)
    else:
        setter = getattr(sim, 'set_state', None)
        if setter is None:
            raise NotImplementedError(f'{type(sim).__name__} has no set_state (person API)')
        setter(change.object_id, change.key, bool(change.value))


def play_task(sim: Simulator, task: Task, player: TaskPlayer) -> TaskRecord:
    """Score `task` before acting, let `player` play it, and fill in the final score.

    A task whose file gave sub-goals that could not be mapped (`task.unmapped`) cannot
    succeed: its mapped sub-goals are played and scored, the unmapped ones count as not
    reached in its goal-condition rate, and a task with no mapped sub-goal at all is not
    played.
    """
    if not task.goals:
        return unplayable_record(task)
    scorer = TaskScorer(task.goals)
    scorer.update(sim.ground_truth(), sim.holding())
    before = scorer.score.reached
    record = player.play(sim, task, scorer)
    score = scorer.score
    record.success = score.success
    record.goal_condition_rate = score.goal_condition_rate
    record.reached = score.reached
    record.total = len(task.goals)
    record.failed_subgoal = score.failed_subgoal
    record.failed_condition = None if score.success else str(score.failed_condition)
    record.reached_before_acting = before
    return charge_unmapped(task, record)


def unplayable_record(task: Task) -> TaskRecord:
    """The record of a task with no mapped sub-goal: failed, never played."""
    missing = task.unmapped or [{'text': '(no goal condition)', 'reason': 'empty'}]
    return TaskRecord(task.task_id, task.instruction, total=len(missing),
                      unmapped=len(task.unmapped), failed_subgoal=0,
                      failed_condition=f'unmapped: {missing[0]["text"]}',
                      error=f'no sub-goal could be mapped: {missing[0]["reason"]}')


def charge_unmapped(task: Task, record: TaskRecord) -> TaskRecord:
    """Count `task`'s unmapped sub-goals in `record`: not reached, so no success.

    The scorer judged only the mapped sub-goals (`record.reached` of `len(task.goals)`);
    the task file asked for more, so the total grows and a task that reached every mapped
    sub-goal still failed, on its first unmapped one.
    """
    if not task.unmapped:
        return record
    record.unmapped = len(task.unmapped)
    record.total = len(task.goals) + len(task.unmapped)
    record.goal_condition_rate = record.reached / record.total
    if record.success:
        record.success = False
        record.failed_condition = f'unmapped: {task.unmapped[0]["text"]}'
        record.error = record.error or f'unmapped: {task.unmapped[0]["reason"]}'
    return record


def run_episode(sim: Simulator, episode: Episode, player: TaskPlayer, *,
                reset: bool = True,
                on_task: Callable[[TaskRecord], object] | None = None) -> EpisodeRecord:
    """Run every task of `episode` in one home, without reset between tasks."""
    from sim.suite_world import build_home

    start = time.perf_counter()
    if reset:
        sim.reset(build_home(episode.home), seed=episode.home.seed)
    record = EpisodeRecord(episode.episode_id, player.condition)
    player.begin_episode(sim, episode)
    for task in episode.tasks:
        for i, change in enumerate(task.world_changes):
            try:
                apply_world_change(sim, change)
            except ValueError as err:
                raise ValueError(f'{task.task_id} world_changes[{i}]: {err}') from err
        task_record = play_task(sim, task, player)
        record.tasks.append(task_record)
        if on_task is not None:
            on_task(task_record)
    player.end_episode(sim, record)
    record.wall_time_s = time.perf_counter() - start
    return record
