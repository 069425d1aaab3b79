"""Replay benchmark: record a live episode, replay it, compare; a robot's bag; memory as of.

What `make bench-replay` runs (QUICK=1: shorter episodes, fewer viewpoints):

1. **Live recording -> replay.** `sim_stack` with `record:=true` (five processes over Fast
   DDS on loopback) runs a Stale episode (a scripted person moves things between tasks)
   while the recorder writes every topic to MCAP; the live memory node's memory is saved
   at the end. The bag is then replayed offline (`replay_bag`: simulator segmentation, as
   fast as possible) and the replayed memory's confirmed objects and furniture are matched
   to the live run's (label and centroid within 0.15 m): `node_match`. `replay_speedup` is
   the camera time the replayed frames stand for at the camera's 5 Hz over the replay's
   wall time (target >= 5 on 2 cores). Not the bag's duration: simulated time jumps while
   the robot drives (the bridge renders no frames in between), so a sim recording spans
   far more seconds than its frames; that ratio is shown too, as `sim-time ratio`.
2. **A robot's bag from another writer.** A robot-like bag of a PyBullet home written with
   the third-party `rosbags` library (robot TF frame names, JPEG colour, 16UC1 depth,
   RealSense topic names) replays with `--map` remapping; its confirmed objects are matched
   to the ground truth of the objects the camera saw well: `node_match_robot_bag`.
3. **Memory as of a time.** Stale episodes run in-process; after each task the simulator's
   truth is recorded, then `as_of` (where was each object then) and `changes` (what moved
   between two task ends) are scored against it: `as_of_accuracy` (target >= 0.95).

Prints a markdown table, writes bench/out/replay[_quick]/replay.png and replay.json, and
ends with `RESULT replay_speedup=... node_match=... frames_used=... as_of_accuracy=...`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(var, '2')
os.environ.setdefault('MPLBACKEND', 'Agg')

from memory_nodes.bags.replay import (  # noqa: E402
    ReplayOptions,
    confirmed_objects,
    match_confirmed,
    replay_bag,
)
from memory_nodes.evaluation.robot_bag import remap_args, write_robot_bag  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
LIVE_EPISODE = 0  # of the Stale suite, fixed before looking at results
AS_OF_EPISODES = (1,) if QUICK else (0, 1, 2, 3, 4)
CAMERA_RATE_HZ = 5.0  # the sim bridge's camera_rate_hz (config/sim_bridge.yaml default)


def live_part(out: Path) -> dict:
    """Record a live Stale episode on the ROS stack, replay the bag, compare the memories."""
    from memory_nodes.evaluation.live_recording import load_memory, record_live_episode
    from sim.task_schema import Episode, load_suite

    episode = load_suite('stale').episodes[LIVE_EPISODE]
    if QUICK:
        episode = Episode(episode.episode_id, episode.home, episode.tasks[:2])
    print(f'[bench-replay] live: {episode.episode_id}, {len(episode.tasks)} tasks on '
          'sim_stack record:=true ...', flush=True)
    live = record_live_episode(
        episode, out / 'live',
        on_task=lambda tid, ok: print(f'  {tid}: {"ok" if ok else "FAILED"}', flush=True))
    live_memory = load_memory(live.memory_file)
    print(f'[bench-replay] replaying {live.bag.name} ...', flush=True)
    opts = ReplayOptions(out=out / 'replayed', progress=True)
    result = replay_bag(live.bag, opts)
    s = result.summary
    speedup = s['frames_used'] / CAMERA_RATE_HZ / s['wall_s'] if s['wall_s'] > 0 else 0.0
    return {'speedup': speedup, 'episode': episode.episode_id, 'tasks': live.tasks,
            'live_wall_s': live.wall_s,
            'bag_mb': live.bag.stat().st_size / 1e6, 'summary': s,
            'live_perception': live.perception.get('worker', {}),
            'live_confirmed': len(confirmed_objects(live_memory)),
            'node_match': match_confirmed(live_memory, result.memory, tol_m=0.15),
            'node_match_reverse': match_confirmed(result.memory, live_memory, tol_m=0.15),
            'frame_seconds': result.frame_seconds}


def robot_bag_part(out: Path) -> dict:
    """A `rosbags`-written robot-like bag, replayed with remapping, against ground truth."""
    anchors = ('CounterTop', 'DiningTable')
    if not QUICK:
        anchors += ('Sofa', 'Bed', 'Desk')
    bag = write_robot_bag(out / 'robot_bag', anchors=anchors,
                          frames_per_view=6 if QUICK else 15)
    opts = ReplayOptions(out=out / 'robot_bag_memory')
    opts.remap(remap_args())
    result = replay_bag(bag.path, opts)
    truth = bag.seen_well()
    return {'summary': result.summary, 'seen_well': len(truth),
            'node_match': match_confirmed(truth, result.memory, tol_m=0.15)}


def as_of_part() -> dict:
    """Stale episodes in-process; as_of and changes scored against the simulator's truth."""
    from memory_nodes.evaluation.as_of import as_of_accuracy, play_with_truth
    from sim.task_schema import Episode, load_suite

    suite = load_suite('stale')
    correct = total = 0
    per_episode = []
    kinds: dict[str, list[int]] = {}
    for index in AS_OF_EPISODES:
        episode = suite.episodes[index]
        if QUICK:
            episode = Episode(episode.episode_id, episode.home, episode.tasks[:4])
        player = play_with_truth(episode)
        c, t, details = as_of_accuracy(player.setup.memory, player.truth)
        for d in details:
            if d['scored']:
                k = kinds.setdefault(d['question'], [0, 0])
                k[0] += bool(d['correct'])
                k[1] += 1
        per_episode.append((episode.episode_id, c, t))
        correct, total = correct + c, total + t
        print(f'[bench-replay] as_of {episode.episode_id}: {c}/{t}', flush=True)
    return {'correct': correct, 'total': total, 'per_episode': per_episode, 'kinds': kinds,
            'accuracy': correct / total if total else 0.0}


def plot(live: dict, path: Path) -> None:
    """Replay time per frame of the live recording, with the real-time budget per frame."""
    import matplotlib.pyplot as plt

    ms = [1000 * s for s in live['frame_seconds']]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(range(len(ms)), ms, lw=0.8, color='#3b6fb0', label='replay time per frame')
    budget = 1000 / CAMERA_RATE_HZ
    ax.axhline(budget, color='#c0392b', ls='--', lw=1,
               label=f'real time: {budget:.0f} ms per frame at {CAMERA_RATE_HZ:g} Hz')
    ax.axhline(budget / 5, color='#e67e22', ls=':', lw=1, label='5x real time')
    ax.set_xlabel('frame of the recording')
    ax.set_ylabel('ms')
    ax.set_title(f'replay of a live sim-stack recording ({live["episode"]}): '
                 f'{live["speedup"]:.1f}x real time, node match {live["node_match"]:.2f}')
    ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    """Record, replay, compare, report."""
    out = ROOT / 'bench' / 'out' / ('replay_quick' if QUICK else 'replay')
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    live = live_part(out)
    robot = robot_bag_part(out)
    as_of = as_of_part()
    s, r = live['summary'], robot['summary']
    ok = sum(ok for _, ok in live['tasks'])
    rows = [
        ('live episode (sim_stack record:=true)',
         f'{live["episode"]}: {ok}/{len(live["tasks"])} tasks, {live["live_wall_s"]:.0f} s, '
         f'bag {live["bag_mb"]:.1f} MB'),
        ('live perception frames (processed / dropped)',
         f'{live["live_perception"].get("processed", "?")} / '
         f'{live["live_perception"].get("dropped", "?")}'),
        ('recording: colour frames in bag / used in replay',
         f'{s["frames_in_bag"]} / {s["frames_used"]}'),
        ('recording: frames dropped in replay (why)', json.dumps(s['frames_dropped']) or '{}'),
        ('recording: memory inputs applied', json.dumps(
            {k: v['applied'] for k, v in s.get('memory_inputs', {}).items()})),
        ('recording: frames at 5 Hz / replay wall (s)',
         f'{s["frames_used"] / CAMERA_RATE_HZ:.1f} / {s["wall_s"]:.1f}'),
        ('**replay speed-up vs real time** (target >= 5)', f'{live["speedup"]:.1f}x'),
        ('recording: sim-time ratio (bag span / replay wall)',
         f'{s["bag_duration_s"]:.0f} s / {s["wall_s"]:.1f} s = {s["speedup"]:.0f}x'),
        ('live confirmed objects + furniture', str(live['live_confirmed'])),
        ('**node_match**: live confirmed found in replay (target >= 0.95)',
         f'{live["node_match"]:.3f}'),
        ('replay confirmed found in live', f'{live["node_match_reverse"]:.3f}'),
        ('robot bag (rosbags writer): frames used / in bag',
         f'{r["frames_used"]} / {r["frames_in_bag"]}'),
        ('robot bag: speed-up', f'{r["speedup"]:.1f}x'),
        ('robot bag: objects seen well found (ground truth)',
         f'{robot["node_match"]:.3f} of {robot["seen_well"]}'),
        ('**as_of_accuracy** (Stale episodes {}; target >= 0.95)'.format(
            ', '.join(str(i) for i in AS_OF_EPISODES)),
         f'{as_of["accuracy"]:.3f} ({as_of["correct"]}/{as_of["total"]})'),
    ] + [(f'as_of: {k} answers correct', f'{c}/{t}') for k, (c, t) in
         sorted(as_of['kinds'].items())]
    print('\n| replay benchmark | value |\n|---|---|')
    for name, value in rows:
        print(f'| {name} | {value} |')
    plot(live, out / 'replay.png')
    report = {'quick': QUICK, 'live': live, 'robot_bag': robot, 'as_of': as_of,
              'wall_s': time.perf_counter() - t0}
    (out / 'replay.json').write_text(json.dumps(report, indent=2, default=str) + '\n')
    print(f'\nplot: {out.relative_to(ROOT)}/replay.png; total {report["wall_s"]:.0f} s')
    print(f'RESULT replay_speedup={live["speedup"]:.2f} node_match={live["node_match"]:.3f} '
          f'frames_used={s["frames_used"]} as_of_accuracy={as_of["accuracy"]:.3f} '
          f'node_match_robot_bag={robot["node_match"]:.3f} '
          f'robot_bag_speedup={r["speedup"]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
