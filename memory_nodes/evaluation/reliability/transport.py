"""Large camera frames between processes on one host: sent vs received, profile or not.

The profile is the project's Fast DDS shared-memory profile (`config/fastdds_shm.xml`).

Each case starts two real processes (`image_stream pub` and `image_stream sub`) over Fast
DDS on loopback, sends a fixed number of RGB-D frame sets at the camera's rate and counts
the frames that arrived. Cases: 320x240 at 5 Hz (the simulator's camera) and 640x480 at
15 Hz (a robot's), best effort (the sensor-data QoS a camera driver uses) and reliable,
with the profile (the stack's default) and without it (Fast DDS's own 512 KiB segment).
The full run adds the perception node as the subscriber (frames it paired, best effort).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from memory_nodes.launch.ros_env import (
    PROFILE_SWITCH,
    PROFILE_VARIABLES,
    out_multicast_packets,
    ros_environment,
)

STREAM = 'memory_nodes.evaluation.reliability.image_stream'


@dataclass(frozen=True)
class Case:
    """One stream between two processes."""

    width: int
    height: int
    rate: float
    reliable: bool
    profile: bool
    #: Also the simulator's 32SC1 segmentation image (the sim bridge's frame set).
    segmentation: bool = False

    @property
    def name(self) -> str:
        """What the case is, for the table."""
        qos = 'reliable' if self.reliable else 'best effort'
        with_profile = 'SHM profile' if self.profile else 'Fast DDS defaults'
        images = 'rgb+depth+seg' if self.segmentation else 'rgb+depth'
        return f'{self.width}x{self.height} {images} @ {self.rate:g} Hz, {qos}, {with_profile}'


def stream_environment(profile: bool, base: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: loopback DDS, this code, the profile on or off."""
    env = dict(os.environ if base is None else base)
    for name in PROFILE_VARIABLES:
        env.pop(name, None)
    env[PROFILE_SWITCH] = 'on' if profile else 'off'
    env = ros_environment(env)
    root = str(Path(__file__).resolve().parents[3])
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH', '')) if p)
    env['PYTHONUNBUFFERED'] = '1'
    return env


def _json_line(proc: subprocess.Popen, what: str, timeout: float) -> dict:
    """The next JSON line on `proc`'s stdout (other lines skipped); an error if it dies."""
    deadline = time.monotonic() + timeout
    skipped = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith('{'):
            return json.loads(line)
        skipped.append(line.rstrip())
    proc.kill()
    raise RuntimeError(f'{what}: no result (exit {proc.poll()}); output: {skipped[-10:]}')


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def run_case(case: Case, frames: int, env: dict[str, str] | None = None) -> dict:
    """Send `frames` frame sets from one process to another; the counts and loss."""
    env = stream_environment(case.profile, env)
    size = ['--width', str(case.width), '--height', str(case.height)]
    qos = ['--reliable'] if case.reliable else []
    qos += ['--segmentation'] if case.segmentation else []
    sub = subprocess.Popen([sys.executable, '-m', STREAM, 'sub', *qos], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pub = None
    try:
        _json_line(sub, 'subscriber start', 60.0)
        pub = subprocess.Popen([sys.executable, '-m', STREAM, 'pub', *size, *qos,
                                '--rate', str(case.rate), '--frames', str(frames),
                                '--wait-go'], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Both sides of discovery done before the first frame: a frame sent to a reader
        # that has not matched the writer yet is lost to discovery, not to the transport.
        _json_line(pub, 'publisher discovery', 60.0)
        _json_line(sub, 'subscriber discovery', 60.0)
        pub.stdin.write('go\n')
        pub.stdin.flush()
        sent = _json_line(pub, 'publisher', 60.0 + frames / case.rate)
        pub.wait(timeout=30)
        time.sleep(1.0)  # the last frames in flight
        sub.send_signal(signal.SIGINT)
        heard = _json_line(sub, 'subscriber counts', 30.0)
        sub.wait(timeout=30)
    finally:
        for proc in (pub, sub):
            if proc is not None:
                _stop(proc)
    published = sent['published'] * len(heard['received'])
    received = sum(min(n, sent['published']) for n in heard['received'].values())
    return {'case': case.name, 'frames': sent['published'], 'rate_hz': sent['rate_hz'],
            'received': heard['received'], 'lost': (published - received) / max(published, 1),
            'sets_lost': 1.0 - min(heard['complete_sets'], sent['published'])
            / max(sent['published'], 1),
            'latency_ms_p50': heard['latency_ms_p50'], 'latency_ms_p95': heard['latency_ms_p95'],
            'malformed': heard['malformed'],
            'missing': {topic: sorted(set(range(sent['published'])) - set(seen))[:20]
                        for topic, seen in heard['seen'].items()}}


def perception_case(width: int, height: int, rate: float, frames: int,
                    env: dict[str, str] | None = None) -> dict:
    """The real perception node (best effort) as the subscriber: frame sets it paired."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_srvs.srv import Trigger

    from memory_nodes.launch.launcher import Launcher, plan

    env = stream_environment(True, env)
    saved = dict(os.environ)
    os.environ.update(env)  # the launcher and our own client use the same DDS settings
    launcher = Launcher([p for p in plan('robot_stack', {'perception': {
        'reliable_sensors': False, 'use_tf': False}}) if p.name == 'perception'], quiet=True)
    launcher.start()
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('transport_perception_probe', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        client = node.create_client(Trigger, 'perception_stats')
        if not client.wait_for_service(timeout_sec=60.0):
            raise TimeoutError('the perception node never offered perception_stats')

        def stats() -> dict:
            future = client.call_async(Trigger.Request())
            executor.spin_until_future_complete(future, timeout_sec=60.0)
            if not future.done():
                raise TimeoutError('perception_stats did not answer')
            return json.loads(future.result().message)

        before = stats()
        pub = subprocess.Popen([sys.executable, '-m', STREAM, 'pub', '--segmentation',
                                '--width', str(width), '--height', str(height),
                                '--rate', str(rate), '--frames', str(frames)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
        try:
            _json_line(pub, 'publisher discovery', 60.0)
            sent = _json_line(pub, 'publisher', 60.0 + frames / rate)
            pub.wait(timeout=30)
        finally:
            _stop(pub)
        time.sleep(1.5)
        after = stats()
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        launcher.stop()
        os.environ.clear()
        os.environ.update(saved)
    paired = after['sync_matched'] - before['sync_matched']
    return {'case': f'perception node, {width}x{height} @ {rate:g} Hz, best effort, '
                    f'SHM profile', 'frames': sent['published'], 'paired': paired,
            'lost': max(sent['published'] - paired, 0) / max(sent['published'], 1),
            'processed': after['worker']['processed'] - before['worker']['processed']}


def run(quick: bool, out: Path) -> dict:
    """The transport measurement of `make bench-reliability`: metrics, table rows, notes."""
    seconds = 4.0 if quick else 30.0
    sizes = [(320, 240, 5.0, '320'), (640, 480, 15.0, '640')]
    results = []
    metrics: dict[str, float] = {}
    mcast_before = out_multicast_packets()
    t0 = time.monotonic()
    for width, height, rate, key in sizes:
        frames = int(seconds * rate)
        for reliable in (False, True):
            for profile in (True, False):
                if quick and reliable and not profile:
                    continue  # the short run: reliable only with the stack's profile
                case = Case(width, height, rate, reliable, profile)
                result = run_case(case, frames)
                results.append(result)
                name = ('reliable' if reliable else 'best_effort') + f'_drop_{key}'
                metrics[name if profile else f'{name}_no_profile'] = round(result['lost'], 4)
                metrics.setdefault(f'latency_p95_ms_{key}', result['latency_ms_p95'])
    # The sim bridge's frame set (rgb + depth + segmentation) at its 320x240 / 5 Hz.
    for profile in (True, False):
        result = run_case(Case(320, 240, 5.0, False, profile, segmentation=True),
                          int(seconds * 5.0))
        results.append(result)
        metrics['sim_frame_sets_drop_320' + ('' if profile else '_no_profile')] = round(
            result['sets_lost'], 4)
    if not quick:
        result = perception_case(320, 240, 5.0, int(seconds * 5.0))
        results.append(result)
        metrics['perception_drop_320'] = round(result['lost'], 4)
    metrics['transport_multicast_packets'] = out_multicast_packets() - mcast_before
    metrics['transport_seconds'] = round(time.monotonic() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'transport.json').write_text(json.dumps(results, indent=2))
    rows = [(f'images lost: {r["case"]}', f'{100 * r["lost"]:.1f}% of {r["frames"]} frames'
             + (f', {100 * r["sets_lost"]:.0f}% of frame sets incomplete'
                if 'sets_lost' in r else '')
             + (f' (p95 latency {r["latency_ms_p95"]:.1f} ms)' if 'latency_ms_p95' in r
                else '')) for r in results]
    notes = [
        'Two real processes over Fast DDS on loopback (rmw_fastrtps_cpp, '
        'ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST); each frame set is rgb8 + 32FC1 depth '
        'images and camera_info; lost = image messages sent but never heard.',
        "The profile (config/fastdds_shm.xml) gives each process a 16 MiB shared-memory "
        "segment instead of Fast DDS's 512 KiB; best effort is the sensor-data QoS.",
        'Under ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST rmw_fastrtps_cpp adds its own SHM '
        "(512 KiB) and UDP transports next to the profile's: each process maps both "
        'segments; large messages travel in the 16 MiB one (measured above).',
        f'Multicast packets sent by this host during the measurement: '
        f'{metrics["transport_multicast_packets"]}.',
    ]
    return {'metrics': metrics, 'rows': rows, 'notes': notes}


def main() -> int:
    """`python -m memory_nodes.evaluation.reliability.transport [--quick]`: print the table."""
    quick = '--quick' in sys.argv
    result = run(quick, Path('bench/out/reliability'))
    for what, value in result['rows']:
        print(f'| {what} | {value} |')
    print('RESULT ' + ' '.join(f'{k}={v}' for k, v in result['metrics'].items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
