"""Run task episodes under a memory condition and score them against ground truth.

The planner (`TaskRunner`) sees memory only; this harness applies the scripted person's
changes between tasks, scores every task with ALFRED-L's ordered semantics after every
skill (ground truth is the judge, never the player), and collects the metrics of
DESIGN.md: success, goal-condition rate, exploration, path length, time, memory lookup
accuracy, short-term hit rate and prompt tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from memory_nodes.evaluation.conditions import make_condition
from memory_nodes.evaluation.sim_robot import SimRobot
from memory_nodes.evaluation.tokens import memory_prompt_tokens
from memory_nodes.planner.task_runner import RunnerConfig, TaskRunner
from sim.goals import TaskScorer
from sim.interface import Simulator
from sim.oracle import apply_world_change
from sim.suite_world import build_home
from sim.task_schema import Episode, Task


@dataclass
class TaskReport:
    """Metrics of one task under one condition."""

    task_id: str
    instruction: str
    success: bool
    goal_condition_rate: float
    reached: int
    total: int
    skills: int
    failed_skills: int
    replans: int
    explorations: int
    stale_hits: int
    path_length_m: float
    robot_time_s: float
    wall_time_s: float
    lookups: int
    lookups_correct: int
    stm_hits: int
    stm_needed: int
    prompt_tokens: int
    believed_done: bool
    error: str = ''
    skill_log: list[str] = field(default_factory=list)


@dataclass
class EpisodeReport:
    """All tasks of one episode under one condition, plus memory and speed figures."""

    episode_id: str
    condition: str
    tasks: list[TaskReport] = field(default_factory=list)
    memory_nodes: int = 0
    fusion_ms: list[float] = field(default_factory=list)
    perception_ms: list[float] = field(default_factory=list)
    frames: int = 0


def _stm_hit_stats(setup, task: Task) -> tuple[int, int]:  # noqa: ANN001
    """(needed objects present in the STM, needed objects) at the start of a task."""
    memory = setup.memory
    if memory is None:
        return 0, 0
    needed = {g.obj or (g.obj_id or '').rsplit('_', 1)[0] for g in task.goals}
    labels = {e.label.lower().replace('_', '') for e in memory.stm.entries()}
    hits = sum(1 for t in needed if t.lower() in labels)
    return hits, len(needed)


def run_episode(sim: Simulator, episode: Episode, condition: str, *,
                stm_policy: str = 'wtinylfu', stm_capacity: int = 10,
                runner_config: RunnerConfig | None = None,
                on_task: Callable[[TaskReport], object] | None = None,
                text_embeddings: str = 'minilm') -> EpisodeReport:
    """Run every task of `episode` in one home, without reset, under `condition`."""
    setup = make_condition(condition, stm_policy, stm_capacity, text_embeddings)
    home = build_home(episode.home)
    sim.reset(home, seed=episode.home.seed)
    if setup.memory is not None:
        for name, (x0, y0, x1, y1) in sim.rooms().items():
            setup.memory.ltm.define_room(name, (x0, y0, -0.1), (x1, y1, 3.0))
    robot = SimRobot(sim, setup.memory, setup.history)
    areas = list(sim.rooms())
    report = EpisodeReport(episode.episode_id, condition)
    for task in episode.tasks:
        for change in task.world_changes:
            apply_world_change(sim, change)
        if setup.clear_before_task and setup.memory is not None:
            setup.memory.reset()
            for name, (x0, y0, x1, y1) in sim.rooms().items():
                setup.memory.ltm.define_room(name, (x0, y0, -0.1), (x1, y1, 3.0))
        stm_hits, stm_needed = _stm_hit_stats(setup, task)
        tokens = memory_prompt_tokens(setup, task.instruction)
        scorer = TaskScorer(task.goals)
        scorer.update(sim.ground_truth(), sim.holding())
        lookups0, correct0 = robot.counters.lookups, robot.counters.lookups_correct

        def on_skill(_call, _result, scorer=scorer):  # noqa: ANN001
            scorer.update(sim.ground_truth(), sim.holding())

        runner = TaskRunner(setup.view, robot, areas, runner_config, on_skill)
        t0 = time.perf_counter()
        outcome = runner.run(task.goals, task.instruction)
        score = scorer.score
        tr = TaskReport(
            task_id=task.task_id, instruction=task.instruction, success=score.success,
            goal_condition_rate=score.goal_condition_rate, reached=score.reached,
            total=len(task.goals), skills=len(outcome.skills),
            failed_skills=sum(not s.success for s in outcome.skills),
            replans=outcome.replans, explorations=outcome.explorations,
            stale_hits=outcome.stale_hits, path_length_m=outcome.path_length_m,
            robot_time_s=outcome.robot_time_s, wall_time_s=time.perf_counter() - t0,
            lookups=robot.counters.lookups - lookups0,
            lookups_correct=robot.counters.lookups_correct - correct0,
            stm_hits=stm_hits, stm_needed=stm_needed, prompt_tokens=tokens,
            believed_done=outcome.believed_done, error=outcome.error,
            skill_log=[f'{s.text}{"" if s.success else " -> " + str(s.reason)}'
                       for s in outcome.skills])
        report.tasks.append(tr)
        if on_task is not None:
            on_task(tr)
    if setup.memory is not None:
        report.memory_nodes = len(setup.memory.ltm.graph.nodes)
    report.fusion_ms = list(robot.counters.fusion_ms)
    report.perception_ms = list(robot.counters.perception_ms)
    report.frames = robot.counters.frames
    return report
