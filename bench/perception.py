"""Learned-perception benchmark: detector speed, mAP on unseen homes, fusion, success.

- detector ms per 320x240 simulator frame on one CPU thread (p50/p95);
- mask mAP50 / mAP50-95 on the validation homes from the run's `metrics.json` (written by
  `embodied-memory perception train`; the newest run under `runs/perception/` unless
  `PERCEPTION_WEIGHTS` names a `.pt`). With `QUICK=1` and no weights, a tiny model is
  trained first (its mAP is near 0: it proves the pipeline, not the detector);
- fusion precision/recall of the long-term memory after exploring every room of a few
  Composite homes, with YOLO vs the sim_segmentation oracle: a memory node is right when a
  ground-truth thing of the same label has its centroid within 0.15 m (one-to-one); and
  the confirmed furniture nodes next to the homes' real pieces (`furniture_nodes_oracle`,
  `furniture_real`: large furniture seen in parts should still be one node each);
- success on a Composite subset with `perception=yolo` next to the oracle (`run_memory_episode`,
  condition ltm+stm), unless `SKIP_EPISODES=1`.

Prints a markdown table, writes bench/out/perception.md and bench/out/perception.png and
ends with one `RESULT key=value ...` line (`na` for what was not measured). With
`RESULTS_MD=docs/perception_results.md` it also writes the results page: command, commit,
training run, dataset, every number above and the targets as measured.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from memory_nodes.tools.detector_training.dataset import CLASS_NAMES  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'out'
RUNS = ROOT / 'runs' / 'perception'
MATCH_M = 0.15


def progress(msg: str) -> None:
    print(f'[bench-perception] {msg}', flush=True)


def find_weights() -> Path | None:
    """PERCEPTION_WEIGHTS, else the newest runs/perception/*/best.pt."""
    env = os.environ.get('PERCEPTION_WEIGHTS')
    if env:
        return Path(env)
    runs = sorted(RUNS.glob('*/best.pt'), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def quick_train() -> Path:
    """A tiny dataset and a 2-epoch model: enough to exercise the pipeline."""
    from memory_nodes.tools.detector_training.dataset import DatasetConfig, make_dataset
    from memory_nodes.tools.detector_training.training import TrainConfig, train

    data = OUT / 'perception_quick' / 'dataset'
    progress('no trained weights: making a tiny dataset and training 2 epochs (QUICK)')
    make_dataset(DatasetConfig(out=data, homes=4, views_per_home=8, seed=1, val_fraction=0.25),
                 progress)
    result = train(TrainConfig(data=data / 'data.yaml', out=OUT / 'perception_quick' / 'run',
                               epochs=2, batch=8, workers=0, close_mosaic=0), progress)
    return result.weights


def run_metrics(weights: Path) -> dict:
    """metrics.json next to the weights (the training run's val-homes result), if any."""
    path = weights.parent / 'metrics.json'
    return json.loads(path.read_text()) if path.exists() else {}


def sim_frames(n: int) -> list[np.ndarray]:
    """`n` RGB frames from approach points of homes never used for training (seeds 9001+)."""
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator()
    frames: list[np.ndarray] = []
    try:
        seed = 9001
        while len(frames) < n:
            sim.reset(seed)
            for w in [w for w in sim.home.waypoints if w.kind == 'approach'][:10]:
                sim.robot.set_pose(w.x, w.y, math.atan2(-w.y, -w.x) + len(frames))
                frames.append(sim.render().rgb)
                if len(frames) >= n:
                    break
            seed += 1
    finally:
        sim.close()
    return frames


def time_detector(detector, frames: list[np.ndarray]) -> tuple[float, float, float]:
    """(p50, p95 ms per frame, detections per frame) on one CPU thread, after warm-up."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for rgb in frames[:2]:
            detector.detect(rgb)
        ms, count = [], 0
        for rgb in frames:
            t0 = time.perf_counter()
            count += len(detector.detect(rgb))
            ms.append((time.perf_counter() - t0) * 1000.0)
    finally:
        torch.set_num_threads(threads)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), count / len(frames)


def match(memory_nodes: list[tuple[str, tuple]], truth: list[tuple[str, tuple]]) -> int:
    """One-to-one matches (same label, centroids within MATCH_M), greedy by distance."""
    pairs = sorted((math.dist(mp, tp), i, j)
                   for i, (ml, mp) in enumerate(memory_nodes)
                   for j, (tl, tp) in enumerate(truth) if ml == tl)
    used_m, used_t, n = set(), set(), 0
    for d, i, j in pairs:
        if d > MATCH_M:
            break
        if i in used_m or j in used_t:
            continue
        used_m.add(i)
        used_t.add(j)
        n += 1
    return n


def fusion_pr(detector, episodes) -> dict[str, float]:
    """Explore every room of each episode's home; precision/recall of the memory's nodes."""
    from memory_nodes.domain.household import HOUSEHOLD
    from memory_nodes.domain.skills import SkillCall
    from memory_nodes.evaluation.conditions import make_condition
    from memory_nodes.evaluation.furniture_count import FurnitureCount, home_furniture_count
    from memory_nodes.evaluation.sim_frames import SimFramePerception
    from memory_nodes.evaluation.sim_robot import SimRobot
    from sim.catalog import CATALOG
    from sim.pybullet_sim import PyBulletSimulator
    from sim.suite_world import build_home

    kinds = {t: CATALOG[t].kind for t in CLASS_NAMES}
    counts = {k: [0, 0, 0] for k in ('all', 'object')}  # matched, memory, truth
    furniture = FurnitureCount()
    ms: list[float] = []
    sim = PyBulletSimulator()
    try:
        for episode in episodes:
            sim.reset(build_home(episode.home), seed=episode.home.seed)
            memory = make_condition('ltm', text_embeddings='hashing').memory
            for name, footprint in sim.rooms().items():
                memory.ltm.define_room_footprint(name, footprint)
            perception = SimFramePerception(detector=detector)
            robot = SimRobot(sim, memory, None, perception)
            for room in sim.rooms():
                robot.execute(SkillCall('explore', area=room))
            ms += perception.ms
            furniture.add(home_furniture_count(sim, memory.ltm))
            # Memory labels are words ('garbage can'); compare as catalog types.
            nodes = [(HOUSEHOLD.canonical_type(n.label) or n.label, tuple(n.position))
                     for n in memory.ltm.graph.nodes.values()
                     if n.layer in ('object', 'furniture') and n.status != 'absent']
            truth = [(t.object_type, t.position) for t in sim.ground_truth().values()
                     if t.object_type in kinds]
            for key in counts:
                keep = (lambda lab: True) if key == 'all' else (  # noqa: E731
                    lambda lab: kinds.get(lab) == 'object')
                mn = [n for n in nodes if keep(n[0])]
                tn = [t for t in truth if keep(t[0])]
                counts[key][0] += match(mn, tn)
                counts[key][1] += len(mn)
                counts[key][2] += len(tn)
    finally:
        sim.close()
    out = {'frames': len(ms), 'perception_ms_p50': float(np.median(ms)) if ms else 0.0,
           'furniture_nodes': furniture.total().nodes, 'furniture_real': furniture.total().real}
    for key, (m, n_mem, n_truth) in counts.items():
        out[f'precision_{key}'] = m / n_mem if n_mem else 0.0
        out[f'recall_{key}'] = m / n_truth if n_truth else 0.0
        out[f'nodes_{key}'] = n_mem
    return out


def composite_success(detector, episodes) -> dict[str, float]:
    """Success rate and exploration count over the episodes' tasks (condition ltm+stm)."""
    from memory_nodes.evaluation.episodes import run_memory_episode
    from memory_nodes.evaluation.sim_frames import SimFramePerception
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator()
    ok = total = explorations = 0
    try:
        for episode in episodes:
            report = run_memory_episode(sim, episode, 'ltm+stm', text_embeddings='hashing',
                                        perception=SimFramePerception(detector=detector))
            ok += sum(t.success for t in report.tasks)
            explorations += sum(t.explorations for t in report.tasks)
            total += len(report.tasks)
    finally:
        sim.close()
    return {'sr': ok / total if total else 0.0, 'tasks': total,
            'explorations_per_task': explorations / total if total else 0.0}


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return 'na'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def _training_summary(weights: Path) -> list[str]:
    """What the run folder says about training: config, time, epochs, dataset."""
    import csv

    metrics = run_metrics(weights)
    if not metrics:
        return [f'Weights `{weights.name}`: no metrics.json next to them (not from '
                '`embodied-memory perception train`).']
    cfg = metrics.get('config', {})
    results_csv = weights.parent / 'train' / 'results.csv'
    epochs = []
    if results_csv.exists():
        with results_csv.open() as f:
            epochs = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(f)]
    curve = ', '.join(f"{float(r.get('metrics/mAP50(M)') or 'nan'):.3f}" for r in epochs)
    data = Path(cfg.get('data', ''))
    manifest_path = data.parent / 'manifest.json'
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    minutes = metrics.get('seconds', 0) / 60
    out = [f"Training: `yolov8n-seg.yaml` from random weights, {minutes:.1f}"
           f" min wall clock on the CPU ({cfg.get('threads')} threads), "
           f"{len(epochs)} epochs (time budget {cfg.get('time_hours')} h), imgsz "
           f"{cfg.get('imgsz')}, batch {cfg.get('batch')}, nominal batch "
           f"{cfg.get('nbs') or cfg.get('batch')}, {cfg.get('optimizer')} lr0 {cfg.get('lr0')}.  "]
    if manifest:
        homes = manifest.get('homes', {})
        out.append(f"Dataset: {manifest['images']['train']} train images from "
                   f"{len(homes.get('train', []))} homes, {manifest['images']['val']} val "
                   f"images from {len(homes.get('val', []))} other homes "
                   f"({manifest['instances']['val']} instances), "
                   f"{manifest.get('views_per_home')} views per home, "
                   f"{len(manifest.get('classes', []))} classes, seed {manifest.get('seed')}.  ")
    if curve:
        out.append(f'Mask mAP50 on the val homes after each epoch: {curve}.  ')
    per_class = metrics.get('per_class_map50') or {}
    if per_class:
        from sim.catalog import CATALOG

        def mean(kind: str) -> float:
            vals = [v for k, v in per_class.items() if CATALOG[k].kind == kind]
            return sum(vals) / len(vals) if vals else float('nan')

        ranked = sorted(per_class.items(), key=lambda kv: -kv[1])
        out.append(f"Mean per-class mask mAP50: furniture {mean('furniture'):.3f}, small "
                   f"objects {mean('object'):.3f}. Best: "
                   + ', '.join(f'{k} {v:.2f}' for k, v in ranked[:5]) + '; worst: '
                   + ', '.join(f'{k} {v:.2f}' for k, v in ranked[-5:]) + '.')
    return out


def results_page(weights: Path | None, result: dict, table: str, seconds: float) -> str:
    """docs/perception_results.md: generated from one bench run, never written by hand."""
    import datetime

    from memory_nodes.evaluation.bench_cli import git_commit

    lines = ['# Results: learned perception (YOLOv8n-seg trained on simulator renders)', '',
             '<!-- GENERATED by `RESULTS_MD=docs/perception_results.md make bench-perception` '
             '(bench/perception.py); do not edit. -->', '',
             f'Date: {datetime.date.today().isoformat()}, commit {git_commit() or "?"}, bench '
             f'{seconds / 60:.1f} min on this machine (2 CPU cores, no GPU).  ']
    if weights is None:
        lines += ['', 'No trained weights: nothing measured.']
        return '\n'.join(lines) + '\n'
    shown = weights.relative_to(ROOT) if weights.is_relative_to(ROOT) else weights
    lines.append(f'Weights: `{shown}` (not committed; `embodied-memory perception train` '
                 'recreates them, see docs/perception.md).  ')
    lines += _training_summary(weights)

    def met(ok: bool | None) -> str:
        return 'na' if ok is None else ('yes' if ok else 'no')

    m50, p50 = result['map50_val'], result['detector_ms_p50']
    sy, so = result['sr_yolo_composite'], result['sr_oracle_composite']
    lines += ['', '## Detector, fusion and Composite success: YOLO next to the oracle', '',
              'Fusion: every room of 3 Composite homes explored; a memory node is right when '
              'a ground-truth thing of the same catalog type has its centroid within 0.15 m '
              '(one-to-one). Success: 2 Composite episodes (10 tasks), condition ltm+stm, '
              'grounded planner; the same homes and tasks for both detectors.', '',
              table, '', '## Targets (issue 10), as measured', '',
              '| target | measured | met |', '| --- | --- | --- |',
              f'| mask mAP50 >= 0.7 on unseen homes | {fmt(m50)} | '
              f'{met(None if m50 is None else m50 >= 0.7)} |',
              f'| detector p50 < 150 ms per 320x240 frame, one CPU core | {fmt(p50, 1)} ms | '
              f'{met(None if p50 is None else p50 < 150)} |',
              f'| Composite SR with YOLO within 0.1 of the oracle | {fmt(sy)} vs {fmt(so)} | '
              f'{met(None if sy is None or so is None else so - sy <= 0.1)} |', '',
              'The detector was trained and validated on renders of this simulator only; '
              'what that does and does not prove is in docs/perception.md.', '',
              '```', 'RESULT ' + ' '.join(f'{k}={fmt(v)}' for k, v in result.items()), '```']
    return '\n'.join(lines) + '\n'


def plot(rows: dict[str, dict], ms: list[float] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    keys = ['precision_all', 'recall_all', 'precision_object', 'recall_object', 'sr']
    x = np.arange(len(keys))
    for k, (name, row) in enumerate(rows.items()):
        ax1.bar(x + 0.38 * k, [row.get(key) or 0.0 for key in keys], 0.38, label=name)
    ax1.set_xticks(x + 0.19, keys, rotation=20, fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_title('fusion and Composite success')
    ax1.legend()
    if ms:
        ax2.hist(ms, bins=20)
    ax2.set_xlabel('YOLO ms per 320x240 frame (1 thread)')
    ax2.set_title('detector latency')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    from memory_nodes.perception.sim_segmentation import SimSegmentationDetector
    from memory_nodes.perception.yolo_detector import YoloDetector
    from sim.task_schema import load_suite

    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    weights = find_weights()
    if weights is None and QUICK:
        weights = quick_train()
    result = {'map50_val': None, 'map50_95_val': None, 'detector_ms_p50': None,
              'detector_ms_p95': None, 'fusion_precision_yolo': None,
              'fusion_recall_yolo': None, 'fusion_precision_oracle': None,
              'fusion_recall_oracle': None, 'sr_yolo_composite': None,
              'sr_oracle_composite': None, 'furniture_nodes_oracle': None,
              'furniture_real': None}
    rows: dict[str, dict] = {}
    ms_hist = None
    if weights is None:
        progress('no weights found (run `embodied-memory perception train`); YOLO not measured')
    else:
        shown = weights.relative_to(ROOT) if weights.is_relative_to(ROOT) else weights
        progress(f'weights {shown}')
        detector = YoloDetector(weights)
        metrics = run_metrics(weights)
        if metrics:
            result['map50_val'] = metrics.get('map50')
            result['map50_95_val'] = metrics.get('map50_95')
        frames = sim_frames(10 if QUICK else 40)
        p50, p95, per_frame = time_detector(detector, frames)
        result['detector_ms_p50'], result['detector_ms_p95'] = p50, p95
        ms_hist = detector.ms[2:]
        progress(f'detector p50 {p50:.0f} ms p95 {p95:.0f} ms, {per_frame:.1f} detections/frame')
        episodes = load_suite('composite').episodes
        fusion_eps = episodes[:1 if QUICK else 3]
        for name, det in (('oracle', SimSegmentationDetector()), ('yolo', detector)):
            progress(f'fusion with {name}: exploring {len(fusion_eps)} homes')
            rows[name] = fusion_pr(det, fusion_eps)
            result[f'fusion_precision_{name}'] = rows[name]['precision_all']
            result[f'fusion_recall_{name}'] = rows[name]['recall_all']
        result['furniture_nodes_oracle'] = rows['oracle']['furniture_nodes']
        result['furniture_real'] = rows['oracle']['furniture_real']
        if os.environ.get('SKIP_EPISODES', '') in ('', '0'):
            sr_eps = episodes[:1 if QUICK else 2]
            for name, det in (('oracle', SimSegmentationDetector()), ('yolo', detector)):
                progress(f'Composite with {name}: {len(sr_eps)} episodes')
                rows[name].update(composite_success(det, sr_eps))
                result[f'sr_{name}_composite'] = rows[name]['sr']
    lines = ['| detector | precision (all) | recall (all) | precision (objects) | '
             'recall (objects) | memory nodes | Composite SR | tasks | explorations/task |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for name, row in rows.items():
        lines.append(f"| {name} | {fmt(row.get('precision_all'))} | {fmt(row.get('recall_all'))}"
                     f" | {fmt(row.get('precision_object'))} | {fmt(row.get('recall_object'))}"
                     f" | {row.get('nodes_all')} | {fmt(row.get('sr'))} | "
                     f"{fmt(row.get('tasks'))} | {fmt(row.get('explorations_per_task'), 1)} |")
    lines += ['', '| YOLO | value |', '| --- | --- |',
              f"| mask mAP50 (val homes) | {fmt(result['map50_val'])} |",
              f"| mask mAP50-95 (val homes) | {fmt(result['map50_95_val'])} |",
              f"| ms/frame p50 (1 thread) | {fmt(result['detector_ms_p50'], 1)} |",
              f"| ms/frame p95 (1 thread) | {fmt(result['detector_ms_p95'], 1)} |"]
    table = '\n'.join(lines)
    print(table)
    (OUT / 'perception.md').write_text(table + '\n')
    plot(rows, ms_hist, OUT / 'perception.png')
    print('\nplot: bench/out/perception.png')
    page = os.environ.get('RESULTS_MD')
    if page:
        path = Path(page) if Path(page).is_absolute() else ROOT / page
        path.write_text(results_page(weights, result, table, time.perf_counter() - started))
        progress(f'results page {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}')
    print('RESULT ' + ' '.join(f'{k}={fmt(v)}' for k, v in result.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
