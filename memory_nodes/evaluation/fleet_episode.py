"""Two robots sharing one memory in one simulated home, playing one episode between them.

`run_fleet_episode(sim, episode, dsn)` plays a suite episode with robots 'a' and 'b', each
with its own `RobotMemory` on a `PostgresStore` of the same database (so one memory, two
writers) and its own `SimRobot` and planner (`MemoryPlayer` under `ltm+stm`), in the one
episode loop (`sim.episodes.run_episode`) that scores every player.

- **One body, two robots.** The simulator has one robot body: each robot keeps its own
  base pose, waypoint, head tilt and hand, and the body is put where the acting robot
  stands when it acts (the other robot's hand, if full, is parked where it stood). Tasks
  run one at a time, so nothing two robots would do at once is lost.
- **Exploration first.** The home's rooms are split in two contiguous halves (by room
  centre); each robot explores its half with the planner's `explore` skill.
- **Tasks alternate**: task 1 to a, task 2 to b, and so on, so a robot fetches what the
  other put away.
- **Hearing before acting.** Before a robot acts, the other robots' queued writes are
  flushed to the server and the acting robot waits until its store's listener has applied
  every row they last wrote (their stored versions, read from the database); after
  `sync_timeout_s` it fetches them itself (`sync_now`) and the task says so. The wait is
  measured per task (`sync.wait_ms`).
- **Who placed what.** Ground truth before and after each task tells which pickupable
  objects a task moved or changed; an object a robot uses that the other robot placed
  last is a hand-off, with whether the acting robot's memory knew where it was before
  it acted (it never saw it there itself).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from memory_nodes.domain.skills import SkillCall
from memory_nodes.evaluation.episodes import MemoryPlayer, run_memory_episode
from memory_nodes.memory.postgres_store import PostgresStore
from memory_nodes.planner.task_runner import RunnerConfig
from sim.episodes import EpisodeRecord, TaskPlayer, TaskRecord, run_episode
from sim.interface import Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Episode, Task

ROBOTS = ('a', 'b')
#: A pickupable object moved at least this far (m) in a task was placed by that task.
MOVED_M = 0.05
#: A remembered node this near (m) an object's true centre knows where the object is.
KNOWN_M = 0.3

Progress = Callable[[str], object]


@dataclass
class Body:
    """What one robot's body is when it is not the one in the simulator."""

    pose: tuple[float, float, float]
    waypoint: str | None
    tilt: float
    held: str | None = None
    carried: dict[str, tuple[float, float, float]] = field(default_factory=dict)


@dataclass
class SyncWait:
    """How the acting robot came to know the others' changes before a task."""

    flush_ms: float = 0.0  # the others' queued writes, written to the server
    wait_ms: float = 0.0  # then until the acting robot had applied all their rows
    rows_behind: int = 0  # their rows the acting robot had not applied when it began
    fallback: bool = False  # the listener was too slow: fetched with sync_now
    missing: int = 0  # rows still not applied after all (should be 0)


@dataclass
class HandOff:
    """A robot used an object another robot placed last."""

    task_id: str
    robot: str
    object_id: str
    object_type: str
    placed_by: str
    placed_in: str  # the task that placed it
    known_before: bool  # the acting robot's memory had it within KNOWN_M before acting
    memory_error_m: float | None  # distance of its nearest remembered node of that type


@dataclass
class FleetTask:
    """One task of the fleet episode: who did it, how it went, what the store did."""

    task_id: str
    robot: str
    instruction: str
    success: bool = False
    goal_condition_rate: float = 0.0
    explorations: int = 0
    stale_hits: int = 0
    skills: int = 0
    wall_time_s: float = 0.0
    sync: SyncWait = field(default_factory=SyncWait)
    store: dict[str, Any] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)
    error: str = ''


@dataclass
class FleetResult:
    """The fleet episode, the exploration split, per-task figures, hand-offs, stores."""

    episode_id: str
    robots: tuple[str, ...]
    record: EpisodeRecord
    tasks: list[FleetTask]
    explored: dict[str, list[str]]
    exploration_s: dict[str, float]
    handoffs: list[HandOff]
    stores: dict[str, dict[str, Any]]
    pending_writes: int  # summed over the robots' stores after the final flush
    memory_nodes: dict[str, int]
    confirmed: dict[str, list[str]]  # confirmed object/furniture ids each robot holds
    paths: dict[str, dict[str, list[tuple[float, float]]]]
    single: EpisodeRecord | None = None

    @property
    def success_rate(self) -> float:
        """Fraction of the episode's tasks fully reached by the fleet."""
        return self.record.success_rate

    @property
    def converged(self) -> bool:
        """Every robot holds the same confirmed objects and furniture."""
        sets = [set(ids) for ids in self.confirmed.values()]
        return all(s == sets[0] for s in sets)

    def sync_wait_ms(self) -> list[float]:
        """Every task's wait to hear the others, ms."""
        return [t.sync.wait_ms for t in self.tasks]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of everything (tasks, hand-offs, stores, paths, baseline)."""
        waits = sorted(self.sync_wait_ms())
        out: dict[str, Any] = {
            'episode_id': self.episode_id, 'robots': list(self.robots),
            'fleet_success_rate': self.success_rate,
            'fleet_goal_condition_rate': self.record.goal_condition_rate,
            'tasks': [asdict(t) for t in self.tasks],
            'explored': self.explored, 'exploration_s': self.exploration_s,
            'handoffs': [asdict(h) for h in self.handoffs],
            'stores': self.stores, 'pending_writes': self.pending_writes,
            'memory_nodes': self.memory_nodes, 'converged': self.converged,
            'confirmed': {r: len(ids) for r, ids in self.confirmed.items()},
            'sync_wait_ms_p50': percentile(waits, 50), 'sync_wait_ms_p95': percentile(waits, 95),
            'sync_wait_ms_max': max(waits, default=0.0),
            'wall_time_s': self.record.wall_time_s,
            'paths': {r: {k: [list(p) for p in v] for k, v in segs.items()}
                      for r, segs in self.paths.items()},
        }
        if self.single is not None:
            out['single'] = {
                'condition': self.single.condition,
                'success_rate': self.single.success_rate,
                'goal_condition_rate': self.single.goal_condition_rate,
                'wall_time_s': self.single.wall_time_s,
                'tasks': [{'task_id': t.task_id, 'success': t.success,
                           'explorations': t.explorations, 'stale_hits': t.stale_hits,
                           'skills': t.skills} for t in self.single.tasks]}
        return out


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile of `values` (nearest rank; 0 for none)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, math.ceil(q / 100.0 * len(ordered)) - 1))
    return float(ordered[k])


def split_rooms(rooms: dict[str, tuple[float, float, float, float]],
                robots: Sequence[str]) -> dict[str, list[str]]:
    """Contiguous shares of the rooms, by room centre (x, then y), one per robot."""
    order = sorted(rooms, key=lambda r: ((rooms[r][0] + rooms[r][2]) / 2,
                                         (rooms[r][1] + rooms[r][3]) / 2, r))
    n = len(robots)
    return {rid: order[len(order) * i // n: len(order) * (i + 1) // n]
            for i, rid in enumerate(robots)}


class FleetPlayer(TaskPlayer):
    """Plays an episode's tasks with several robots on one shared memory, in turn."""

    condition = 'ltm+stm fleet'

    def __init__(self, dsn: str, robots: Sequence[str] = ROBOTS, *,
                 stm_policy: str = 'robot_aware', stm_capacity: int = 10,
                 runner_config: RunnerConfig | None = None,
                 text_embeddings: str = 'minilm', poll_s: float = 1.0,
                 sync_timeout_s: float = 5.0, explore: bool = True,
                 progress: Progress | None = None) -> None:
        if len(set(robots)) != len(robots) or len(robots) < 2:
            raise ValueError(f'a fleet needs two or more distinct robot ids, got {robots!r}')
        self.dsn = dsn
        self.robots = tuple(robots)
        self.sync_timeout_s = float(sync_timeout_s)
        self.explore = explore
        self.progress = progress or (lambda _line: None)
        self.stores = {rid: PostgresStore(dsn, rid, poll_s=poll_s) for rid in self.robots}
        self.seats = {rid: MemoryPlayer('ltm+stm', stm_policy=stm_policy,
                                        stm_capacity=stm_capacity, runner_config=runner_config,
                                        text_embeddings=text_embeddings, store=store)
                      for rid, store in self.stores.items()}
        self.tasks: list[FleetTask] = []
        self.handoffs: list[HandOff] = []
        self.explored: dict[str, list[str]] = {rid: [] for rid in self.robots}
        self.exploration_s: dict[str, float] = {rid: 0.0 for rid in self.robots}
        self.paths: dict[str, dict[str, list[tuple[float, float]]]] = {
            rid: {'explore': [], 'tasks': []} for rid in self.robots}
        #: Object id -> (robot, task id) of the task that last moved it.
        self.placed_by: dict[str, tuple[str, str]] = {}
        self.bodies: dict[str, Body] = {}
        self.current: str | None = None
        self.phase = 'explore'
        self.task_index: dict[str, int] = {}
        self._probe = None

    # ---- the body ------------------------------------------------------------------
    def _check_sim(self, sim: Simulator) -> None:
        for name in ('robot', 'held', 'carried', 'update_carried', 'home'):
            if not hasattr(sim, name):
                raise TypeError(f'{type(sim).__name__} has no {name!r}: the fleet episode '
                                'moves one simulated body between robots (PyBulletSimulator)')

    def _record_path(self, sim: Simulator) -> None:
        """Wrap the body's `set_pose` so every move is added to the acting robot's path."""
        body = sim.robot
        set_pose = body.set_pose

        def recording(x: float, y: float, yaw: float) -> None:
            set_pose(x, y, yaw)
            if self.current is None:
                return
            path = self.paths[self.current][self.phase]
            if not path or math.dist(path[-1], (x, y)) > 0.01:
                path.append((round(float(x), 3), round(float(y), 3)))
        body.set_pose = recording

    def _park(self, sim: Simulator) -> None:
        """The acting robot steps out: its pose, tilt and hand are kept for its next turn."""
        if self.current is None:
            return
        r = sim.robot
        self.bodies[self.current] = Body(r.pose(), r.waypoint, r.tilt, sim.held,
                                         dict(sim.carried))
        sim.held, sim.carried = None, {}  # a held object stays where that robot stands

    def _place(self, sim: Simulator, rid: str) -> None:
        """Put the body where robot `rid` stands, with its hand, camera and memory."""
        if self.current == rid:
            return
        self._park(sim)
        body = self.bodies[rid]
        self.current = rid
        sim.robot.set_pose(*body.pose)
        sim.robot.waypoint = body.waypoint
        sim.robot.tilt = body.tilt
        sim.held, sim.carried = body.held, dict(body.carried)
        sim.update_carried()
        sim.observer = self.seats[rid].robot.perceive_frame

    # ---- hearing the others ----------------------------------------------------------
    def _others_rows(self, rid: str) -> dict[str, int]:
        """Stored node versions last written by robots other than `rid`."""
        if self._probe is None or self._probe.closed:
            import psycopg

            self._probe = psycopg.connect(self.dsn, autocommit=True,
                                          application_name='embodied_memory:fleet_episode')
        rows = self._probe.execute('SELECT id, version FROM em_nodes WHERE robot_id <> %s',
                                   (rid,)).fetchall()
        return {nid: int(version) for nid, version in rows}

    def hear(self, rid: str) -> SyncWait:
        """Flush the others' writes, then wait until `rid` has applied all their rows."""
        me = self.stores[rid]
        t0 = time.perf_counter()
        for other, store in self.stores.items():
            if other != rid and not store.flush(self.sync_timeout_s):
                raise RuntimeError(f'robot {other} could not write its memory within '
                                   f'{self.sync_timeout_s:.0f} s: {store.write_error}')
        t1 = time.perf_counter()
        target = self._others_rows(rid)

        def missing() -> int:
            known = me.known_version.copy()
            return sum(known.get(nid, 0) < v for nid, v in target.items())

        wait = SyncWait(flush_ms=(t1 - t0) * 1000.0, rows_behind=missing())
        deadline = t1 + self.sync_timeout_s
        while missing() and time.perf_counter() < deadline:
            time.sleep(0.002)
        if missing():
            wait.fallback = True
            me.sync_now()
            end = time.perf_counter() + self.sync_timeout_s
            while missing() and time.perf_counter() < end:
                time.sleep(0.01)
        wait.missing = missing()
        wait.wait_ms = (time.perf_counter() - t1) * 1000.0
        return wait

    # ---- the episode -----------------------------------------------------------------
    def begin_episode(self, sim: Simulator, episode: Episode) -> None:
        """Every robot's memory and robot; both start where the home puts the robot; explore."""
        self._check_sim(sim)
        self.task_index = {t.task_id: i for i, t in enumerate(episode.tasks)}
        start = sim.robot.pose()
        for rid in self.robots:
            self.seats[rid].begin_episode(sim, episode)
            self.bodies[rid] = Body(start, sim.robot.waypoint, sim.robot.tilt)
            self.paths[rid]['explore'].append((round(start[0], 3), round(start[1], 3)))
        self._record_path(sim)
        if not self.explore:
            return
        shares = split_rooms(sim.rooms(), self.robots)
        for rid in self.robots:
            self._place(sim, rid)
            t0 = sim.time
            for room in shares[rid]:
                result = self.seats[rid].robot.execute(SkillCall('explore', area=room))
                self.explored[rid].append(room)
                self.progress(f'[explore] robot {rid}: {room}'
                              + ('' if result.success else f' (failed: {result.reason})'))
            self.exploration_s[rid] = sim.time - t0
        self.phase = 'tasks'

    def assignment(self, index: int) -> str:
        """The robot that plays task `index` (0-based): a, b, a, b, ..."""
        return self.robots[index % len(self.robots)]

    def play(self, sim: Simulator, task: Task, scorer: TaskScorer) -> TaskRecord:
        """Hear the others, put the body where the task's robot is, let its planner play."""
        self.phase = 'tasks'
        rid = self.assignment(self.task_index[task.task_id])
        sync = self.hear(rid)
        self._place(sim, rid)
        before = _objects(sim)
        known = self._known_positions(rid, before)
        record = self.seats[rid].play(sim, task, scorer)
        after = _objects(sim)
        moved = _changed(before, after)
        for oid in moved:
            placed = self.placed_by.get(oid)
            if placed is not None and placed[0] != rid:
                error = known.get(oid)
                self.handoffs.append(HandOff(
                    task.task_id, rid, oid, after[oid][0], placed[0], placed[1],
                    error is not None and error <= KNOWN_M,
                    None if error is None else round(error, 3)))
        for oid in moved:
            if math.dist(before[oid][2], after[oid][2]) >= MOVED_M \
                    or before[oid][1] != after[oid][1]:
                self.placed_by[oid] = (rid, task.task_id)
        store = self.stores[rid].stats()
        self.tasks.append(FleetTask(
            task.task_id, rid, task.instruction, explorations=record.explorations,
            stale_hits=record.stale_hits, skills=record.skills,
            wall_time_s=record.wall_time_s, sync=sync, moved=sorted(moved),
            error=record.error,
            store={k: store[k] for k in ('pending_writes', 'commits', 'applied_batches',
                                         'write_ms_p50', 'write_ms_p95', 'failed_commits')}))
        return record

    def _known_positions(self, rid: str, objects: dict[str, tuple]) -> dict[str, float]:
        """How far `rid`'s memory is from the objects another robot placed last.

        Object id -> distance (m) from its true centre to `rid`'s nearest confirmed node of
        its type.
        """
        memory = self.seats[rid].setup.memory
        out: dict[str, float] = {}
        with memory.lock:
            for oid, (kind, _parent, pos, _states) in objects.items():
                placed = self.placed_by.get(oid)
                if placed is None or placed[0] == rid:
                    continue
                dists = [math.dist(tuple(n.position[:3]), pos)
                         for n in memory.ltm.by_label(kind) if n.status == 'confirmed']
                if dists:
                    out[oid] = min(dists)
        return out

    def end_episode(self, sim: Simulator, record: EpisodeRecord) -> None:
        """Scores into the per-task figures; every store flushed and heard; sizes."""
        scored = {t.task_id: t for t in record.tasks}
        for fleet_task in self.tasks:
            fleet_task.success = scored[fleet_task.task_id].success
            fleet_task.goal_condition_rate = scored[fleet_task.task_id].goal_condition_rate
        self._park(sim)
        self.current = None
        # Applying the others' rows may write again (a merge, a relation): rounds until
        # no robot has anything queued.
        for _ in range(4):
            for rid in self.robots:
                self.stores[rid].flush(self.sync_timeout_s)
            for rid in self.robots:
                self.hear(rid)
            if not any(s.pending_writes for s in self.stores.values()):
                break
        record.memory_nodes = max(len(s.setup.memory.ltm.graph.nodes)
                                  for s in self.seats.values())
        for seat in self.seats.values():
            record.fusion_ms += seat.robot.counters.fusion_ms
            record.perception_ms += seat.robot.counters.perception_ms
            record.frames += seat.robot.counters.frames

    def close(self) -> None:
        """Close every robot's memory (its store writes what is queued first)."""
        for seat in self.seats.values():
            setup = getattr(seat, 'setup', None)
            if setup is not None and setup.memory is not None:
                setup.memory.close()
            else:
                seat.store.close()
        if self._probe is not None:
            self._probe.close()
            self._probe = None


def _objects(sim: Simulator) -> dict[str, tuple]:
    """Pickupable object id -> (type, parent, centre, states), from ground truth."""
    return {oid: (t.object_type, t.parent, tuple(t.position), dict(t.states))
            for oid, t in sim.ground_truth().items() if t.pickupable}


def _changed(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    """Objects a task moved (MOVED_M, or a new parent) or whose states it changed."""
    out = set()
    for oid, (_, parent, pos, states) in after.items():
        old = before.get(oid)
        if old is None or old[1] != parent or math.dist(old[2], pos) >= MOVED_M \
                or old[3] != states:
            out.add(oid)
    return out


def run_fleet_episode(sim: Simulator, episode: Episode, dsn: str, *,
                      robots: Sequence[str] = ROBOTS, text_embeddings: str = 'minilm',
                      runner_config: RunnerConfig | None = None, poll_s: float = 1.0,
                      sync_timeout_s: float = 5.0, explore: bool = True,
                      progress: Progress | None = None) -> FleetResult:
    """Play `episode` with `robots` sharing the memory at `dsn` (see the module docstring).

    The database should hold no memory yet (a fresh database or schema): the robots start
    from what it holds.
    """
    say = progress or (lambda _line: None)
    player = FleetPlayer(dsn, robots, text_embeddings=text_embeddings,
                         runner_config=runner_config, poll_s=poll_s,
                         sync_timeout_s=sync_timeout_s, explore=explore, progress=say)
    try:
        def on_task(record: TaskRecord) -> None:
            played = [t for t in player.tasks if t.task_id == record.task_id]
            if not played:  # no sub-goal could be mapped: failed, nobody played it
                say(f'[task] {record.task_id}: FAILED, not playable ({record.error})')
                return
            t = played[-1]
            t.success, t.goal_condition_rate = record.success, record.goal_condition_rate
            say(f'[task {player.task_index[t.task_id] + 1}/{len(episode.tasks)}] robot {t.robot} '
                f'{record.task_id}: {"ok" if record.success else "FAILED"} '
                f'({t.explorations} explorations, {t.stale_hits} stale, heard the others in '
                f'{t.sync.wait_ms:.0f} ms) {record.instruction}')

        record = run_episode(sim, episode, player, on_task=on_task)
        stores = {rid: s.stats() for rid, s in player.stores.items()}
        pending = sum(s.pending_writes for s in player.stores.values())
        nodes = {rid: len(seat.setup.memory.ltm.graph.nodes)
                 for rid, seat in player.seats.items()}
        confirmed = {rid: sorted(n.id for n in seat.setup.memory.ltm.graph.nodes.values()
                                 if n.layer in ('object', 'furniture')
                                 and n.status == 'confirmed')
                     for rid, seat in player.seats.items()}
    finally:
        player.close()
    return FleetResult(episode.episode_id, tuple(robots), record, player.tasks,
                       player.explored, player.exploration_s, player.handoffs, stores,
                       pending, nodes, confirmed, player.paths)


def run_single_baseline(sim: Simulator, episode: Episode, *, text_embeddings: str = 'minilm',
                        runner_config: RunnerConfig | None = None,
                        progress: Progress | None = None) -> EpisodeRecord:
    """The same episode played by one robot alone (`ltm+stm`, its own memory)."""
    say = progress or (lambda _line: None)
    n = len(episode.tasks)
    count = [0]

    def on_task(record: TaskRecord) -> None:
        count[0] += 1
        say(f'[single {count[0]}/{n}] {record.task_id}: '
            f'{"ok" if record.success else "FAILED"} ({record.explorations} explorations, '
            f'{record.stale_hits} stale) {record.instruction}')

    return run_memory_episode(sim, episode, 'ltm+stm', text_embeddings=text_embeddings,
                              runner_config=runner_config, on_task=on_task)


# ---- the picture ---------------------------------------------------------------------
COLOURS = ('tab:blue', 'tab:orange', 'tab:green', 'tab:purple')


def plot_fleet(sim: Simulator, result: FleetResult, out: str | Path) -> Path:
    """Top-down map: rooms each robot explored, each robot's paths, the hand-offs."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from sim.topdown import draw_home, topdown_size

    home = sim.home
    truth = {oid: t.position for oid, t in sim.ground_truth().items()}
    fig, ax = plt.subplots(figsize=topdown_size(home))
    draw_home(ax, home, positions=truth, show_graph=False)
    rooms = sim.rooms()
    for i, rid in enumerate(result.robots):
        colour = COLOURS[i % len(COLOURS)]
        for room in result.explored.get(rid, []):
            x0, y0, x1, y1 = rooms[room]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=colour, alpha=0.18,
                                   edgecolor=colour, lw=2, hatch='//' if i % 2 else '\\\\',
                                   zorder=1))
        for phase, style, width in (('explore', ':', 1.2), ('tasks', '-', 2.0)):
            path = result.paths.get(rid, {}).get(phase, [])
            if len(path) > 1:
                xs, ys = zip(*path)
                ax.plot(xs, ys, style, color=colour, lw=width, alpha=0.9, zorder=12,
                        label=f'robot {rid} {"exploring" if phase == "explore" else "tasks"}')
        start = result.paths.get(rid, {}).get('explore', [])[:1]
        if start:
            ax.scatter([start[0][0]], [start[0][1]], s=90, marker='s', color=colour,
                       edgecolor='k', zorder=13)
    for h in result.handoffs:
        if h.object_id in truth:
            x, y, _ = truth[h.object_id]
            ax.scatter([x], [y], s=220, marker='*', color='gold', edgecolor='k', zorder=14)
            ax.annotate(f'{h.object_type}: placed by {h.placed_by}, used by {h.robot}',
                        (x, y), xytext=(6, -12), textcoords='offset points', fontsize=7,
                        weight='bold', zorder=15)
    ax.legend(loc='upper right', fontsize=7)
    ax.set_title(f'{result.episode_id}: robots {", ".join(result.robots)} share one memory; '
                 f'success {result.success_rate:.0%} ({len(result.handoffs)} hand-offs); '
                 'hatched: rooms each robot explored')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches='tight')
    plt.close(fig)
    return out
