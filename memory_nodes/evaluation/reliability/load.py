"""Load: a fleet of clients asking one memory node while it fuses camera frames.

`measure` builds a home of `objects` confirmed objects in a real SQLite file, starts the
memory node on it (its own process, the `memory_only` stack's parameters), publishes
ObjectObservationArray frames into it at `fusion_hz` (re-sightings of objects, some of
them moving), and starts `clients` clients in `processes` processes
(`load_client`), each with its own DDS participant, calling a mix of QueryObjects,
GetSceneGraph and RecallStates for `seconds`. It counts every error (a reply that is not
SUCCESS, a timeout, an exception, a client process that did not report, a node that
died, "database is locked" or a traceback in the node's log) and the client-side round
trip of every call, per service and per kind of request.

`run(quick, out)` is the part of `make bench-reliability` (QUICK=1: a few seconds).
DDS stays on loopback: every process gets ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST.
"""

from __future__ import annotations

import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from memory_nodes.evaluation.reliability.load_client import LABELS, MIX, ROOMS, SERVICE_OF

#: Spacing of the synthetic home's object grid, m.
SPACING = 0.3
#: Lines of the node's log that are errors whatever else happened.
LOG_FAULTS = ('database is locked', 'Traceback', '[ERROR]', 'Segmentation fault')


@dataclass
class LoadConfig:
    """One load test: the memory, the clients, the camera, how long."""

    objects: int = 1000
    clients: int = 16
    processes: int = 16
    seconds: float = 60.0
    rate_hz: float = 10.0          # requests a second per client (exponential think time)
    fusion_hz: float = 5.0
    observations_per_frame: int = 20
    moving_per_frame: int = 2      # of them, objects a person moved (new positions)
    timeout_s: float = 5.0
    ready_timeout_s: float = 120.0
    seed: int = 0


@dataclass
class LoadResult:
    """Everything one load test measured."""

    config: LoadConfig
    nodes: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    log_faults: list[str] = field(default_factory=list)
    node_alive: bool = True
    node_exit: int | None = None
    frames_published: int = 0
    worker: dict[str, Any] = field(default_factory=dict)
    fusion_ms_p95: float = 0.0
    startup_s: float = 0.0
    node_cpu_s: float = 0.0        # CPU the memory node used during the load window
    clients_cpu_s: float = 0.0     # CPU the client processes used during it
    service_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # node-side
    window_s: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)   # the machine's 1-min, before / after

    def service_latencies(self, service: str) -> list[float]:
        """Round trips (ms) of every successful call of `service`."""
        return [v for kind, values in self.latencies.items() if SERVICE_OF[kind] == service
                for v in values]

    @property
    def requests(self) -> int:
        """Calls made, answered or not."""
        return sum(len(v) for v in self.latencies.values()) + len(self.errors)

    @property
    def error_count(self) -> int:
        """Every error: failed calls, faults in the node's log, a dead node."""
        return len(self.errors) + len(self.log_faults) + (0 if self.node_alive else 1)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nan for no values)."""
    return float(np.percentile(values, q)) if values else math.nan


# ---- the memory -------------------------------------------------------------------------
def grid_side(objects: int) -> int:
    """Objects per row of the synthetic home's grid."""
    return max(1, int(math.ceil(math.sqrt(objects))))


def object_centre(i: int, side: int) -> np.ndarray:
    """Where object `i` of the grid stands (on a 0.9 m high surface)."""
    return np.array([(i % side) * SPACING, (i // side) * SPACING, 0.9])


def build_memory(objects: int, db_path: Path, stamp: float, seed: int = 0) -> int:
    """A home of `objects` confirmed objects in four rooms, written to SQLite at `db_path`.

    Each object is seen twice (at `stamp` - 2 and `stamp` - 1) so it is confirmed.
    Returns the node count.
    """
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    rng = np.random.default_rng(seed)
    side = grid_side(objects)
    half = side * SPACING / 2
    with LongTermMemory(cfg, db_path=db_path) as mem:
        for k, name in enumerate(ROOMS):
            x0, y0 = (k % 2) * half - SPACING / 2, (k // 2) * half - SPACING / 2
            mem.define_room(name, (x0, y0, 0.0), (x0 + half, y0 + half, 3.0))
        for frame in range(2):
            batch = []
            for i in range(objects):
                batch.append(_observation(i, side, rng, stamp - 2 + frame))
                if len(batch) == 50:
                    mem.integrate(batch)
                    batch = []
            if batch:
                mem.integrate(batch)
        return len(mem.graph.nodes)


def _observation(i: int, side: int, rng: np.random.Generator, stamp: float,
                 offset: np.ndarray | None = None) -> Any:  # noqa: ANN401
    from memory_nodes.memory.observation import ObjectObservation

    centre = object_centre(i, side) + (0 if offset is None else offset)
    points = centre + rng.uniform(-0.04, 0.04, (40, 3))
    return ObjectObservation(LABELS[i % len(LABELS)], 0.9, points, stamp)


# ---- the camera ---------------------------------------------------------------------------
class FramePublisher:
    """Publishes ObjectObservationArray frames at `hz` on its own thread and context.

    A frame re-sights `per_frame` objects of the grid (a camera sweeping the home);
    `moving` of them are ones a person keeps moving a little, so fusion updates
    positions, relations and the timeline as it does in a lived-in home.
    """

    def __init__(self, objects: int, hz: float, per_frame: int, moving: int,
                 seed: int = 0) -> None:
        import rclpy
        from embodied_memory_msgs.msg import ObjectObservationArray
        from rclpy.signals import SignalHandlerOptions

        from memory_nodes.ros.qos import sensor_qos

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node('load_camera', context=self.ctx)
        self.pub = self.node.create_publisher(ObjectObservationArray, 'observations',
                                              sensor_qos(True))
        self.objects, self.hz = objects, hz
        self.per_frame, self.moving = min(per_frame, objects), min(moving, per_frame)
        self.rng = np.random.default_rng(seed + 1)
        self.published = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def frame(self, stamp: float) -> Any:  # noqa: ANN401 - an ObjectObservationArray
        """One frame of observations stamped `stamp` (wall-clock seconds)."""
        from embodied_memory_msgs.msg import ObjectObservationArray

        from memory_nodes.ros import conversions as conv

        side = grid_side(self.objects)
        seen = self.rng.choice(self.objects, self.per_frame, replace=False)
        msg = ObjectObservationArray()
        msg.header.frame_id = 'map'
        msg.header.stamp = conv.seconds_to_stamp(stamp)
        for n, i in enumerate(seen):
            # Moved objects drift up to a few cm a frame: the same object, a new position.
            offset = (np.array([0.05 * math.sin(stamp + i), 0.05 * math.cos(stamp + i), 0.0])
                      if n < self.moving else None)
            obs = _observation(int(i), side, self.rng, stamp, offset)
            msg.observations.append(conv.observation_to_msg(obs, point_limit=64))
        return msg

    def start(self) -> None:
        """Publish until `stop`."""
        self._thread = threading.Thread(target=self._run, name='load-camera', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = 1.0 / self.hz
        next_t = time.monotonic()
        while not self._stop.is_set():
            self.pub.publish(self.frame(time.time()))
            self.published += 1
            next_t += period
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> None:
        """Stop publishing and shut the context down."""
        import rclpy

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


# ---- processes ----------------------------------------------------------------------------
def loopback_env() -> dict[str, str]:
    """The environment of every process of the test: loopback DDS, our code importable."""
    from memory_nodes.launch.ros_env import ros_environment

    env = ros_environment()
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'  # never off this machine
    root = str(Path(__file__).resolve().parents[3])
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH', '')) if p)
    env['PYTHONUNBUFFERED'] = '1'
    return env


def memory_node_argv(db_path: Path) -> list[str]:
    """The memory node as the `memory_only` stack starts it, on `db_path`."""
    from memory_nodes.launch.launcher import plan

    (proc,) = plan('memory_only', {'memory': {
        'database_path': str(db_path), 'text_embeddings': 'hashing',
        'reliable_sensors': True}})
    return proc.argv


def _wait_for_text(path: Path, text: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors='replace'):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f'the memory node never printed {text!r}; its log '
                       f'({path.name}):\n{path.read_text(errors="replace")[-3000:]}')


class ClientProcess:
    """One `load_client` process and its stdout lines (READY, DONE, or what went wrong)."""

    def __init__(self, index: int, threads: int, cfg: LoadConfig, grid_m: float, out: Path,
                 env: dict[str, str]) -> None:
        self.result_path = out / f'client_{index:02d}.json'
        self.result_path.unlink(missing_ok=True)
        argv = [sys.executable, '-m', 'memory_nodes.evaluation.reliability.load_client',
                '--name', f'load_client_{index:02d}', '--threads', str(threads),
                '--seed', str(cfg.seed * 100 + index), '--rate', str(cfg.rate_hz),
                '--timeout', str(cfg.timeout_s), '--grid', f'{grid_m:.3f}',
                '--ready-timeout', str(cfg.ready_timeout_s), '--out', str(self.result_path)]
        self.threads = threads
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in iter(stream.readline, ''):
            self.output.append(line)
            self.lines.put(line.strip())
        self.lines.put('EOF')

    def wait_for(self, word: str, deadline: float) -> bool:
        """Whether the process printed `word` before `deadline` (monotonic)."""
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if line == word:
                return True
            if line == 'EOF':
                return False

    def go(self, seconds: float) -> None:
        """Release the clients for `seconds`."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f'GO {seconds}\n')
        self.proc.stdin.flush()

    def stop(self) -> None:
        """End the process (if it is still there)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (0 where /proc is not there)."""
    try:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return 0.0


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _node_stats() -> dict[str, Any]:
    """The memory node's `memory_stats` (its own short-lived context)."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from std_srvs.srv import Trigger

    ctx = rclpy.Context()
    rclpy.init(context=ctx, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('load_stats', context=ctx)
    try:
        from rclpy.executors import SingleThreadedExecutor

        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        client = node.create_client(Trigger, 'memory_stats')
        if not client.wait_for_service(timeout_sec=20.0):
            return {}
        future = client.call_async(Trigger.Request())
        executor.spin_until_future_complete(future, timeout_sec=20.0)
        return json.loads(future.result().message) if future.done() else {}
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)


# ---- the measurement ----------------------------------------------------------------------
def measure(cfg: LoadConfig, out: Path, log: Any = print) -> LoadResult:  # noqa: ANN401
    """Run one load test (see the module docstring); files land in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    env = loopback_env()
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('ROS_DOMAIN_ID', env['ROS_DOMAIN_ID'])
    result = LoadResult(cfg)
    tmp = Path(tempfile.mkdtemp(prefix='load_', dir=out))
    db = tmp / 'memory.db'
    t_start = time.monotonic()
    result.nodes = build_memory(cfg.objects, db, time.time(), cfg.seed)
    log(f'[load] memory of {cfg.objects} objects ({result.nodes} nodes) in '
        f'{time.monotonic() - t_start:.1f} s; starting the memory node and '
        f'{cfg.clients} clients in {cfg.processes} processes')
    node_log = out / 'memory_node.log'
    with node_log.open('w') as sink:
        node = subprocess.Popen(memory_node_argv(db), env=env, stdout=sink,
                                stderr=subprocess.STDOUT, text=True)
    clients: list[ClientProcess] = []
    camera: FramePublisher | None = None
    try:
        _wait_for_text(node_log, 'memory ready', node, 120.0)
        # The square of complete rows: every point a client asks near has objects around.
        side = grid_side(cfg.objects)
        grid_m = (min(side, cfg.objects // side) - 1) * SPACING
        per = [cfg.clients // cfg.processes + (1 if i < cfg.clients % cfg.processes else 0)
               for i in range(min(cfg.processes, cfg.clients))]
        clients = [ClientProcess(i, n, cfg, grid_m, out, env) for i, n in enumerate(per)]
        deadline = time.monotonic() + cfg.ready_timeout_s
        for c in clients:
            if not c.wait_for('READY', deadline):
                raise RuntimeError(f'client process {c.result_path.stem} never got ready:\n'
                                   + ''.join(c.output[-20:]))
        result.startup_s = time.monotonic() - t_start
        camera = FramePublisher(cfg.objects, cfg.fusion_hz, cfg.observations_per_frame,
                                cfg.moving_per_frame, cfg.seed)
        camera.start()
        time.sleep(1.0)  # fusion running before the first request
        log(f'[load] {len(clients)} client processes ready after {result.startup_s:.1f} s; '
            f'{cfg.seconds:.0f} s of load')
        cpu0, t0, load0 = _cpu_seconds(node.pid), time.monotonic(), _load_average()
        clients0 = sum(_cpu_seconds(c.proc.pid) for c in clients)
        for c in clients:
            c.go(cfg.seconds)
        done_by = time.monotonic() + cfg.seconds + cfg.timeout_s + 60.0
        for c in clients:
            if not c.wait_for('DONE', done_by) or not c.result_path.exists():
                result.errors.append({'service': '', 'kind': '', 'ms': 0, 'error':
                                      f'client process {c.result_path.stem} did not report: '
                                      + ''.join(c.output[-5:]).strip()})
                continue
            data = json.loads(c.result_path.read_text())
            for kind, values in data['latencies'].items():
                result.latencies.setdefault(kind, []).extend(values)
            result.errors.extend(data['errors'])
        result.node_cpu_s = _cpu_seconds(node.pid) - cpu0
        result.clients_cpu_s = sum(_cpu_seconds(c.proc.pid) for c in clients) - clients0
        result.window_s = time.monotonic() - t0
        result.load_average = (load0, _load_average())
        camera.stop()
        result.frames_published = camera.published
        camera = None
        stats = _node_stats()
        result.worker = stats.get('worker', {})
        result.fusion_ms_p95 = float(stats.get('ltm', {}).get('fusion_ms_p95', 0.0))
        result.service_ms = stats.get('service_ms', {})
    finally:
        if camera is not None:
            camera.stop()
        for c in clients:
            c.stop()
        result.node_alive = node.poll() is None
        if node.poll() is None:
            node.send_signal(2)  # SIGINT: the node's own clean shutdown
            try:
                node.wait(timeout=20)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        result.node_exit = node.returncode
    text = node_log.read_text(errors='replace')
    result.log_faults = [line.strip() for line in text.splitlines()
                         if any(f in line for f in LOG_FAULTS)]
    (out / 'load_result.json').write_text(json.dumps(
        {'config': asdict(cfg), 'nodes': result.nodes, 'errors': result.errors,
         'log_faults': result.log_faults, 'node_alive': result.node_alive,
         'frames_published': result.frames_published, 'worker': result.worker,
         'latency_ms': {k: {'n': len(v), 'p50': percentile(v, 50), 'p99': percentile(v, 99)}
                        for k, v in sorted(result.latencies.items())}}, indent=1))
    return result


def summarize(result: LoadResult) -> dict:
    """The `{'metrics', 'rows', 'notes'}` of one load test."""
    cfg = result.config
    q = result.service_latencies('query_objects')
    metrics = {
        'concurrent_clients': cfg.clients,
        'concurrent_errors': result.error_count,
        'concurrent_p50_ms': round(percentile(q, 50), 2),
        'concurrent_p99_ms': round(percentile(q, 99), 2),
        'concurrent_requests': result.requests,
        'node_query_p99_ms': round(result.service_ms.get('query_objects', {}).get('p99', 0.0),
                                   2),
    }
    rows: list[tuple[str, Any]] = [
        ('objects in memory (nodes)', f'{cfg.objects} ({result.nodes})'),
        ('clients (processes)', f'{cfg.clients} ({cfg.processes})'),
        ('load', f'{cfg.seconds:.0f} s, ~{cfg.rate_hz:g} requests/s per client, '
                 f'fusion at {cfg.fusion_hz:g} Hz x {cfg.observations_per_frame} objects'),
        ('requests (answered / errors)', f'{result.requests} '
                                         f'({result.requests - len(result.errors)} / '
                                         f'{len(result.errors)})'),
    ]
    for service in ('query_objects', 'get_scene_graph', 'recall_states'):
        v = result.service_latencies(service)
        rows.append((f'{service} p50 / p99 (n)',
                     f'{percentile(v, 50):.2f} / {percentile(v, 99):.2f} ms ({len(v)})'))
    for kind, _ in MIX:
        v = result.latencies.get(kind, [])
        rows.append((f'  {kind} p50 / p99', f'{percentile(v, 50):.2f} / '
                                            f'{percentile(v, 99):.2f} ms ({len(v)})'))
    w = result.worker
    rows.append(('frames published / received / fused / dropped by the queue',
                 f'{result.frames_published} / {w.get("submitted", "?")} / '
                 f'{w.get("processed", "?")} / {w.get("dropped", "?")}'))
    for service in ('query_objects', 'get_scene_graph', 'recall_states'):
        t = result.service_ms.get(service)
        if t:
            rows.append((f'{service} handling in the node p50 / p99 (n)',
                         f'{t["p50"]:.2f} / {t["p99"]:.2f} ms ({t["n"]})'))
    window = max(result.window_s, 1e-9)
    rows.append(('memory node CPU during the load',
                 f'{100 * result.node_cpu_s / window:.0f}% of one core'))
    rows.append(('client processes CPU during the load',
                 f'{100 * result.clients_cpu_s / window:.0f}% of one core '
                 f'(the machine has {os.cpu_count()})'))
    rows.append(('fusion p95 per frame', f'{result.fusion_ms_p95:.1f} ms'))
    rows.append(('node log faults (database is locked, tracebacks, errors)',
                 str(len(result.log_faults))))
    rows.append(('memory node alive at the end', 'yes' if result.node_alive else 'NO'))
    notes = [f'Client-side round trips over Fast DDS on loopback; each client has its own '
             f'DDS participant and sends one request at a time with an exponential think '
             f'time (mean {1000 / cfg.rate_hz:.0f} ms). Request mix: '
             + ', '.join(f'{k} {w}%' for k, w in MIX) + '.',
             f'Machine load average (1 min) {result.load_average[0]:.1f} before and '
             f'{result.load_average[1]:.1f} after the load window, on {os.cpu_count()} CPUs: '
             f'the clients run on the same machine as the node.']
    kinds: dict[str, int] = {}
    for e in result.errors:
        key = f'{e["service"] or "client"}: {e["error"][:80]}'
        kinds[key] = kinds.get(key, 0) + 1
    notes += [f'error x{n}: {k}' for k, n in sorted(kinds.items())]
    notes += [f'node log: {line[:160]}' for line in result.log_faults[:5]]
    return {'metrics': metrics, 'rows': rows, 'notes': notes}


def run(quick: bool, out: Path) -> dict:
    """The load part of `make bench-reliability`: 16 clients, 1,000 objects, 5 Hz fusion."""
    cfg = LoadConfig(seconds=8.0 if quick else 60.0)
    return summarize(measure(cfg, Path(out) / 'load'))
