"""Run task episodes under a memory condition and score them against ground truth.

The planner (`TaskRunner`) sees memory only; this harness applies the scripted person's
changes between tasks, scores every task with ALFRED-L's ordered semantics after every
skill (ground truth is the judge, never the player), and collects the metrics of
DESIGN.md: success, goal-condition rate, exploration, path length, time, memory lookup
accuracy, short-term hit rate and prompt tokens.

STM hit rate: of the memory hits of movable objects (catalog: pickupable) the planner's
compiled plans used, the share resident in the short-term buffer at that moment (by id;
furniture is the scene graph's business). With
`trace=[]`, the episode is also recorded as a replayable STM trace
(`memory_nodes.memory.traces`): a `TaskStep` per task, a `WriteStep` per short-term write
and a `QueryStep` per lookup, so every eviction policy can be replayed on real episodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from memory_nodes.evaluation.conditions import make_condition
from memory_nodes.evaluation.sim_frames import SimFramePerception
from memory_nodes.evaluation.sim_robot import SimRobot
from memory_nodes.evaluation.tokens import HistoryTokenCounter, memory_prompt_tokens
from memory_nodes.memory.traces import QueryStep, TaskStep, TraceStep, WriteStep
from memory_nodes.planner import task_context
from memory_nodes.planner.plan import MemoryHit
from memory_nodes.planner.task_runner import RunnerConfig, TaskRunner
from sim.catalog import WORLD_ONTOLOGY
from sim.interface import Simulator
from sim.oracle import apply_world_change
from sim.scoring import TaskScorer
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
    stm_hits: int  # lookups whose object was resident in the STM
    stm_needed: int  # lookups of objects by scene-graph id (the STM hit rate's denominator)
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


def goal_types(task: Task) -> tuple[str, ...]:
    """Object types a task's goals name (subjects and receptacles), in order."""
    return task_context.goal_types(task.goals)


def task_labels(task: Task) -> tuple[str, ...]:
    """What the planner tells the STM a task needs (the planner node does the same)."""
    return task_context.task_labels(task.goals)


class _StmRecorder:
    """Counts short-term hits of the planner's lookups; optionally records a trace."""

    def __init__(self, memory, trace: list[TraceStep] | None) -> None:  # noqa: ANN001
        self.memory = memory
        self.trace = trace
        self.hits = 0
        self.lookups = 0
        if memory is not None and trace is not None:
            write = memory.stm.write

            def recording_write(change, embedding=None):  # noqa: ANN001, ANN202
                oid = write(change, embedding)
                if oid:
                    trace.append(WriteStep(replace(change, object_id=oid)))
                return oid

            memory.stm.write = recording_write

    def task(self, stamp: float, task: Task) -> None:
        """A task starts: tell the STM what it names (as the planner node does)."""
        labels = task_labels(task)
        if self.memory is not None:
            self.memory.stm.set_task_context(labels)
        if self.trace is not None:
            self.trace.append(TaskStep(stamp, task.instruction, labels))

    def lookup(self, hit: MemoryHit, stamp: float) -> None:
        """A plan used `hit`: count it if it is a movable object (the STM holds objects)."""
        if self.memory is None:
            return
        spec = WORLD_ONTOLOGY.get(WORLD_ONTOLOGY.canonical_type(hit.label) or '')
        if spec is None or not spec.pickupable:
            return  # furniture and rooms are the scene graph's business, not the buffer's
        self.lookups += 1
        if self.memory.stm.peek(hit.id) is not None:
            self.hits += 1
        if self.trace is not None:
            self.trace.append(QueryStep(stamp, hit.id, hit.label))


def run_episode(sim: Simulator, episode: Episode, condition: str, *,
                stm_policy: str = 'robot_aware', stm_capacity: int = 10,
                runner_config: RunnerConfig | None = None,
                on_task: Callable[[TaskReport], object] | None = None,
                text_embeddings: str = 'minilm',
                trace: list[TraceStep] | None = None,
                perception: SimFramePerception | None = None) -> EpisodeReport:
    """Run every task of `episode` in one home, without reset, under `condition`.

    `trace`, if given (a list), receives the episode's short-term memory trace;
    `perception` replaces the default sim_segmentation perception.
    """
    setup = make_condition(condition, stm_policy, stm_capacity, text_embeddings)
    home = build_home(episode.home)
    sim.reset(home, seed=episode.home.seed)
    if setup.memory is not None:
        for name, footprint in sim.rooms().items():
            setup.memory.ltm.define_room_footprint(name, footprint)
    if setup.history is not None:
        setup.history.room_footprints = dict(sim.rooms())  # the same map the LTM gets
    robot = SimRobot(sim, setup.memory, setup.history, perception)
    areas = list(sim.rooms())
    report = EpisodeReport(episode.episode_id, condition)
    recorder = _StmRecorder(setup.memory, trace)
    history_tokens = HistoryTokenCounter()
    for task in episode.tasks:
        for change in task.world_changes:
            apply_world_change(sim, change)
        if setup.clear_ltm_before_task:
            setup.forget_long_term()
        if (setup.clear_before_task or setup.clear_ltm_before_task) \
                and setup.memory is not None:
            if setup.clear_before_task:
                setup.memory.reset()
            for name, footprint in sim.rooms().items():
                setup.memory.ltm.define_room_footprint(name, footprint)
        tokens = memory_prompt_tokens(setup, task.instruction, history_tokens)
        recorder.task(robot.now(), task)
        hits0, stm_lookups0 = recorder.hits, recorder.lookups
        scorer = TaskScorer(task.goals)
        scorer.update(sim.ground_truth(), sim.holding())
        lookups0, correct0 = robot.counters.lookups, robot.counters.lookups_correct

        def on_skill(_call, _result, scorer=scorer):  # noqa: ANN001
            scorer.update(sim.ground_truth(), sim.holding())

        runner = TaskRunner(setup.view, robot, areas, runner_config, on_skill,
                            ontology=WORLD_ONTOLOGY)
        runner.on_lookup = lambda hit: recorder.lookup(hit, robot.now())
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
            stm_hits=recorder.hits - hits0, stm_needed=recorder.lookups - stm_lookups0,
            prompt_tokens=tokens,
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
