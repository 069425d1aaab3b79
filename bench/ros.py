"""Benchmark of the stack over ROS 2 (`make bench-ros`, QUICK=1 for a short run).

1. QueryObjects round trip over DDS with N objects in the memory node (1,000 by default):
   the memory node runs in its own process and loads a synthetic home saved to a file.
2. Perception + fusion keeping up with the camera: the sim bridge renders 320x240 frames
   at 5 Hz for a while into the perception and memory nodes; we count frames rendered vs
   processed (with the sim stack's reliable sensor QoS, and with best effort), and the
   per-frame latency.
Prints a markdown table, writes bench/out/ros.png, and ends with a RESULT line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory_nodes.launch.ros_env import apply_loopback_defaults  # noqa: E402

QUICK = os.environ.get('QUICK') == '1'
OUT = ROOT / 'bench' / 'out'


def synthetic_memory(n_objects: int, path: Path) -> None:
    """A home of `n_objects` confirmed objects on furniture, saved with LongTermMemory.save."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory
    from memory_nodes.memory.observation import ObjectObservation

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    mem = LongTermMemory(cfg)
    labels = ['Apple', 'Mug', 'Book', 'Bowl', 'Plate', 'Pen', 'Tomato', 'Spoon', 'Cup', 'Egg']
    rng = np.random.default_rng(0)
    side = int(np.ceil(np.sqrt(n_objects)))
    for frame in range(2):
        batch = []
        for i in range(n_objects):
            centre = np.array([(i % side) * 0.3, (i // side) * 0.3, 0.9])
            pts = centre + rng.uniform(-0.04, 0.04, (40, 3))
            batch.append(ObjectObservation(labels[i % len(labels)], 0.9, pts, 1.0 + frame))
            if len(batch) == 50:
                mem.integrate(batch)
                batch = []
        if batch:
            mem.integrate(batch)
    mem.save(path)


def query_latency(n_objects: int, queries: int) -> dict:
    """Round-trip ms of QueryObjects against a memory node holding `n_objects`."""
    import rclpy
    from embodied_memory_msgs.srv import LoadMemory, QueryObjects
    from geometry_msgs.msg import Point

    from memory_nodes.launch.launcher import Launcher, plan
    from memory_nodes.ros.service_calls import call

    tmp = Path(tempfile.mkdtemp())
    snapshot = tmp / 'home.json.gz'
    print(f'[bench-ros] building a memory of {n_objects} objects ...', flush=True)
    synthetic_memory(n_objects, snapshot)
    launcher = Launcher(plan('memory_only', {'memory': {'text_embeddings': 'hashing'}}),
                        quiet=True)
    launcher.start()
    rclpy.init()
    node = rclpy.create_node('bench_query')
    import threading

    from rclpy.executors import MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        load = node.create_client(LoadMemory, 'load_memory')
        reply = call(load, LoadMemory.Request(path=str(snapshot)), 60)
        assert reply.error_code == reply.SUCCESS, reply.error_msg
        client = node.create_client(QueryObjects, 'query_objects')
        kinds = {'label': [], 'radius': [], 'nearest': []}
        for i in range(queries):
            kind = list(kinds)[i % 3]
            req = QueryObjects.Request(top_k=5)
            if kind == 'label':
                req.label = 'mug'
            else:
                req.use_point = True
                req.near_point = Point(x=float(i % 10), y=float(i % 7), z=0.9)
                req.radius = 0.5 if kind == 'radius' else 0.0
            t0 = time.perf_counter()
            call(client, req, 10)
            kinds[kind].append((time.perf_counter() - t0) * 1000.0)
            if (i + 1) % max(1, queries // 5) == 0:
                print(f'[bench-ros] {i + 1}/{queries} queries', flush=True)
        every = [v for values in kinds.values() for v in values]
        return {'nodes': reply.node_count, 'all': every, **kinds}
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        launcher.stop()


def camera_throughput(seconds: float, reliable: bool) -> dict:
    """Frames the bridge rendered at 5 Hz vs frames perception processed (after warm-up).

    `reliable`: the sim stack's sensor QoS (reliable, keep last 30); else the sensor-data
    profile (best effort). Perception and memory keep their 2-frame queues either way.
    """
    import threading

    import rclpy
    from embodied_memory_msgs.srv import SimControl
    from rclpy.executors import SingleThreadedExecutor
    from std_srvs.srv import Trigger

    from memory_nodes.launch.launcher import Launcher, plan
    from memory_nodes.ros.service_calls import call

    live = {'reliable_sensors': reliable, 'frame_queue': 2}
    stack = plan('sim_stack', {
        'sim_bridge': {'home_seed': 3, 'camera_rate_hz': 5.0, 'reliable_sensors': reliable},
        'perception': live, 'memory': {**live, 'text_embeddings': 'hashing'}})
    launcher = Launcher([p for p in stack if p.name != 'planner'], quiet=True)
    launcher.start()
    rclpy.init()
    node = rclpy.create_node('bench_camera')
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        per = node.create_client(Trigger, 'perception_stats')
        mem = node.create_client(Trigger, 'memory_stats')
        sim = node.create_client(SimControl, 'sim_control')

        def stats() -> tuple[dict, dict]:
            bridge = json.loads(call(sim, SimControl.Request(command='status'), 10).result_json)
            return bridge, json.loads(call(per, Trigger.Request(), 10).message)

        call(per, Trigger.Request(), 60)
        time.sleep(4.0)  # warm-up: first frames, DDS matching
        b0, p0 = stats()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(min(5.0, seconds))
            print(f'[bench-ros] camera ({"reliable" if reliable else "best effort"}) '
                  f'{time.monotonic() - t0:.0f}/{seconds:.0f} s', flush=True)
        b1, p1 = stats()
        memory = json.loads(call(mem, Trigger.Request(), 10).message)
        rendered = b1['frames'] - b0['frames']
        processed = p1['worker']['processed'] - p0['worker']['processed']
        busy = p1['worker']['busy_s'] - p0['worker']['busy_s']
        return {'frames': rendered, 'processed': processed,
                'dropped': max(rendered - processed, 0),
                'drop_rate': max(rendered - processed, 0) / max(rendered, 1),
                'queue_dropped': p1['worker']['dropped'] - p0['worker']['dropped'],
                'perception_ms_mean': 1000.0 * busy / max(processed, 1),
                'fusion_ms_p95': memory['ltm']['fusion_ms_p95'], 'seconds': seconds,
                'fps': rendered / seconds}
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        launcher.stop()


def main() -> int:
    apply_loopback_defaults()
    n_objects = 1000
    queries = 150 if QUICK else 600
    seconds = 15.0 if QUICK else 60.0
    q = query_latency(n_objects, queries)
    cam = camera_throughput(seconds, reliable=True)
    lossy = camera_throughput(seconds / 2, reliable=False)
    p = {k: (float(np.percentile(v, 50)), float(np.percentile(v, 99)))
         for k, v in q.items() if k != 'nodes'}
    print('\n| measure | value |\n|---|---|')
    print(f'| objects in memory | {q["nodes"]} nodes |')
    for kind in ('label', 'radius', 'nearest', 'all'):
        print(f'| QueryObjects {kind} p50 / p99 | {p[kind][0]:.2f} / {p[kind][1]:.2f} ms |')
    print(f'| camera frames rendered ({cam["seconds"]:.0f} s, 5 Hz) | {cam["frames"]} '
          f'({cam["fps"]:.1f} Hz) |')
    print(f'| frames not processed, reliable QoS (sim stack) | {cam["dropped"]} '
          f'({100 * cam["drop_rate"]:.1f}%; {cam["queue_dropped"]} by the stale-frame queue) |')
    print(f'| frames not processed, best-effort QoS | {lossy["dropped"]} of {lossy["frames"]} '
          f'({100 * lossy["drop_rate"]:.1f}%) |')
    print(f'| perception per frame (mean) | {cam["perception_ms_mean"]:.1f} ms |')
    print(f'| fusion p95 per frame | {cam["fusion_ms_p95"]:.1f} ms |')
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([q['label'], q['radius'], q['nearest']], bins=40,
            label=['label', 'radius', 'k-nearest'])
    ax.axvline(10.0, color='red', ls='--', label='target p99 10 ms')
    ax.set_xlabel('QueryObjects round trip over DDS (ms)')
    ax.set_ylabel('queries')
    ax.set_title(f'memory node with {q["nodes"]} nodes')
    ax.legend()
    fig.savefig(OUT / 'ros.png', dpi=110, bbox_inches='tight')
    print(f'\nplot: {OUT / "ros.png"}')
    print(f'RESULT query_p50_ms_1k={p["all"][0]:.2f} query_p99_ms_1k={p["all"][1]:.2f} '
          f'frames_5hz={cam["frames"]} drop_rate={cam["drop_rate"]:.3f} '
          f'drop_rate_best_effort={lossy["drop_rate"]:.3f} '
          f'perception_ms_mean={cam["perception_ms_mean"]:.1f} '
          f'fusion_p95_ms={cam["fusion_ms_p95"]:.1f} quick={int(QUICK)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
