"""Crashes and damaged memory files, measured with real processes and real SQLite files.

Three parts (issue 19, item 3):

- **kill loop**: a memory node process (with `database_path`) fuses a synthetic home fed
  at 10 Hz (ObjectObservationArray: one new object per frame, each seen in three frames,
  so objects keep being confirmed) and is killed with SIGKILL at a random moment of its
  fusion, then restarted, `cycles` times. *Confirmed before the kill* is defined by the
  database: every object row with status confirmed that a reader saw committed just
  before the kill, and every such row the file holds once the process is dead (SQLite's
  own answer to "what was committed"). After each restart the node's served graph
  (GetSceneGraph, full) must hold every one of them (following merges): a missing one is
  `lost_confirmed`. `PRAGMA integrity_check` runs on the file after every kill.
- **planner kill**: the planner is killed while an ExecuteTask goal runs (skills served
  slowly by a stand-in skill server); the client must see the goal lost (not hang), and
  the restarted planner must run the next task.
- **damaged files**: random bytes and a real memory.db cut to half as `database_path`
  (with and without a snapshot next to it), a read-only directory, a full disk, a
  truncated and a wrongly typed JSON snapshot for LoadMemory and `memory at --file`:
  each must give a clear error naming the file and the cause, keep the damaged file
  (moved aside), recover what reads and serve it.

DDS stays on loopback (`ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` is forced here).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.launch.ros_env import remove_stale_shm_segments

ROOT = Path(__file__).resolve().parents[3]
LABELS = ('Apple', 'Mug', 'Bowl', 'Book', 'Plate', 'Cup', 'Vase', 'Pen', 'Box', 'Bottle')
RATE_HZ = 10.0
#: Frames each synthetic object is seen in (confirmation needs two).
WINDOW = 3


def ros_env() -> dict[str, str]:
    """Environment for child nodes: loopback DDS, this process's domain, our code."""
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 100)))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    env['PYTHONUNBUFFERED'] = '1'
    return env


# ---- processes -------------------------------------------------------------------------
class NodeProc:
    """One node in its own process; its output kept for checks."""

    def __init__(self, module: str, params: dict[str, Any], env: dict[str, str]) -> None:
        argv = [sys.executable, '-m', module, '--ros-args']
        for key, value in params.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            argv += ['-p', f'{key}:={text}']
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, ''):
            self.lines.append(line)

    def output(self) -> str:
        """Everything the process printed so far."""
        return ''.join(self.lines)

    def wait_for(self, text: str, timeout: float = 60.0) -> bool:
        """True once `text` was printed; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            if self.proc.poll() is not None:
                self._reader.join(timeout=2)
                return any(text in line for line in self.lines)
            time.sleep(0.02)
        return False

    def kill9(self) -> None:
        """SIGKILL, as a crash or the OOM killer would.

        A killed Fast DDS process leaves its shared-memory segment in /dev/shm (RAM, 16 MiB
        with the stack's profile): a hundred kills would leak 1.7 GB, so the segments of
        dead processes are removed after each kill, as the launcher does at start-up.
        """
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        remove_stale_shm_segments(min_age_s=5.0)

    def stop(self) -> int:
        """SIGINT (Ctrl-C), then SIGKILL after 15 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=2)
        return self.proc.returncode


def memory_node(db: Path | str, env: dict[str, str], **extra: Any) -> NodeProc:
    """A memory node process on `db` (hashing text embeddings: no model to load)."""
    # Snapshots (the fallback of a damaged database) only next to the database.
    params = {'database_path': str(db), 'text_embeddings': 'hashing',
              'reliable_sensors': True, 'publish_period': 0.5,
              'default_save_path': str(Path(db).parent / 'memory_snapshot.json.gz'),
              **extra}
    return NodeProc('memory_nodes.ros.memory_node', params, env)


# ---- the synthetic home --------------------------------------------------------------
def object_at(k: int) -> tuple[str, tuple[float, float, float]]:
    """Label and centre of synthetic object `k` (a 40-wide grid, 0.6 m apart)."""
    return LABELS[k % len(LABELS)], (0.6 * (k % 40), 0.6 * (k // 40), 0.8)


def frame_objects(frame: int) -> list[int]:
    """Objects seen in frame `frame`: the newest `WINDOW` ones."""
    return [k for k in range(frame - WINDOW + 1, frame + 1) if k >= 0]


def observations_msg(frame: int, stamp: float, points: int = 24):  # noqa: ANN201
    """The ObjectObservationArray of one frame (frame `map`)."""
    from embodied_memory_msgs.msg import ObjectObservationArray

    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.ros import conversions as conv

    rng = np.random.default_rng(frame)
    msg = ObjectObservationArray()
    msg.header.frame_id = 'map'
    msg.header.stamp = conv.seconds_to_stamp(stamp)
    for k in frame_objects(frame):
        label, centre = object_at(k)
        pts = np.asarray(centre) + rng.uniform(-0.04, 0.04, (points, 3))
        msg.observations.append(conv.observation_to_msg(
            ObjectObservation(label=label, score=0.9, points=pts, stamp=stamp)))
    return msg


def synthetic_memory(path: Path, frames: int = 60) -> int:
    """A real memory database of the synthetic home, closed cleanly; its stored nodes."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.observation import ObjectObservation

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    cfg.persistence.checkpoint_interval_s = 0.0
    mem = LongTermMemory(cfg, db_path=path)
    rng = np.random.default_rng(0)
    for f in range(frames):
        obs = []
        for k in frame_objects(f):
            label, centre = object_at(k)
            pts = np.asarray(centre) + rng.uniform(-0.04, 0.04, (24, 3))
            obs.append(ObjectObservation(label=label, score=0.9, points=pts,
                                         stamp=1.0 + f / RATE_HZ))
        mem.integrate(obs)
    mem.close()
    conn = sqlite3.connect(path)
    try:  # what the file holds (tentative nodes are not written)
        return conn.execute('SELECT count(*) FROM nodes').fetchone()[0]
    finally:
        conn.close()


# ---- reading the committed state -----------------------------------------------------
def committed_objects(db: Path) -> set[str]:
    """Ids of the confirmed object rows committed in `db` (a read-only reader)."""
    conn = sqlite3.connect(f'{db.resolve().as_uri()}?mode=ro', uri=True, timeout=5.0)
    try:
        return {r[0] for r in conn.execute(
            "SELECT id FROM nodes WHERE layer='object' AND status='confirmed'")}
    finally:
        conn.close()


def integrity(db: Path) -> str:
    """`PRAGMA integrity_check` of `db` ('ok' when healthy), read-only."""
    conn = sqlite3.connect(f'{db.resolve().as_uri()}?mode=ro', uri=True, timeout=5.0)
    try:
        return '; '.join(r[0] for r in conn.execute('PRAGMA integrity_check'))
    except sqlite3.Error as exc:
        return f'error: {exc}'
    finally:
        conn.close()


def sha256(path: Path) -> str:
    """Hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- the operator side: one rclpy node in a private context ----------------------------
class Operator:
    """Feeds observations, watches fusion, calls GetSceneGraph, plays the skill server."""

    def __init__(self, skill_delay: float = 0.5) -> None:
        import rclpy
        from embodied_memory_msgs.action import ExecuteTask
        from embodied_memory_msgs.msg import ObjectObservationArray
        from embodied_memory_msgs.srv import ExecuteSkill, GetSceneGraph, LoadMemory
        from rclpy.action import ActionClient
        from rclpy.callback_groups import ReentrantCallbackGroup
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from std_msgs.msg import Header

        from memory_nodes.ros.qos import LATCHED

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node('crash_operator', context=self.ctx)
        group = ReentrantCallbackGroup()
        self.pub = self.node.create_publisher(
            ObjectObservationArray, 'observations',
            QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.fused = 0.0
        self.node.create_subscription(Header, 'memory/fused', self._on_fused, LATCHED,
                                      callback_group=group)
        self.graph = self.node.create_client(GetSceneGraph, 'get_scene_graph',
                                             callback_group=group)
        self.load = self.node.create_client(LoadMemory, 'load_memory', callback_group=group)
        self.skill_delay = skill_delay
        self.skills = 0
        self.node.create_service(ExecuteSkill, 'execute_skill', self._on_skill,
                                 callback_group=group)
        self.action = ActionClient(self.node, ExecuteTask, 'execute_task',
                                   callback_group=group)
        self.frame = 0
        self.feeding = False
        self.node.create_timer(1.0 / RATE_HZ, self._tick, callback_group=group)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.ctx)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_fused(self, msg) -> None:  # noqa: ANN001
        from memory_nodes.ros import conversions as conv

        self.fused = max(self.fused, conv.stamp_to_seconds(msg.stamp))

    def _tick(self) -> None:
        if not self.feeding:
            return
        self.pub.publish(observations_msg(self.frame, 1.0 + self.frame / RATE_HZ))
        self.frame += 1

    def _on_skill(self, request, response):  # noqa: ANN001, ANN201
        """A slow skill server that always succeeds (the planner under test is real)."""
        self.skills += 1
        time.sleep(self.skill_delay)
        response.error_code = response.SUCCESS
        response.holding = request.target_label if request.skill == 'pick_up' else ''
        return response

    def wait_fused_after(self, stamp: float, timeout: float) -> bool:
        """True once memory reported a fused frame stamped after `stamp`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fused > stamp:
                return True
            time.sleep(0.02)
        return False

    def call(self, client, request, timeout: float, tries: int = 1):  # noqa: ANN001, ANN201
        """A service call, resent up to `tries` times (a new server may not be matched yet)."""
        for i in range(tries):
            if not client.wait_for_service(timeout_sec=timeout):
                continue
            future = client.call_async(request)
            done = threading.Event()
            future.add_done_callback(lambda _f, ev=done: ev.set())
            # A request sent before the new server matched is lost: resend soon, then
            # wait longer (a big answer takes time).
            if done.wait(min(timeout, 0.5 * 2 ** i)):
                return future.result()
            client.remove_pending_request(future)
        return None

    def served_graph(self, timeout: float = 5.0, tries: int = 10) -> dict | None:
        """The graph the memory node serves (GetSceneGraph, full), or None."""
        from embodied_memory_msgs.srv import GetSceneGraph

        reply = self.call(self.graph, GetSceneGraph.Request(mode=GetSceneGraph.Request.MODE_FULL),
                          timeout, tries)
        if reply is None or reply.error_code != 0:
            return None
        return json.loads(reply.json)

    def close(self) -> None:
        """Stop spinning and leave the private context."""
        import rclpy

        self.feeding = False
        self.executor.shutdown()
        self.thread.join(timeout=5)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


def served_ids(graph: dict) -> tuple[set[str], dict[str, str]]:
    """Node ids and merges of a GetSceneGraph full answer."""
    return {n['id'] for n in graph.get('nodes', [])}, dict(graph.get('merged_into') or {})


def resolve(nid: str, merged: dict[str, str]) -> str:
    """Follow merges to the id that holds a node now."""
    for _ in range(64):
        if nid not in merged:
            break
        nid = merged[nid]
    return nid


# ---- the kill loop ---------------------------------------------------------------------
@dataclass
class KillLoopResult:
    """What the kill loop measured."""

    cycles: int = 0
    lost_confirmed: int = 0
    lost_ids: list[str] = field(default_factory=list)
    committed_not_durable: int = 0
    integrity_failures: int = 0
    start_failures: int = 0
    false_damage: int = 0
    checked_objects: int = 0
    start_s: list[float] = field(default_factory=list)
    cycle_s: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def kill_loop(op: Operator, workdir: Path, cycles: int, env: dict[str, str],
              seed: int = 0, log: Callable[[str], None] | None = None) -> KillLoopResult:
    """Kill -9 the memory node `cycles` times while it fuses; check after each restart."""
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / 'memory.db'
    res = KillLoopResult()
    expected: set[str] = set()
    op.feeding = True
    for cycle in range(cycles + 1):
        t0 = time.monotonic()
        proc = memory_node(db, env)
        if not proc.wait_for('memory ready', 60.0):
            res.start_failures += 1
            res.notes.append(f'cycle {cycle}: the node did not start:\n{proc.output()[-2000:]}')
            proc.kill9()
            break
        res.start_s.append(time.monotonic() - t0)
        if expected:
            graph = op.served_graph()
            if graph is None:
                res.start_failures += 1
                res.notes.append(f'cycle {cycle}: GetSceneGraph did not answer')
            else:
                ids, merged = served_ids(graph)
                missing = sorted(n for n in expected if resolve(n, merged) not in ids)
                res.lost_confirmed += len(missing)
                res.lost_ids += missing[:10]
                res.checked_objects += len(expected)
        if cycle == cycles:
            proc.stop()
            break
        # Kill at a random moment while frames are being fused.
        if not op.wait_fused_after(op.fused, 20.0):
            res.notes.append(f'cycle {cycle}: no frame fused within 20 s')
        time.sleep(rng.uniform(0.05, 0.8))
        try:
            before = committed_objects(db)
        except sqlite3.Error as exc:
            before = set()
            res.notes.append(f'cycle {cycle}: reader failed before the kill: {exc}')
        proc.kill9()
        check = integrity(db)
        if check != 'ok':
            res.integrity_failures += 1
            res.notes.append(f'cycle {cycle}: integrity_check: {check[:300]}')
        after = committed_objects(db)
        res.committed_not_durable += len(before - after)
        expected = before | after
        res.cycles += 1
        res.cycle_s.append(time.monotonic() - t0)
        if log is not None and (cycle % 10 == 0 or cycle < 3):
            log(f'kill cycle {cycle}: {len(expected)} confirmed objects committed, start '
                f'{res.start_s[-1]:.2f} s, cycle {res.cycle_s[-1]:.2f} s')
    op.feeding = False
    res.false_damage = len(list(workdir.glob('*.corrupt-*')))
    return res


# ---- the planner kill ------------------------------------------------------------------
@dataclass
class PlannerKillResult:
    """What the planner kill measured."""

    goal_lost_reported: bool = False
    detect_s: float = float('nan')
    next_task_ran: bool = False
    next_task_success: bool = False
    next_task_skills: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The abort was reported and the restarted planner ran the next task."""
        return self.goal_lost_reported and self.next_task_ran


def _send_goal(op: Operator, goals: list[str], timeout: float, tries: int = 4):  # noqa: ANN202
    from embodied_memory_msgs.action import ExecuteTask

    for _ in range(tries):
        if not op.action.wait_for_server(timeout_sec=timeout):
            continue
        future = op.action.send_goal_async(ExecuteTask.Goal(goal_conditions=goals))
        done = threading.Event()
        future.add_done_callback(lambda _f, ev=done: ev.set())
        if done.wait(timeout) and future.result().accepted:
            return future.result()
    return None


def planner_kill(op: Operator, workdir: Path, env: dict[str, str]) -> PlannerKillResult:
    """Kill -9 the planner mid-task; the goal must be reported lost, the next task run."""
    from memory_nodes.ros.stack_client import GoalLost, wait_result

    workdir.mkdir(parents=True, exist_ok=True)
    res = PlannerKillResult()
    memory = memory_node(workdir / 'memory.db', env)
    planner = None
    try:
        if not memory.wait_for('memory ready', 60.0):
            res.notes.append('memory node did not start:\n' + memory.output()[-2000:])
            return res
        op.feeding = True
        op.wait_fused_after(op.fused, 20.0)
        time.sleep(1.0)  # a few objects confirmed
        op.feeding = False
        planner = NodeProc('memory_nodes.ros.planner_node', {'skill_timeout': 10.0}, env)
        if not planner.wait_for('planner ready', 60.0):
            res.notes.append('planner did not start:\n' + planner.output()[-2000:])
            return res
        handle = _send_goal(op, ['HOLDING(Apple)'], 10.0)
        if handle is None:
            res.notes.append('the first goal was not accepted')
            return res
        skills = op.skills
        deadline = time.monotonic() + 20
        while op.skills == skills and time.monotonic() < deadline:
            time.sleep(0.02)
        planner.kill9()
        t_kill = time.monotonic()
        try:
            wait_result(op.action, handle, 120.0)
            res.notes.append('a result arrived from a killed planner')
        except GoalLost:
            res.goal_lost_reported = True
            res.detect_s = time.monotonic() - t_kill
        except TimeoutError:
            res.notes.append('the lost goal was never reported (120 s)')
        planner = NodeProc('memory_nodes.ros.planner_node', {'skill_timeout': 10.0}, env)
        if not planner.wait_for('planner ready', 60.0):
            res.notes.append('restarted planner did not start:\n' + planner.output()[-2000:])
            return res
        handle = _send_goal(op, ['HOLDING(Mug)'], 10.0)
        if handle is None:
            res.notes.append('the restarted planner accepted no goal')
            return res
        try:
            result = wait_result(op.action, handle, 120.0).result
            res.next_task_ran = True
            res.next_task_success = bool(result.success)
            res.next_task_skills = len(result.executed_skills)
        except (GoalLost, TimeoutError) as exc:
            res.notes.append(f'the next task did not finish: {exc}')
    finally:
        op.feeding = False
        if planner is not None:
            planner.stop()
        memory.stop()
    return res


# ---- damaged files ---------------------------------------------------------------------
@dataclass
class Case:
    """One damaged-file case and whether the system handled it as it must."""

    name: str
    ok: bool
    detail: str


def _node_case(name: str, db: Path, env: dict[str, str], op: Operator,
               expect_in_log: list[str], min_nodes: int, moved: bool,
               original: bytes | None) -> Case:
    """Start a memory node on `db`; check its log, what it serves, the kept file."""
    proc = memory_node(db, env)
    try:
        if not proc.wait_for('memory ready', 60.0):
            return Case(name, False, 'node did not start: ' + proc.output()[-1500:])
        graph = op.served_graph()
        alive = proc.proc.poll() is None
    finally:
        code = proc.stop()
    served = len(graph['nodes']) if graph else -1
    log = proc.output()
    missing = [t for t in expect_in_log if t not in log]
    aside = sorted(db.parent.glob(db.name + '.corrupt-*'))
    kept = bool(aside) and (original is None or aside[0].read_bytes() == original)
    # Exit code -9: it did not stop within 15 s of Ctrl-C (reported in the detail; the
    # case is about the damaged file, not the shutdown).
    clean_exit = code in (0, -9) and 'Traceback' not in log
    ok = (not missing and served >= min_nodes and alive and clean_exit
          and (kept if moved else not aside))
    line = next((ln.strip() for ln in proc.lines if 'memory database' in ln), '')
    return Case(name, ok, f'serves {served} nodes; moved aside: '
                          f'{aside[0].name if aside else "no"}; exit {code}; log: {line[:300]}'
                          + (f'; missing in log: {missing}' if missing else ''))


def _try_mount_tmpfs(path: Path, size_kb: int, read_only: bool = False) -> bool:
    if os.geteuid() != 0 or shutil.which('mount') is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    opts = f'size={size_kb}k' + (',ro' if read_only else '')
    return subprocess.run(['mount', '-t', 'tmpfs', '-o', opts, 'tmpfs', str(path)],
                          capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(['umount', str(path)], capture_output=True)


def make_read_only(directory: Path) -> Callable[[], None] | None:
    """Make `directory` read-only for this process (root: a read-only bind mount).

    Returns the undo, or None when it cannot be done here.
    """
    if os.geteuid() == 0:
        if shutil.which('mount') is None:
            return None
        if subprocess.run(['mount', '--bind', str(directory), str(directory)],
                          capture_output=True).returncode != 0:
            return None
        if subprocess.run(['mount', '-o', 'remount,bind,ro', str(directory)],
                          capture_output=True).returncode != 0:
            _umount(directory)
            return None
        return lambda: _umount(directory)
    mode = directory.stat().st_mode
    directory.chmod(0o555)
    return lambda: directory.chmod(mode)


def damaged_cases(op: Operator, workdir: Path, env: dict[str, str]) -> list[Case]:
    """Every damaged-file case against a real memory node (and the CLI)."""
    cases: list[Case] = []
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)

    d = workdir / 'random_bytes'
    d.mkdir()
    junk = rng.integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes()
    (d / 'memory.db').write_bytes(junk)
    cases.append(_node_case('random bytes as database_path', d / 'memory.db', env, op,
                            ['is damaged', 'NOTHING COULD BE RECOVERED'], 1, True, junk))

    d = workdir / 'half_cut'
    d.mkdir()
    total = synthetic_memory(d / 'memory.db')
    data = (d / 'memory.db').read_bytes()
    half = data[:len(data) // 2]
    (d / 'memory.db').write_bytes(half)
    case = _node_case('memory.db cut to half its size', d / 'memory.db', env, op,
                      ['is damaged', 'recovered'], 2, True, half)
    case.detail += f' (of {total} before the cut)'
    cases.append(case)

    d = workdir / 'random_with_snapshot'
    d.mkdir()
    src = workdir / 'snapshot_source.db'
    total = synthetic_memory(src)
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    snap = LongTermMemory.load(src, cfg)
    snap.save(d / 'memory_snapshot.json.gz')
    (d / 'memory.db').write_bytes(junk)
    cases.append(_node_case('random bytes, snapshot next to it', d / 'memory.db', env, op,
                            ['is damaged', 'memory_snapshot.json.gz'], total, True, junk))

    d = workdir / 'read_only_dir'
    d.mkdir()
    total = synthetic_memory(d / 'memory.db')
    digest = sha256(d / 'memory.db')
    undo = make_read_only(d)
    if undo is None:
        cases.append(Case('read-only directory', False, 'could not make a read-only directory'))
    else:
        try:
            case = _node_case('read-only directory', d / 'memory.db', env, op,
                              ['cannot be written', 'NOT SAVED'], total, False, None)
        finally:
            undo()
        if sha256(d / 'memory.db') != digest:
            case.ok, case.detail = False, case.detail + '; the file was modified'
        cases.append(case)

    cases.append(full_disk_case(op, workdir / 'full_disk', env))
    cases += load_memory_cases(op, workdir / 'load', env)
    cases += cli_cases(workdir / 'cli', env, junk)
    return cases


def full_disk_case(op: Operator, d: Path, env: dict[str, str]) -> Case:
    """A disk that fills while the node fuses: logged, served, nothing lost, resumes."""
    name = 'full disk during operation'
    mounted = _try_mount_tmpfs(d, 640)
    if not mounted:
        d.mkdir(parents=True, exist_ok=True)
        return _full_by_page_limit(d)
    try:
        ballast = d / 'ballast'
        proc = memory_node(d / 'memory.db', env, **{'ltm.persistence.checkpoint_interval_s': 0.2})
        try:
            if not proc.wait_for('memory ready', 60.0):
                return Case(name, False, 'node did not start: ' + proc.output()[-1500:])
            op.feeding = True
            op.wait_fused_after(op.fused, 20.0)
            time.sleep(1.0)
            free = shutil.disk_usage(d).free
            ballast.write_bytes(b'\0' * max(0, free - 48 * 1024))
            if not proc.wait_for('cannot write the memory database', 30.0):
                return Case(name, False, 'no write error logged: ' + proc.output()[-1500:])
            stamp = op.fused
            served_while_full = op.wait_fused_after(stamp, 10.0) and \
                op.served_graph() is not None
            committed = committed_objects(d / 'memory.db')
            ballast.unlink()
            resumed = proc.wait_for('writes resumed', 30.0)
            time.sleep(1.0)
            op.feeding = False
            after = committed_objects(d / 'memory.db')
            alive = proc.proc.poll() is None
        finally:
            op.feeding = False
            proc.stop()
        check = integrity(d / 'memory.db')
        ok = served_while_full and resumed and alive and committed <= after and check == 'ok'
        line = next((ln.strip() for ln in proc.lines if 'cannot write' in ln), '')
        return Case(name, ok, f'tmpfs 640 kB; served while full: {served_while_full}; '
                              f'resumed: {resumed}; committed kept: {committed <= after}; '
                              f'integrity: {check}; log: {line[:240]}')
    finally:
        _umount(d)


def _full_by_page_limit(d: Path) -> Case:
    """No tmpfs here: SQLite's page limit plays the full disk (in-process, real file)."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.observation import ObjectObservation

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    mem = LongTermMemory(cfg, db_path=d / 'memory.db')
    pages = mem.store.conn.execute('PRAGMA page_count').fetchone()[0]
    mem.store.conn.execute(f'PRAGMA max_page_count={pages + 2}')
    rng = np.random.default_rng(0)
    for f in range(80):
        obs = [ObjectObservation(object_at(k)[0], 0.9, np.asarray(object_at(k)[1])
                                 + rng.uniform(-0.04, 0.04, (24, 3)), 1.0 + f)
               for k in frame_objects(f)]
        mem.integrate(obs)
    failing = mem.store.write_error
    committed = committed_objects(d / 'memory.db')
    served = len(mem.by_label('apple'))
    mem.store.conn.execute('PRAGMA max_page_count=1000000')
    mem.integrate([])
    mem._commit()
    resumed = not mem.store.write_error
    mem.close()
    after = committed_objects(d / 'memory.db')
    ok = bool(failing) and resumed and committed <= after and served > 0
    return Case('full disk during operation', ok,
                f'SQLite max_page_count (no tmpfs); error: {failing[:120]}; resumed: '
                f'{resumed}; committed kept: {committed <= after}')


def load_memory_cases(op: Operator, d: Path, env: dict[str, str]) -> list[Case]:
    """LoadMemory of a truncated and of a wrongly typed snapshot: error, memory unchanged."""
    from embodied_memory_msgs.srv import LoadMemory

    d.mkdir(parents=True, exist_ok=True)
    src = d / 'source.db'
    synthetic_memory(src)
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    LongTermMemory.load(src, cfg).save(d / 'good.json.gz')
    good = gzip.decompress((d / 'good.json.gz').read_bytes())
    (d / 'truncated.json.gz').write_bytes((d / 'good.json.gz').read_bytes()[:2000])
    (d / 'truncated.json').write_bytes(good[:len(good) // 2])
    wrong = json.loads(good)
    wrong['nodes'] = [{'id': 7, 'layer': 'object', 'label': None, 'position': 'here'}]
    (d / 'wrong_types.json').write_text(json.dumps(wrong))
    (d / 'random.db').write_bytes(os.urandom(8192))
    shutil.copy(src, d / 'memory.db')
    proc = memory_node(d / 'memory.db', env)
    cases = []
    try:
        if not proc.wait_for('memory ready', 60.0):
            return [Case('LoadMemory', False, 'node did not start: ' + proc.output()[-1500:])]
        before = op.served_graph()
        for name in ('truncated.json.gz', 'truncated.json', 'wrong_types.json', 'random.db'):
            reply = op.call(op.load, LoadMemory.Request(path=str(d / name)), 10.0, 3)
            after = op.served_graph()
            same = before is not None and after is not None and \
                served_ids(before)[0] == served_ids(after)[0]
            msg = reply.error_msg if reply is not None else 'no answer'
            ok = (reply is not None and reply.error_code != 0 and name in msg and same
                  and proc.proc.poll() is None)
            cases.append(Case(f'LoadMemory {name}', ok, f'error: {msg[:240]}; memory '
                                                        f'unchanged: {same}'))
    finally:
        proc.stop()
    return cases


def cli_cases(d: Path, env: dict[str, str], junk: bytes) -> list[Case]:
    """`embodied-memory memory at --file` on damaged files: exit 2, file and cause named."""
    d.mkdir(parents=True, exist_ok=True)
    (d / 'random.db').write_bytes(junk)
    (d / 'truncated.json.gz').write_bytes(gzip.compress(b'{"schema_version": 2, "nodes"')[:30])
    (d / 'wrong.json').write_text('{"schema_version": 2, "nodes": 5}')
    cases = []
    for name in ('random.db', 'truncated.json.gz', 'wrong.json'):
        path = d / name
        before = path.read_bytes()
        run = subprocess.run([sys.executable, '-m', 'memory_nodes.commands.main', 'memory',
                              'at', '0', '--file', str(path)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        err = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ''
        ok = (run.returncode == 2 and name in err and 'Traceback' not in run.stderr
              and path.read_bytes() == before)
        cases.append(Case(f'memory at --file {name}', ok, err[:240]))
    return cases


# ---- the measurement -------------------------------------------------------------------
def run(quick: bool, out: Path) -> dict:
    """Kill loop, planner kill and damaged files; metrics, table rows and notes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / 'crash_work'
    shutil.rmtree(work, ignore_errors=True)
    env = ros_env()
    cycles = 3 if quick else 100
    t0 = time.monotonic()
    # A fresh operator node per part: after ~100 killed publishers of `memory/fused` the
    # operator's subscription was seen to stop receiving (a note in the kill loop's
    # last cycle; not yet understood), which must not leak into the next part.
    op = Operator()
    try:
        kills = kill_loop(op, work / 'kill', cycles, env,
                          log=lambda s: print(s, file=sys.stderr, flush=True))
    finally:
        op.close()
    t_kill = time.monotonic() - t0
    op = Operator()
    try:
        planner = planner_kill(op, work / 'planner', env)
    finally:
        op.close()
    op = Operator()
    try:
        cases = damaged_cases(op, work / 'damaged', env)
    finally:
        op.close()
    wall = time.monotonic() - t0
    ok_cases = sum(c.ok for c in cases)
    start = sorted(kills.start_s)
    cycle = sorted(kills.cycle_s)

    def median(xs: list[float]) -> float:
        return xs[len(xs) // 2] if xs else float('nan')

    metrics = {
        'kill_cycles': kills.cycles,
        'lost_confirmed': kills.lost_confirmed,
        'integrity_failures': kills.integrity_failures,
        'kill_start_failures': kills.start_failures,
        'kill_checked_objects': kills.checked_objects,
        'memory_start_s_p50': round(median(start), 3),
        'kill_cycle_s_p50': round(median(cycle), 3),
        'planner_kill_ok': int(planner.ok),
        'planner_lost_detect_s': round(planner.detect_s, 2),
        'damaged_file_cases': len(cases),
        'damaged_file_ok': ok_cases,
        'crash_wall_s': round(wall, 1),
    }
    rows = [
        ('kill -9 cycles of the memory node during fusion', kills.cycles),
        ('confirmed objects checked after restarts (sum)', kills.checked_objects),
        ('confirmed objects lost', kills.lost_confirmed),
        ('committed rows gone after the kill', kills.committed_not_durable),
        ('integrity_check failures', kills.integrity_failures),
        ('damaged-file false alarms in the kill loop', kills.false_damage),
        ('memory node start, p50 (s)', round(median(start), 2)),
        ('kill cycle, p50 (s)', round(median(cycle), 2)),
        ('kill loop wall time (s)', round(t_kill, 1)),
        ('planner killed mid-task: goal reported lost', planner.goal_lost_reported),
        ('  seconds until the client knew', round(planner.detect_s, 1)),
        ('  restarted planner ran the next task', planner.next_task_ran),
    ] + [(f'damaged: {c.name}', 'ok' if c.ok else 'FAILED') for c in cases]
    notes = [f'{c.name}: {c.detail}' for c in cases]
    notes += kills.notes[:10] + planner.notes
    if kills.lost_ids:
        notes.append(f'lost ids (first 10): {kills.lost_ids}')
    (out / 'crash.json').write_text(json.dumps(
        {'metrics': metrics, 'rows': rows, 'notes': notes}, indent=1, default=str))
    return {'metrics': metrics, 'rows': rows, 'notes': notes}


def main() -> int:
    """`python -m memory_nodes.evaluation.reliability.crash [--quick] [OUT]`."""
    quick = '--quick' in sys.argv
    args = [a for a in sys.argv[1:] if a != '--quick']
    result = run(quick, Path(args[0]) if args else Path('results/reliability'))
    for what, value in result['rows']:
        print(f'{what:<55} {value}')
    for note in result['notes']:
        print(f'  - {note}')
    print('RESULT ' + ' '.join(f'{k}={v}' for k, v in result['metrics'].items()))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
