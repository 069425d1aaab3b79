"""Run task episodes under a memory condition and score them against ground truth.

The planner (`TaskRunner`) sees memory only. `MemoryPlayer` plays it in the one episode
loop (`sim.episodes.run_episode`), which applies the scripted person's changes between
tasks and scores every task with ALFRED-L's ordered semantics after every skill (ground
truth is the judge, never the player); the player collects the metrics of
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
from dataclasses import replace
from typing import Any

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.evaluation.conditions import check_condition, make_condition
from memory_nodes.evaluation.sim_frames import SimFramePerception
from memory_nodes.evaluation.sim_robot import SimRobot
from memory_nodes.evaluation.tokens import HistoryTokenCounter, memory_prompt_tokens
from memory_nodes.memory.store import MemoryStore
from memory_nodes.memory.traces import QueryStep, TaskStep, TraceStep, WriteStep
from memory_nodes.planner import task_context
from memory_nodes.planner.plan import MemoryHit
from memory_nodes.planner.task_runner import RunnerConfig, TaskOutcome, TaskRunner
from sim.catalog import WORLD_ONTOLOGY
from sim.episodes import EpisodeRecord, TaskPlayer, TaskRecord, run_episode
from sim.interface import Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Episode, Task

#: Reads an instruction (with what memory the condition has) into goal conditions.
InstructionReader = Callable[[str, Any], list[GoalCondition]]


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

            def recording_write(change, embedding=None, **options):  # noqa: ANN001, ANN003, ANN202
                oid = write(change, embedding, **options)
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


class MemoryPlayer(TaskPlayer):
    """Plays tasks with the memory-driven `TaskRunner` under one memory condition.

    `begin_episode` builds the condition's memory, gives it the home's room footprints and
    puts the robot in the simulator; `play` clears what the condition clears before each
    task, counts prompt tokens, runs the planner and reads its metrics; `end_episode`
    adds the memory's size and the robot's perception and fusion timings.
    """

    def __init__(self, condition: str, *, stm_policy: str = 'robot_aware',
                 stm_capacity: int = 10, runner_config: RunnerConfig | None = None,
                 text_embeddings: str = 'minilm', trace: list[TraceStep] | None = None,
                 perception: SimFramePerception | None = None,
                 goal_reader: InstructionReader | None = None,
                 store: MemoryStore | None = None) -> None:
        check_condition(condition)  # before the episode loop resets the simulator
        #: Reads each task's instruction into the goals the planner gets (the task's own
        #: goal conditions are then only the judge's); None: the planner gets the goals.
        self.goal_reader = goal_reader
        self.condition = condition
        self.stm_policy = stm_policy
        self.stm_capacity = stm_capacity
        self.runner_config = runner_config
        self.text_embeddings = text_embeddings
        self.trace = trace
        self.perception = perception
        #: A shared store (`PostgresStore`): this robot's memory is one a fleet shares.
        self.store = store

    def begin_episode(self, sim: Simulator, episode: Episode) -> None:
        """A fresh memory of the condition, the room map, the robot and the counters."""
        self.setup = setup = make_condition(self.condition, self.stm_policy,
                                            self.stm_capacity, self.text_embeddings,
                                            store=self.store,
                                            detector_profile=self.perception.detector_profile
                                            if self.perception is not None else '')
        if setup.memory is not None:
            for name, footprint in sim.rooms().items():
                setup.memory.ltm.define_room_footprint(name, footprint)
        if setup.history is not None:
            setup.history.room_footprints = dict(sim.rooms())  # the same map the LTM gets
        self.robot = SimRobot(sim, setup.memory, setup.history, self.perception)
        self.areas = list(sim.rooms())
        self.recorder = _StmRecorder(setup.memory, self.trace)
        self.history_tokens = HistoryTokenCounter()

    def play(self, sim: Simulator, task: Task, scorer: TaskScorer) -> TaskRecord:
        """Clear what the condition forgets, then let the planner run from memory only."""
        setup, robot, recorder = self.setup, self.robot, self.recorder
        if setup.clear_ltm_before_task:
            setup.forget_long_term()
        if (setup.clear_before_task or setup.clear_ltm_before_task) \
                and setup.memory is not None:
            if setup.clear_before_task:
                setup.memory.reset()
            for name, footprint in sim.rooms().items():
                setup.memory.ltm.define_room_footprint(name, footprint)
        tokens = memory_prompt_tokens(setup, task.instruction, self.history_tokens)
        recorder.task(robot.now(), task)
        hits0, stm_lookups0 = recorder.hits, recorder.lookups
        lookups0, correct0 = robot.counters.lookups, robot.counters.lookups_correct

        def on_skill(_call, _result):  # noqa: ANN001
            scorer.update(sim.ground_truth(), sim.holding())

        runner = TaskRunner(setup.view, robot, self.areas, self.runner_config, on_skill,
                            ontology=WORLD_ONTOLOGY)
        runner.on_lookup = lambda hit: recorder.lookup(hit, robot.now())
        t0 = time.perf_counter()
        outcome = self.act(runner, task, setup.view)
        return TaskRecord(
            task_id=task.task_id, instruction=task.instruction, skills=len(outcome.skills),
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

    def act(self, runner: TaskRunner, task: Task, view: Any) -> TaskOutcome:
        """Carry out one task from memory (`view`) with `runner`: the grounded planner.

        Its goals are the task's own, or what `goal_reader` reads from the instruction.
        A subclass may act otherwise (a model calling tools: `tool_episodes`).
        """
        goals = task.goals
        if self.goal_reader is not None:
            goals = self.goal_reader(task.instruction, view)
        return runner.run(goals, task.instruction)

    def end_episode(self, sim: Simulator, record: EpisodeRecord) -> None:
        """The scene graph's size and the robot's perception and fusion figures."""
        if self.setup.memory is not None:
            record.memory_nodes = len(self.setup.memory.ltm.graph.nodes)
        record.fusion_ms = list(self.robot.counters.fusion_ms)
        record.perception_ms = list(self.robot.counters.perception_ms)
        record.frames = self.robot.counters.frames


def run_memory_episode(sim: Simulator, episode: Episode, condition: str, *,
                       stm_policy: str = 'robot_aware', stm_capacity: int = 10,
                       runner_config: RunnerConfig | None = None,
                       on_task: Callable[[TaskRecord], object] | None = None,
                       text_embeddings: str = 'minilm',
                       trace: list[TraceStep] | None = None,
                       perception: SimFramePerception | None = None,
                       goal_reader: InstructionReader | None = None) -> EpisodeRecord:
    """Run every task of `episode` in one home, without reset, under `condition`.

    The episode loop is `sim.episodes.run_episode` with a `MemoryPlayer`. `trace`, if given
    (a list), receives the episode's short-term memory trace; `perception` replaces the
    default sim_segmentation perception; `goal_reader` (instruction, memory view) -> goals
    plays each task from its instruction alone.
    """
    player = MemoryPlayer(condition, stm_policy=stm_policy, stm_capacity=stm_capacity,
                          runner_config=runner_config, text_embeddings=text_embeddings,
                          trace=trace, perception=perception, goal_reader=goal_reader)
    return run_episode(sim, episode, player, on_task=on_task)
