"""Replay benchmark: a robot-like bag of a simulated home, replayed into memory.

What `make bench-replay` runs, for now: renders viewpoints of a PyBullet home, writes them
with the third-party `rosbags` library as a robot would record them (TF tree, JPEG colour,
16UC1 depth, camera info, the simulator's segmentation), replays the bag with
`replay_bag` (simulator segmentation, as fast as possible, 2 threads) and compares the
replayed memory's confirmed objects with the ground truth of the objects the camera saw
well (label and centroid within 0.15 m). Prints a markdown table, writes
bench/out/replay/replay.png (time per frame) and replay.json, and ends with
`RESULT replay_speedup=... node_match=... frames_used=...`. `QUICK=1`: two viewpoints of
six frames. (To come: record a live sim-stack episode with `embodied-memory record` and
match against the live run's memory.) Target: replay_speedup >= 5 on 2 cores.
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

from memory_nodes.bags.replay import ReplayOptions, match_confirmed, replay_bag  # noqa: E402
from memory_nodes.evaluation.robot_bag import remap_args, write_robot_bag  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')


def plot(frame_seconds: list[float], path: Path) -> None:
    """Bar chart of the replay time of each frame."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(range(len(frame_seconds)), [1000 * s for s in frame_seconds], color='#3b6fb0')
    ax.set_xlabel('frame')
    ax.set_ylabel('replay time (ms)')
    ax.set_title('replay: time per frame (detector + back-projection + fusion)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    """Write, replay, compare, report."""
    out = ROOT / 'bench' / 'out' / ('replay_quick' if QUICK else 'replay')
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    anchors = ('CounterTop', 'DiningTable')
    if not QUICK:
        anchors += ('Sofa', 'Bed', 'Desk')
    t0 = time.perf_counter()
    bag = write_robot_bag(out / 'bag', anchors=anchors, frames_per_view=6 if QUICK else 15)
    write_s = time.perf_counter() - t0
    opts = ReplayOptions(out=out / 'memory')
    opts.remap(remap_args())
    result = replay_bag(bag.path, opts)
    s = result.summary
    truth = bag.seen_well()
    node_match = match_confirmed(truth, result.memory, tol_m=0.15)
    frames_s = sum(result.frame_seconds)
    rows = [('frames in bag / used', f'{s["frames_in_bag"]} / {s["frames_used"]}'),
            ('dropped', json.dumps(s['frames_dropped']) or '{}'),
            ('bag duration (s)', f'{s["bag_duration_s"]:.2f}'),
            ('replay wall time (s)', f'{s["wall_s"]:.2f}'),
            ('replay speed-up vs real time', f'{s["speedup"]:.2f}x'),
            ('frame processing only (s, mean ms/frame)',
             f'{frames_s:.2f} ({s["frame_ms_mean"]:.1f})'),
            ('objects seen well (ground truth)', str(len(truth))),
            ('node_match (label + centroid within 0.15 m)', f'{node_match:.3f}'),
            ('confirmed objects + furniture in memory', str(s['confirmed_objects'])),
            ('bag writing (rosbags, s)', f'{write_s:.2f}')]
    print('| replay of a robot-like bag | value |\n|---|---|')
    for name, value in rows:
        print(f'| {name} | {value} |')
    plot(result.frame_seconds, out / 'replay.png')
    report = {'summary': s, 'node_match': node_match, 'seen_well': len(truth),
              'write_s': write_s, 'frame_seconds': result.frame_seconds, 'quick': QUICK}
    (out / 'replay.json').write_text(json.dumps(report, indent=2, default=str) + '\n')
    print(f'\nplot: {out.relative_to(ROOT)}/replay.png')
    print(f'RESULT replay_speedup={s["speedup"]:.2f} node_match={node_match:.3f} '
          f'frames_used={s["frames_used"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
