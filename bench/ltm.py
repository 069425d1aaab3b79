"""Long-term memory benchmark on synthetic households (run: python bench/ltm.py).

Builds households of 100 / 1,000 / 10,000 objects on furniture in annotated rooms,
replays camera frames of 20 observations each (5% label noise, 1 cm depth noise, a
random viewpoint per observation so each sees the top and up to two sides), and
measures fusion ms per frame, query ms by kind, collapsed export ms, resident memory
per object and fusion accuracy against ground truth. QUICK=1 runs a < 60 s version.
Prints a markdown table, writes bench/out/ltm.png, and ends with a RESULT line.
"""

from __future__ import annotations

import gc
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory_nodes.memory.embeddings import EmbedderConfig, TextEmbedder  # noqa: E402
from memory_nodes.memory.long_term import LongTermMemory  # noqa: E402
from memory_nodes.memory.observation import ObjectObservation  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
SIZES = [100, 1000, 10000]
PASSES = 3 if QUICK else 4
QUERY_REPS = 400 if QUICK else 1000
FRAME = 20
LABEL_NOISE = 0.05
DEPTH_NOISE = 0.01
ROOM = 6.0
OBJECTS_PER_ROOM = 50
FURNITURE = [('table', (1.2, 0.8, 0.75)), ('counter', (2.0, 0.6, 0.9)),
             ('desk', (1.4, 0.7, 0.74)), ('shelf', (1.0, 0.4, 1.2)),
             ('dresser', (1.2, 0.5, 0.8)), ('nightstand', (0.5, 0.4, 0.55)),
             ('coffee table', (1.1, 0.6, 0.45)), ('tv stand', (1.6, 0.45, 0.5))]
OBJECTS = [
    'mug', 'cup', 'plate', 'bowl', 'apple', 'banana', 'orange', 'bread', 'knife', 'fork',
    'spoon', 'spatula', 'pan', 'pot', 'kettle', 'toaster', 'bottle', 'wine bottle', 'glass',
    'book', 'laptop', 'remote', 'phone', 'keys', 'wallet', 'pen', 'pencil', 'notebook',
    'lamp', 'candle', 'vase', 'plant', 'clock', 'alarm clock', 'pillow', 'towel', 'soap bar',
    'toothbrush', 'sponge', 'dish soap', 'salt shaker', 'pepper shaker', 'egg', 'tomato',
    'potato', 'lettuce', 'lemon', 'cd', 'credit card', 'watch', 'tissue box', 'spray bottle',
    'newspaper', 'statue', 'box', 'teddy bear', 'basketball',
]
TEXT_QUERIES = ['something to drink from', 'a fruit', 'reading material', 'kitchen utensil',
                'electronics', 'something to clean with', 'a toy', 'where are my keys',
                'cooking pot', 'a place to put flowers']
OUT = Path(__file__).resolve().parent / 'out'


def log(msg: str) -> None:
    print(msg, flush=True)


def rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def make_household(n_objects: int, rng: np.random.Generator):
    """Ground truth: list of (label, center, size, room, is_furniture)."""
    rooms = math.ceil(n_objects / OBJECTS_PER_ROOM)
    side = math.ceil(math.sqrt(rooms))
    truth = []
    left = n_objects
    for r in range(rooms):
        ox, oy = (r % side) * ROOM, (r // side) * ROOM
        name = f'room {r}'
        slots = []
        for f in range(8):
            label, size = FURNITURE[(f + r) % len(FURNITURE)]
            cx = ox + 1.0 + (f % 4) * 1.35 + size[0] / 2 * 0 + 0.1
            cy = oy + 1.2 + (f // 4) * 3.0
            size = np.array(size)
            center = np.array([cx, cy, size[2] / 2])
            truth.append((label, center, size, name, True))
            nx_, ny_ = max(1, int(size[0] / 0.3)), max(1, int(size[1] / 0.3))
            for i in range(nx_):
                for j in range(ny_):
                    x = center[0] - size[0] / 2 + (i + 0.5) * size[0] / nx_
                    y = center[1] - size[1] / 2 + (j + 0.5) * size[1] / ny_
                    slots.append((x, y, size[2]))
        take = min(left, OBJECTS_PER_ROOM, len(slots))
        for k in rng.choice(len(slots), take, replace=False):
            x, y, top = slots[k]
            size = rng.uniform(0.06, 0.22, 3)
            label = OBJECTS[int(rng.integers(len(OBJECTS)))].replace('_', ' ')
            truth.append((label, np.array([x, y, top + size[2] / 2]), size, name, False))
        left -= take
    return truth


def observe(center, size, rng, n_points):
    """Surface points visible from a random side-ish view, with depth noise."""
    view = rng.normal(size=3)
    view[2] = abs(view[2]) + 0.3  # cameras look down at things on furniture
    view /= np.linalg.norm(view)
    faces = [(ax, s) for ax in range(3) for s in (-1, 1) if view[ax] * s > 0.15]
    pts = []
    per = max(8, n_points // max(1, len(faces)))
    for ax, s in faces:
        p = rng.uniform(-0.5, 0.5, (per, 3)) * size
        p[:, ax] = s * size[ax] / 2
        pts.append(p)
    pts = np.vstack(pts) + center
    # Depth noise acts along the viewing ray.
    return pts + rng.normal(0, DEPTH_NOISE, (len(pts), 1)) * view


def frames_for(truth, rng):
    """Per pass, per room: shuffled chunks of FRAME observations (2 furniture each)."""
    by_room: dict[str, list[int]] = {}
    for i, t in enumerate(truth):
        by_room.setdefault(t[3], []).append(i)
    for p in range(PASSES):
        for _room, idx in by_room.items():
            objs = [i for i in idx if not truth[i][4]]
            furn = [i for i in idx if truth[i][4]]
            rng.shuffle(objs)
            fi = 0
            step = FRAME - 2
            for k in range(0, max(len(objs), 1), step):
                chunk = objs[k:k + step] + [furn[(fi + j) % len(furn)] for j in range(2)]
                fi += 2
                yield p, chunk
            # The remaining furniture too, so every piece is seen each pass.
            rest = furn[fi:] if fi < len(furn) else []
            for k in range(0, len(rest), FRAME):
                yield p, rest[k:k + FRAME]


def evaluate(mem, truth):
    """Precision, recall, duplicate rate: centroid within 0.15 m and same label."""
    preds = [n for n in mem.graph.nodes.values()
             if n.layer in ('object', 'furniture') and n.status != 'tentative']
    gt_centers = np.stack([t[1] for t in truth])
    from scipy.spatial import cKDTree
    tree = cKDTree(gt_centers)
    matched_gt: set[int] = set()
    tp = dup = 0
    pairs = []
    for n in preds:
        for i in tree.query_ball_point(n.position, 0.15):
            if truth[i][0] == n.label:
                pairs.append((float(np.linalg.norm(n.position - gt_centers[i])), n.id, i))
    pairs.sort()
    used_pred: set[str] = set()
    for _, nid, i in pairs:
        if nid in used_pred:
            continue
        if i in matched_gt:
            continue
        used_pred.add(nid)
        matched_gt.add(i)
        tp += 1
    for _, nid, i in pairs:
        if nid not in used_pred and i in matched_gt:
            used_pred.add(nid)
            dup += 1
    precision = tp / max(1, len(preds))
    recall = len(matched_gt) / len(truth)
    return precision, recall, dup / max(1, len(preds)), len(preds)


def timed(bucket, fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    bucket.append((time.perf_counter() - t0) * 1000.0)


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float('nan')


def run_size(n_objects, embedder, db_path=None):
    rng = np.random.default_rng(n_objects)
    truth = make_household(n_objects, rng)
    gc.collect()
    rss0 = rss_bytes()
    mem = LongTermMemory(embedder=embedder, db_path=db_path)
    frames = list(frames_for(truth, rng))
    times = []
    stamp = 0.0
    t_start = time.perf_counter()
    for k, (_, chunk) in enumerate(frames):
        obs = []
        for i in chunk:
            label, center, size, room, furn = truth[i]
            if rng.random() < LABEL_NOISE:
                label = OBJECTS[int(rng.integers(len(OBJECTS)))].replace('_', ' ')
            pts = observe(center, size, rng, 600 if furn else 150)
            obs.append(ObjectObservation(label, float(rng.uniform(0.5, 1.0)), pts, stamp,
                                         room=room))
        t0 = time.perf_counter()
        mem.integrate(obs)
        times.append((time.perf_counter() - t0) * 1000.0)
        stamp += 0.1
        if k % max(1, len(frames) // 5) == 0:
            log(f'  [{n_objects}] frame {k}/{len(frames)}  nodes={len(mem.graph)}  '
                f'p95 so far {pct(times, 95):.1f} ms  ({time.perf_counter() - t_start:.0f} s)')
    gc.collect()
    rss1 = rss_bytes()
    precision, recall, dup_rate, n_pred = evaluate(mem, truth)
    q = {'label': [], 'radius': [], 'nearest': [], 'relation': [], 'text': []}
    labels = sorted({t[0] for t in truth})
    furn_ids = sorted(n.id for n in mem.graph.layer('furniture'))
    for text in TEXT_QUERIES:  # warm the text cache; cold cost is reported apart
        mem.by_text(text, k=5)
    cold = []
    for j in range(7):  # novel texts: the MiniLM forward pass itself
        timed(cold, mem.by_text, f'uncached query {j} about object {n_objects}', 5)
    text_cold_ms = pct(cold, 50)
    for r in range(QUERY_REPS):
        p = truth[int(rng.integers(len(truth)))][1] + rng.normal(0, 0.3, 3)
        timed(q['label'], mem.by_label, labels[r % len(labels)])
        timed(q['radius'], mem.within_radius, p, 1.0)
        timed(q['nearest'], mem.nearest, p, 5)
        timed(q['relation'], mem.related, 'on', furn_ids[r % len(furn_ids)])
        timed(q['text'], mem.by_text, TEXT_QUERIES[r % len(TEXT_QUERIES)], 5)
    export_ms = []
    rooms = [n.label for n in mem.graph.layer('room')]
    for r in range(20):
        t0 = time.perf_counter()
        mem.collapsed_export(2000, focus=[rooms[r % len(rooms)], labels[r % len(labels)]])
        export_ms.append((time.perf_counter() - t0) * 1000.0)
    all_q = [v for kind in q for v in q[kind]]
    row = {
        'objects': n_objects, 'gt': len(truth), 'pred': n_pred, 'frames': len(frames),
        'fusion_p50': pct(times, 50), 'fusion_p95': pct(times, 95),
        'fusion_p99': pct(times, 99), 'fusion_max': max(times),
        'q_p50': pct(all_q, 50), 'q_p99': pct(all_q, 99),
        **{f'{k}_p99': pct(v, 99) for k, v in q.items()},
        'text_cold_ms': text_cold_ms,
        'export_p50': pct(export_ms, 50), 'export_p95': pct(export_ms, 95),
        'kb_per_object': (rss1 - rss0) / 1024.0 / len(truth),
        'precision': precision, 'recall': recall, 'dup': dup_rate,
        'rejected': sum(mem.stats()['input']['rejected'].values()),
    }
    log(f'  [{n_objects}] done: fusion p95 {row["fusion_p95"]:.1f} ms, query p99 '
        f'{row["q_p99"]:.3f} ms, P={precision:.3f} R={recall:.3f} dup={dup_rate:.3f}')
    del mem
    gc.collect()
    return row


def plot(rows):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    n = [r['objects'] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(n, [r['fusion_p50'] for r in rows], 'o-', label='p50')
    axes[0].plot(n, [r['fusion_p95'] for r in rows], 'o-', label='p95')
    axes[0].axhline(20, ls='--', c='gray')
    axes[0].axhline(50, ls=':', c='gray')
    axes[0].set(xscale='log', xlabel='objects', ylabel='ms / 20-observation frame',
                title='fusion')
    for kind in ('label', 'radius', 'nearest', 'relation', 'text'):
        axes[1].plot(n, [r[f'{kind}_p99'] for r in rows], 'o-', label=kind)
    axes[1].axhline(2, ls='--', c='gray')
    axes[1].set(xscale='log', yscale='log', xlabel='objects', ylabel='p99 ms',
                title='queries')
    axes[2].plot(n, [r['kb_per_object'] for r in rows], 'o-', label='KB / object')
    axes[2].plot(n, [100 * r['precision'] for r in rows], 's-', label='precision %')
    axes[2].plot(n, [100 * r['recall'] for r in rows], '^-', label='recall %')
    axes[2].set(xscale='log', xlabel='objects', title='memory and accuracy')
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    path = OUT / 'ltm.png'
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main() -> None:
    backend = os.environ.get('LTM_TEXT_BACKEND', 'minilm')
    log(f'long-term memory bench: sizes {SIZES}, {PASSES} passes, quick={QUICK}, '
        f'text backend={backend}')
    embedder = TextEmbedder(EmbedderConfig(backend=backend))
    t0 = time.perf_counter()
    embedder.embed(['warm up'])
    log(f'text embedder ready in {time.perf_counter() - t0:.1f} s')
    rows = [run_size(n, embedder) for n in SIZES]
    with tempfile.TemporaryDirectory() as tmp:
        log('1,000 objects again with SQLite (WAL) durability on every frame')
        durable = run_size(1000, embedder, Path(tmp) / 'bench.db')
    print()
    print('| objects | frames | nodes | fusion p50 ms | fusion p95 ms | query p50 ms '
          '| query p99 ms | label p99 | radius p99 | knn p99 | relation p99 | text p99 '
          '| text cold ms | export p50 ms | KB/object | precision | recall | duplicates |')
    print('|' + '---|' * 18)
    for r in rows:
        print(f"| {r['objects']} | {r['frames']} | {r['pred']} | {r['fusion_p50']:.2f} "
              f"| {r['fusion_p95']:.2f} | {r['q_p50']:.3f} | {r['q_p99']:.3f} "
              f"| {r['label_p99']:.3f} | {r['radius_p99']:.3f} | {r['nearest_p99']:.3f} "
              f"| {r['relation_p99']:.3f} | {r['text_p99']:.3f} | {r['text_cold_ms']:.1f} "
              f"| {r['export_p50']:.1f} | {r['kb_per_object']:.1f} | {r['precision']:.3f} "
              f"| {r['recall']:.3f} | {r['dup']:.4f} |")
    print()
    by = {r['objects']: r for r in rows}
    plain = by[1000]
    print(f"With SQLite persistence at 1,000 objects: fusion p50 {durable['fusion_p50']:.2f} ms, "
          f"p95 {durable['fusion_p95']:.2f} ms, p99 {durable['fusion_p99']:.2f} ms, max "
          f"{durable['fusion_max']:.2f} ms per frame (commit included; without SQLite: p99 "
          f"{plain['fusion_p99']:.2f}, max {plain['fusion_max']:.2f}).")
    print()
    path = plot(rows)
    log(f'plot: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}')
    big = rows[-1]
    print('RESULT '
          f"fusion_p50_ms_1k={by[1000]['fusion_p50']:.2f} "
          f"fusion_p95_ms_1k={by[1000]['fusion_p95']:.2f} "
          f"fusion_p95_ms_1k_sqlite={durable['fusion_p95']:.2f} "
          f"fusion_p99_ms_1k_sqlite={durable['fusion_p99']:.2f} "
          f"fusion_max_ms_1k_sqlite={durable['fusion_max']:.2f} "
          f"fusion_p95_ms_10k={by[10000]['fusion_p95']:.2f} "
          f"query_p99_ms_10k={by[10000]['q_p99']:.3f} "
          f"text_cold_ms={big['text_cold_ms']:.1f} "
          f"export_ms_10k={by[10000]['export_p50']:.1f} "
          f"kb_per_object={big['kb_per_object']:.1f} "
          f"precision={min(r['precision'] for r in rows):.3f} "
          f"recall={min(r['recall'] for r in rows):.3f} "
          f"duplicate_rate={max(r['dup'] for r in rows):.4f} "
          f'quick={int(QUICK)}')


if __name__ == '__main__':
    main()
