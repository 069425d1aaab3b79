"""Record a live sim-stack episode to MCAP, then check that replaying it rebuilds the memory.

`record_live_episode` launches `sim_stack` with `record:=true` (sim bridge, perception,
memory, planner and the recorder: five processes over Fast DDS on loopback), runs the
episode's tasks through the planner's ExecuteTask action, saves the live memory node's
memory (SaveMemory) and stops the stack, which finishes the recording. What it returns is
what `make bench-replay` and the replay test compare a replay against: the bag, the live
memory file, the live run's wall time and the tasks' outcomes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from memory_nodes.planner.task_runner import strip_instances
from sim.task_schema import Episode, Suite, save_suite


@dataclass
class LiveRecording:
    """A recorded live episode: the bag, the live memory saved at its end, the outcomes."""

    bag: Path
    memory_file: Path
    wall_s: float
    tasks: list[tuple[str, bool]] = field(default_factory=list)
    perception: dict = field(default_factory=dict)


def record_live_episode(episode: Episode, out: Path, *, text_embeddings: str = 'hashing',
                        on_task=None) -> LiveRecording:  # noqa: ANN001 - callable(id, ok)
    """Run `episode` on the ROS stack with the recorder on; see the module docstring."""
    from embodied_memory_msgs.srv import SaveMemory

    from memory_nodes.launch.launcher import Launcher, plan
    from memory_nodes.launch.ros_env import apply_loopback_defaults
    from memory_nodes.ros.stack_client import StackClient

    apply_loopback_defaults()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suite_file = out / 'episode.json'
    save_suite(Suite('live_recording', [episode]), suite_file)
    bag = out / 'live.mcap'
    memory_file = out / 'live_memory.json'
    for stale in (bag, memory_file):
        stale.unlink(missing_ok=True)
    launcher = Launcher(plan('sim_stack', {
        'sim_bridge': {'suite': str(suite_file), 'episode': 0},
        'memory': {'text_embeddings': text_embeddings},
    }, {'record': 'true', 'record_path': str(bag)}), quiet=True)
    t0 = time.perf_counter()
    launcher.start()
    client = None
    run = LiveRecording(bag, memory_file, 0.0)
    try:
        client = StackClient(timeout=120.0)
        client.wait_ready()
        _wait_for_recorder(client.node)
        client.control('load_episode', suite=str(suite_file), episode=0)
        for task in episode.tasks:
            if not task.goals:
                continue
            client.control('begin_task', task_id=task.task_id)
            goals = [strip_instances(g).to_text() for g in task.goals]
            client.run_task(task.instruction, goals, lambda _m: None)
            score = client.control('end_task')
            run.tasks.append((task.task_id, bool(score['success'])))
            if on_task is not None:
                on_task(task.task_id, bool(score['success']))
        run.perception = client.stats(client.perception_stats)
        saved = client.call(client.save, SaveMemory.Request(path=str(memory_file)))
        if saved.error_code != saved.SUCCESS:
            raise RuntimeError(f'SaveMemory {memory_file}: {saved.error_msg}')
    finally:
        if client is not None:
            client.close()
        launcher.stop()
    run.wall_s = time.perf_counter() - t0
    if not bag.is_file():
        raise RuntimeError(f'the recorder wrote no file {bag}')
    return run


#: What the recorder must be subscribed to before the episode starts (else its first
#: frames are missing from the bag while the live nodes fuse them).
RECORDED_BEFORE_START = ('/rgb/image_raw', '/depth/image_raw', '/camera_info', '/tf',
                         '/tf_static', '/segmentation/image_raw', '/segmentation/instances',
                         '/object_state_events', '/rooms')


def _wait_for_recorder(node, timeout: float = 30.0) -> None:  # noqa: ANN001 - rclpy Node
    """Block until the recorder subscribes to every topic the replay needs."""
    deadline = time.monotonic() + timeout
    missing: set[str] = set(RECORDED_BEFORE_START)
    while time.monotonic() < deadline:
        try:
            subscribed = {t for t, _ in node.get_subscriber_names_and_types_by_node(
                'recorder', '/')}
        except Exception:  # noqa: BLE001 - the node is not discovered yet
            subscribed = set()
        missing = set(RECORDED_BEFORE_START) - subscribed
        if not missing:
            return
        time.sleep(0.2)
    raise RuntimeError(f'the recorder did not subscribe to {sorted(missing)} within '
                       f'{timeout:g} s')


def load_memory(path: Path):  # noqa: ANN201 - a LongTermMemory
    """A saved memory file (JSON or SQLite) as a LongTermMemory, for comparisons."""
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.long_term import LongTermMemory

    return LongTermMemory.load(path, LongTermMemoryConfig())
