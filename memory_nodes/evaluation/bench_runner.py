"""The task benchmark's grid: every suite x every condition, same homes, seeds and planner.

One unit of work is one episode under one condition (`run_memory_episode`, in-process); units run
in this process or in `jobs` worker processes (each with its own simulator). Every task
prints one progress line. The `ltm+stm` runs also record their short-term memory traces,
which `replay_traces` plays through every eviction policy at several capacities.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory_nodes.evaluation.conditions import CONDITIONS
from memory_nodes.evaluation.episodes import run_memory_episode
from memory_nodes.memory.traces import TraceStep, replay
from sim.episodes import EpisodeRecord, TaskRecord
from sim.task_schema import Episode, Suite, load_suite

SUITES = ('simple', 'composite', 'complex', 'stale')
OURS = 'ltm+stm'
TRACE_POLICIES = ('fifo', 'lru', 'lfu', 'wtinylfu', 'robot_aware')
TRACE_CAPACITIES = (5, 10, 15, 20, 25)
#: What runs one episode: in-process `run_memory_episode`, or the ROS 2 runner with `--ros`.
EPISODE_RUNNER: Callable[..., EpisodeRecord] = run_memory_episode


@dataclass
class BenchConfig:
    """What to run: suites (names or files), conditions, STM policy and capacity, sizes."""

    suites: list[str] = field(default_factory=lambda: list(SUITES))
    conditions: list[str] = field(default_factory=lambda: list(CONDITIONS))
    policy: str = 'robot_aware'
    capacity: int = 10
    episodes: int | None = None  # per suite (None: all)
    tasks: int | None = None  # per episode (None: all)
    alfred_l: list[str] = field(default_factory=list)
    text_embeddings: str = 'minilm'
    perception: str = 'sim_segmentation'
    weights: str | None = None
    jobs: int = 1
    floorplan1: bool = False
    #: '' : the planner gets each task's goal conditions; 'grammar' or 'language_model':
    #: it gets the instruction only, read by that reader (`make_instruction_reader`).
    instruction_reader: str = ''
    reader_adapter: str = 'shipped'


@dataclass
class EpisodeRun:
    """One episode under one condition: its report and (for ours) its STM trace."""

    suite: str
    condition: str
    report: EpisodeRecord
    trace: list[TraceStep] | None = None
    seconds: float = 0.0


@dataclass
class BenchRun:
    """Everything the grid produced."""

    config: BenchConfig
    runs: list[EpisodeRun]
    suites: list[str]
    intake: dict[str, TaskFileIntake] = field(default_factory=dict)  # task files' suites
    seconds: float = 0.0

    def conditions(self) -> list[str]:
        """The conditions this run ran, in the canonical order (`CONDITIONS`)."""
        return [c for c in CONDITIONS if c in self.config.conditions]

    def tasks(self, suite: str, condition: str) -> list[TaskRecord]:
        """Every task report of one cell, in suite order."""
        return [t for r in self.runs if r.suite == suite and r.condition == condition
                for t in r.report.tasks]

    def last_flags(self, suite: str, condition: str) -> list[bool]:
        """Per task of `tasks(suite, condition)`: is it its episode's last task."""
        out: list[bool] = []
        for r in self.runs:
            if r.suite == suite and r.condition == condition:
                n = len(r.report.tasks)
                out += [i == n - 1 for i in range(n)]
        return out

    def first_flags(self, suite: str, condition: str) -> list[bool]:
        """Per task of `tasks(suite, condition)`: is it its episode's first task."""
        out: list[bool] = []
        for r in self.runs:
            if r.suite == suite and r.condition == condition:
                out += [i == 0 for i in range(len(r.report.tasks))]
        return out

    def traces(self) -> list[list[TraceStep]]:
        """The recorded STM traces (one per `ltm+stm` episode)."""
        return [r.trace for r in self.runs if r.trace]


@dataclass
class TaskFileIntake:
    """What became of one task file's tasks: every task counts, none is dropped.

    `tasks` is every task in the file; `ran` those played (at least one sub-goal mapped);
    `fully_mapped` those with every sub-goal mapped; `unmapped` lists each sub-goal that
    could not be mapped as (task id, text, reason); `home_problems` what the home built for
    a task still lacks for it (`support_problems`; the task runs anyway and fails there).
    """

    suite: str
    file: str
    tasks: int = 0
    ran: int = 0
    fully_mapped: int = 0
    unmapped: list[tuple[str, str, str]] = field(default_factory=list)
    home_problems: list[tuple[str, str]] = field(default_factory=list)


def _distinct(name: str, path: str, taken: set[str]) -> str:
    """`name`, or `name.<file stem>` (then `-2`, `-3`...) if another suite has it."""
    if name not in taken:
        return name
    stem = Path(path).stem.replace(' ', '_')
    candidate, n = f'{name}.{stem}', 2
    while candidate in taken:
        candidate, n = f'{name}.{stem}-{n}', n + 1
    return candidate


def load_suites(names: Sequence[str], alfred_files: Sequence[str] = ()
                ) -> tuple[list[Suite], dict[str, TaskFileIntake]]:
    """Suites by name or file, plus task files (raw ALFRED-L, imported on the fly, or ours).

    Nothing is dropped: a task with unmapped sub-goals runs what mapped and counts as
    failed (`sim.episodes.charge_unmapped`). Each task file's suite is named after its
    task kind (`alfred_l-simple`); a second file of the same kind gets `.<file stem>`
    appended. The intake per file says how many tasks ran and what did not map.
    """
    from sim.ai2thor.floorplan_tasks import support_problems
    from sim.alfred_l import import_alfred_l_file
    from sim.suite_world import build_home
    from sim.task_schema import TaskFileError

    suites = [load_suite(n) for n in names]
    taken = {s.name for s in suites}
    intake: dict[str, TaskFileIntake] = {}
    for path in alfred_files:
        try:
            suite = load_suite(path)
        except TaskFileError:
            suite = import_alfred_l_file(path).suite
        suite.name = _distinct(suite.name, path, taken)
        taken.add(suite.name)
        info = TaskFileIntake(suite.name, str(path))
        for ep in suite.episodes:
            home = build_home(ep.home)
            for task in ep.tasks:
                info.tasks += 1
                info.ran += bool(task.goals)
                info.fully_mapped += bool(task.goals) and not task.unmapped
                info.unmapped += [(task.task_id, u.get('text', '?'), u.get('reason', '?'))
                                  for u in task.unmapped]
                info.home_problems += [(task.task_id, p) for p in support_problems(task, home)
                                       if not p.startswith('not mapped')]
        intake[suite.name] = info
        suites.append(suite)
    return suites, intake


def make_perception(name: str, weights: str | None):  # noqa: ANN201 - SimFramePerception
    """The perception the robot runs: sim_segmentation, or YOLO (`weights`, else the shipped).

    YOLO's memory gets the detector profile measured for the weights (their metrics.json)
    when there is one.
    """
    from memory_nodes.evaluation.sim_frames import SimFramePerception

    if name == 'sim_segmentation':
        return None  # SimRobot's default
    if name != 'yolo':
        raise ValueError(f'perception must be sim_segmentation or yolo, got {name!r}')
    try:
        module = importlib.import_module('memory_nodes.perception.yolo_detector')
    except ImportError as err:
        raise ValueError('no YOLO detector in this build (memory_nodes.perception.'
                         f'yolo_detector: {err})') from None
    path = Path(weights) if weights else module.shipped_weights()
    if not path.is_file():
        raise ValueError(f'--perception yolo: weights {path} not found (--weights PATH, or '
                         'the shipped models/detector weights)')
    return SimFramePerception(detector=module.YoloDetector(path),
                              detector_profile=module.detector_profile_of(path))


# --------------------------------------------------------------------------- workers
_SIM = None


def _simulator():  # noqa: ANN202 - PyBulletSimulator, one per process
    global _SIM
    if _SIM is None:
        from sim.pybullet_sim import PyBulletSimulator

        _SIM = PyBulletSimulator()
    return _SIM


_READER = None


def make_instruction_reader(name: str, adapter: str = 'shipped'):  # noqa: ANN201
    """(instruction, memory view) -> goals by the controlled grammar or the language model."""
    from memory_nodes.planner.instruction_grammar import goals_from_instruction
    from sim.catalog import WORLD_ONTOLOGY

    if not name:
        return None
    if name == 'grammar':
        return lambda text, _view: goals_from_instruction(text, WORLD_ONTOLOGY).goals
    if name != 'language_model':
        raise ValueError(f'instruction reader must be grammar or language_model, got {name!r}')
    global _READER
    if _READER is None:  # one model per process
        from memory_nodes.planner.language.goal_reader import GoalReader, GoalReaderConfig

        _READER = GoalReader(GoalReaderConfig(adapter=adapter, threads=1), WORLD_ONTOLOGY)
    reader = _READER

    def read(text: str, view):  # noqa: ANN001, ANN202
        reading = reader.read(text, view)
        return reading.goals or goals_from_instruction(text, WORLD_ONTOLOGY).goals
    return read


def _progress_line(suite: str, condition: str, episode: str, t: TaskRecord) -> str:
    return (f'[bench-tasks] suite={suite} condition={condition} episode={episode} '
            f'task={t.task_id} success={int(t.success)} gc={t.goal_condition_rate:.2f} '
            f'explore={t.explorations} skills={t.skills} tokens={t.prompt_tokens} '
            f'({t.wall_time_s:.1f} s){" " + t.error if t.error else ""}')


def run_unit(unit: tuple[str, Episode, str, BenchConfig]) -> EpisodeRun:
    """Run one episode under one condition (in this process or a worker)."""
    suite, episode, condition, cfg = unit
    trace: list[TraceStep] | None = [] if condition == OURS else None
    t0 = time.perf_counter()
    perception = make_perception(cfg.perception, cfg.weights)
    extra = {}
    if cfg.instruction_reader:  # (the in-process runner only)
        extra['goal_reader'] = make_instruction_reader(cfg.instruction_reader,
                                                       cfg.reader_adapter)
    report = EPISODE_RUNNER(
        _simulator(), episode, condition, stm_policy=cfg.policy, stm_capacity=cfg.capacity,
        text_embeddings=cfg.text_embeddings, trace=trace, perception=perception, **extra,
        on_task=lambda t: print(_progress_line(suite, condition, episode.episode_id, t),
                                flush=True))
    return EpisodeRun(suite, condition, report, trace, time.perf_counter() - t0)


def _trimmed(episode: Episode, tasks: int | None) -> Episode:
    if tasks is None or tasks >= len(episode.tasks):
        return episode
    return Episode(episode.episode_id, episode.home, episode.tasks[:tasks])


def run_bench(cfg: BenchConfig, log: Callable[[str], object] = print) -> BenchRun:
    """Run the whole grid; progress goes to stdout, one line per task."""
    for c in cfg.conditions:
        if c not in CONDITIONS:
            raise ValueError(f'unknown condition {c!r} (choose from {", ".join(CONDITIONS)})')
    make_perception(cfg.perception, cfg.weights)  # fail before the long run
    suites, intake = load_suites(cfg.suites, cfg.alfred_l)
    units = []
    for suite in suites:
        episodes = suite.episodes[:cfg.episodes] if cfg.episodes else suite.episodes
        for ep in episodes:
            for condition in cfg.conditions:
                units.append((suite.name, _trimmed(ep, cfg.tasks), condition, cfg))
    log(f'[bench-tasks] {len(units)} episode runs: {len(suites)} suites x '
        f'{len(cfg.conditions)} conditions, policy={cfg.policy} capacity={cfg.capacity}, '
        f'jobs={cfg.jobs}')
    t0 = time.perf_counter()
    groups = episode_groups(units)
    if cfg.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context('fork').Pool(cfg.jobs) as pool:
            done = pool.map(run_group, [[units[i] for i in g] for g in groups], chunksize=1)
    else:
        done = [run_group([units[i] for i in g]) for g in groups]
    runs: list[EpisodeRun | None] = [None] * len(units)
    for group, group_runs in zip(groups, done):
        for i, run in zip(group, group_runs):
            runs[i] = run
    return BenchRun(cfg, runs, [s.name for s in suites], intake,  # type: ignore[arg-type]
                    time.perf_counter() - t0)


#: The order one worker runs an episode's conditions in: a condition next to the one it
#: most often acts like (stm like none, ltm+stm like ltm), so the camera's frame cache
#: (`sim.camera.RENDER_CACHE_FRAMES`) still holds the views it is about to render again.
GROUP_ORDER = ('none', 'stm', 'history', 'ltm', 'ltm+stm')


def episode_groups(units: Sequence[tuple[str, Episode, str, BenchConfig]]) -> list[list[int]]:
    """Indices of `units`, one list per (suite, episode), conditions in `GROUP_ORDER`.

    A group runs in one worker, one condition after the other; the runs go back into
    the units' order, so grouping changes where and when a unit runs, not what it gives.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (suite, episode, _, _) in enumerate(units):
        groups.setdefault((suite, episode.episode_id), []).append(i)
    rank = {c: k for k, c in enumerate(GROUP_ORDER)}
    return [sorted(g, key=lambda i: (rank.get(units[i][2], len(rank)), i))
            for g in groups.values()]


def run_group(units: Sequence[tuple[str, Episode, str, BenchConfig]]) -> list[EpisodeRun]:
    """Run one episode's units one after the other (in this process or a worker)."""
    return [run_unit(u) for u in units]


# --------------------------------------------------------------------------- traces
def replay_traces(traces: Sequence[Sequence[TraceStep]],
                  policies: Sequence[str] = TRACE_POLICIES,
                  capacities: Sequence[int] = TRACE_CAPACITIES) -> dict[str, list[float]]:
    """Hit rate per policy (one value per capacity) of the recorded suite traces."""
    from memory_nodes.memory.short_term import ShortTermConfig, ShortTermMemory

    class LatestSink:
        """The long-term memory's place in a replay: newest change per object."""

        def record_state_change(self, change) -> str:  # noqa: ANN001
            return change.object_id or change.label

    out: dict[str, list[float]] = {}
    for policy in policies:
        row = []
        for cap in capacities:
            hits = queries = 0
            for trace in traces:
                mem = ShortTermMemory(ShortTermConfig(capacity=cap, policy=policy),
                                      sink=LatestSink())
                res = replay(trace, mem)
                hits += res.hits
                queries += res.queries
            row.append(hits / queries if queries else float('nan'))
        out[policy] = row
    return out
