"""Learned-perception benchmark: the shipped detector, fusion with its noise, success.

- detector ms per 320x240 simulator frame on one CPU thread (p50/p95);
- mask mAP50 / mAP50-95 on the validation homes from the weights' `metrics.json` (written
  by `embodied-memory perception train`): the weights shipped in `models/detector/` unless
  `PERCEPTION_WEIGHTS` names a `.pt`. Nothing is trained here;
- fusion precision/recall of the long-term memory after exploring every room of a few
  Composite homes, with YOLO vs the sim_segmentation oracle: the memory's confirmed nodes
  (what the planner uses) against the ground truth, a node right when a thing of the same
  type has its centroid within 0.15 m (one-to-one); the confirmed furniture nodes next to
  the homes' real pieces;
- an ablation: YOLO fusion with each robustness rule switched off in turn (label votes,
  confusable labels, confirmation by detection strength, recall-weighted absence, mask
  erosion at depth edges, furniture parts merged), and with all of them off;
- success on Composite episodes and the ALFRED-L simple file with `perception=yolo` next
  to the oracle (`run_memory_episode`, condition ltm+stm), unless `SKIP_EPISODES=1`.

Prints a markdown table, writes bench/out/perception.md and bench/out/perception.png and
ends with one `RESULT key=value ...` line (`na` for what was not measured). With
`RESULTS_MD=docs/perception_results.md` it also writes the results page: command, commit,
weights, training run, dataset, every number above and the targets as measured.
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
MATCH_M = 0.15
ALFRED_SIMPLE = ROOT.parent / 'shared' / 'datasets' / 'alfred_l' / 'simple_tasks.json'


def progress(msg: str) -> None:
    print(f'[bench-perception] {msg}', flush=True)


def find_weights() -> Path:
    """PERCEPTION_WEIGHTS, else the weights shipped in models/detector."""
    from memory_nodes.perception.yolo_detector import shipped_weights

    env = os.environ.get('PERCEPTION_WEIGHTS')
    return Path(env) if env else shipped_weights()


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


#: Ablations: (name, what is switched off). Each row runs YOLO fusion without that rule.
ABLATIONS: tuple[tuple[str, str], ...] = (
    ('no label vote', 'fusion.vote_labels'),
    ('no confusable labels', 'fusion.confusable_labels'),
    ('no strength-weighted confirmation', 'fusion.confirm_evidence'),
    ('no recall-weighted absence', 'absence.weight_by_recall'),
    ('no mask erosion at depth edges', 'perception.depth_edge_px'),
    ('no furniture-part merging', 'fusion.merge_furniture_parts'),
    ('none of the rules', 'all'),
)


def rule_settings(off: str, profile: str) -> tuple[dict, dict, str]:
    """(LTM config overrides, back-projection overrides, detector profile) with `off` off."""
    ltm: dict = {}
    backprojection: dict = {}
    everything = off == 'all'
    if everything or off == 'fusion.vote_labels':
        ltm.setdefault('fusion', {})['vote_labels'] = False
    if everything or off == 'fusion.confusable_labels':
        ltm.setdefault('fusion', {})['confusable_labels'] = ()
        profile = without_confusions(profile)
    if everything or off == 'fusion.confirm_evidence':
        ltm.setdefault('fusion', {})['confirm_evidence'] = 0.0
    if everything or off == 'absence.weight_by_recall':
        ltm.setdefault('absence', {})['weight_by_recall'] = False
    if everything or off == 'perception.depth_edge_px':
        backprojection['depth_edge_px'] = 0
    if everything or off == 'fusion.merge_furniture_parts':
        ltm.setdefault('fusion', {})['merge_furniture_parts'] = False
    return ltm, backprojection, profile


def without_confusions(profile: str) -> str:
    """A copy of the profile file without its measured confusions (bench/out)."""
    if not profile:
        return ''
    data = json.loads(Path(profile).read_text())
    calibration = dict(data.get('calibration', data))
    calibration['confusions'] = []
    path = OUT / 'profile_without_confusions.json'
    path.write_text(json.dumps({'calibration': calibration}))
    return str(path)


def make_perception(detector, backprojection: dict | None = None, profile: str = ''):
    """SimFramePerception with `detector`, back-projection overrides and a profile."""
    from memory_nodes.evaluation.sim_frames import SimFramePerception
    from memory_nodes.perception.backprojection import BackprojectionConfig
    from memory_nodes.perception.observation_builder import ObservationBuilder

    builder = ObservationBuilder(BackprojectionConfig(pixel_stride=1, **(backprojection or {})))
    return SimFramePerception(detector=detector, builder=builder, detector_profile=profile)


def fusion_pr(detector, episodes, ltm: dict | None = None, backprojection: dict | None = None,
              profile: str = '') -> dict[str, float]:
    """Explore every room of each episode's home; precision/recall of the confirmed nodes."""
    from memory_nodes.domain.household import HOUSEHOLD
    from memory_nodes.domain.skills import SkillCall
    from memory_nodes.evaluation.furniture_count import FurnitureCount, home_furniture_count
    from memory_nodes.evaluation.sim_robot import SimRobot
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.robot_memory import RobotMemory
    from memory_nodes.memory.short_term import ShortTermConfig
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
            cfg = LongTermMemoryConfig.from_dict(
                {**(ltm or {}), 'detector_profile': profile,
                 'embedder': {'backend': 'hashing'}})
            memory = RobotMemory(cfg, ShortTermConfig(capacity=10, policy='robot_aware'))
            for name, footprint in sim.rooms().items():
                memory.ltm.define_room_footprint(name, footprint)
            perception = make_perception(detector, backprojection, profile)
            robot = SimRobot(sim, memory, None, perception)
            for room in sim.rooms():
                robot.execute(SkillCall('explore', area=room))
            ms += perception.ms
            furniture.add(home_furniture_count(sim, memory.ltm))
            # Memory labels are words ('garbage can'); compare as catalog types. The planner
            # uses confirmed nodes only: those are what the memory claims.
            nodes = [(HOUSEHOLD.canonical_type(n.label) or n.label, tuple(n.position))
                     for n in memory.ltm.graph.nodes.values()
                     if n.layer in ('object', 'furniture') and n.status == 'confirmed']
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


def episode_success(detector, episodes, profile: str = '') -> dict[str, float]:
    """Success rate and exploration count over the episodes' tasks (condition ltm+stm)."""
    from memory_nodes.evaluation.episodes import run_memory_episode
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator()
    ok = total = explorations = 0
    try:
        for episode in episodes:
            report = run_memory_episode(sim, episode, 'ltm+stm', text_embeddings='hashing',
                                        perception=make_perception(detector, None, profile))
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
    """What the weights' metrics.json says about training: config, time, epochs, dataset."""
    metrics = run_metrics(weights)
    if not metrics:
        return [f'Weights `{weights.name}`: no metrics.json next to them (not from '
                '`embodied-memory perception train`).']
    cfg = metrics.get('config', {})
    curve = ', '.join(f'{v:.3f}' for v in metrics.get('epoch_map50', []))
    sittings = metrics.get('sittings') or []
    minutes = metrics.get('seconds', 0) / 60
    start = 'random weights' if not sittings or sittings[0].get('start') == 'from scratch' \
        else sittings[0]['start']
    out = [f"Training: `yolov8n-seg.yaml` from {start}, {minutes:.1f} min wall clock on the "
           f"CPU ({cfg.get('threads')} threads) in {max(1, len(sittings))} sitting(s), "
           f"{len(metrics.get('epoch_map50', []))} epochs (time budget "
           f"{cfg.get('time_hours')} h), imgsz {cfg.get('imgsz')}, batch {cfg.get('batch')}, "
           f"nominal batch {cfg.get('nbs') or cfg.get('batch')}, {cfg.get('optimizer')} lr0 "
           f"{cfg.get('lr0')}.  "]
    data = metrics.get('dataset') or {}
    if data:
        homes = data.get('homes', {})
        out.append(f"Dataset: {data['images']['train']} train images from "
                   f"{len(homes.get('train', []))} homes, {data['images']['val']} val "
                   f"images from {len(homes.get('val', []))} other homes "
                   f"({data['instances']['val']} instances), "
                   f"{data.get('views_per_home')} views per home, seed {data.get('seed')}.  ")
    if curve:
        out.append(f'Mask mAP50 on the val homes after each epoch: {curve}.  ')
    threshold = metrics.get('score_threshold')
    if threshold is not None:
        out.append(f'Score threshold (best mean mask F1 on the val homes): {threshold}.  ')
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
                   + ', '.join(f'{k} {v:.2f}' for k, v in ranked[-5:]) + '.  ')
    calibration = metrics.get('calibration') or {}
    if calibration.get('recall'):
        rows = list(calibration['recall'].values())
        bins = calibration.get('distance_bins_m', [])
        means = [sum(r[b] for r in rows) / len(rows) for b in range(len(bins) + 1)]
        edges = ['< ' + str(bins[0])] + [f'{lo}-{hi}' for lo, hi in zip(bins, bins[1:])] \
            + ['>= ' + str(bins[-1])] if bins else ['all']
        top = ', '.join(f'{a}->{b} {r:.2f}' for a, b, r in calibration.get('confusions', [])[:6])
        out.append(f"Calibration (`perception calibrate`, {calibration.get('frames')} views of "
                   f"{len(calibration.get('homes', []))} fresh homes): mean recall by distance "
                   + ', '.join(f'{e} m {m:.2f}' for e, m in zip(edges, means))
                   + f'; most frequent confusions {top or "none"}.')
    return out


TARGETS = (
    # (text, result key, test)
    ('furniture nodes within 2 % of the real count (oracle masks)', 'furniture_nodes_oracle',
     lambda r: abs(r['furniture_nodes_oracle'] - r['furniture_real'])
     <= 0.02 * r['furniture_real']),
    ('fusion precision >= 0.8 with the learned detector', 'fusion_precision_yolo',
     lambda r: r['fusion_precision_yolo'] >= 0.8),
    ('fusion recall >= 0.7 with the learned detector', 'fusion_recall_yolo',
     lambda r: r['fusion_recall_yolo'] >= 0.7),
    ('Composite success with the learned detector >= 0.7', 'sr_yolo_composite',
     lambda r: r['sr_yolo_composite'] >= 0.7),
    ('mask mAP50 >= 0.7 on unseen homes', 'map50_val', lambda r: r['map50_val'] >= 0.7),
    ('detector p50 < 60 ms per 320x240 frame, one CPU core', 'detector_ms_p50',
     lambda r: r['detector_ms_p50'] < 60),
)


def targets_table(result: dict) -> list[str]:
    """The issue's targets as measured in this run."""
    lines = ['| target | measured | met |', '| --- | --- | --- |']
    for text, key, test in TARGETS:
        value = result.get(key)
        try:
            ok = 'yes' if test(result) else 'no'
        except (TypeError, KeyError):
            ok = 'na'
        shown = fmt(value)
        if key == 'furniture_nodes_oracle':
            shown = f"{fmt(value)} nodes for {fmt(result.get('furniture_real'))} pieces"
        lines.append(f'| {text} | {shown} | {ok} |')
    return lines


def results_page(weights: Path, result: dict, tables: str, seconds: float,
                 setup: str) -> str:
    """docs/perception_results.md: generated from one bench run, never written by hand."""
    import datetime

    from memory_nodes.evaluation.bench_cli import git_commit

    lines = ['# Results: learned perception (YOLOv8n-seg trained on simulator renders)', '',
             '<!-- GENERATED by `RESULTS_MD=docs/perception_results.md make bench-perception` '
             '(bench/perception.py); do not edit. -->', '',
             f'Date: {datetime.date.today().isoformat()}, commit {git_commit() or "?"}, bench '
             f'{seconds / 60:.1f} min on this machine (2 CPU cores, no GPU).  ']
    shown = weights.relative_to(ROOT) if weights.is_relative_to(ROOT) else weights
    lines.append(f'Weights: `{shown}` ({weights.stat().st_size / 1e6:.1f} MB, in the '
                 'repository; how they were produced: docs/perception.md).  ')
    lines += _training_summary(weights)
    lines += ['', '## Detector, fusion and success: YOLO next to the oracle', '', setup, '',
              tables, '', '## Targets (issue 18), as measured', '']
    lines += targets_table(result)
    lines += ['', 'The detector was trained and validated on renders of this simulator only; '
              'what that does and does not prove is in docs/perception.md.', '',
              '```', 'RESULT ' + ' '.join(f'{k}={fmt(v)}' for k, v in result.items()), '```']
    return '\n'.join(lines) + '\n'


def plot(rows: dict[str, dict], ablation: dict[str, dict], ms: list[float] | None,
         path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.5))
    keys = ['precision_all', 'recall_all', 'precision_object', 'recall_object', 'sr',
            'sr_alfred']
    x = np.arange(len(keys))
    for k, (name, row) in enumerate(rows.items()):
        ax1.bar(x + 0.38 * k, [row.get(key) or 0.0 for key in keys], 0.38, label=name)
    ax1.set_xticks(x + 0.19, keys, rotation=20, fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.set_title('fusion and success: oracle vs YOLO')
    ax1.legend()
    names = list(ablation)
    y = np.arange(len(names))
    ax2.barh(y - 0.2, [ablation[n]['precision_all'] for n in names], 0.4, label='precision')
    ax2.barh(y + 0.2, [ablation[n]['recall_all'] for n in names], 0.4, label='recall')
    ax2.set_yticks(y, names, fontsize=7)
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_title('YOLO fusion, each rule off')
    ax2.legend(fontsize=7)
    if ms:
        ax3.hist(ms, bins=20)
    ax3.set_xlabel('YOLO ms per 320x240 frame (1 thread)')
    ax3.set_title('detector latency')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: Parallel runs (each single-threaded: one simulator, one torch thread).
WORKERS = int(os.environ.get('BENCH_WORKERS', '2'))


def run_job(job: tuple, weights: str, fusion_eps: list[int], sr_eps: list[int]) -> tuple:
    """One fusion or success run in a worker process: ((kind, name), result)."""
    import torch

    from memory_nodes.perception.sim_segmentation import SimSegmentationDetector
    from memory_nodes.perception.yolo_detector import YoloDetector
    from sim.alfred_l import import_alfred_l_file
    from sim.task_schema import load_suite

    torch.set_num_threads(1)
    kind, name, detector_name, ltm, backprojection, profile = job
    detector = SimSegmentationDetector() if detector_name == 'oracle' else \
        YoloDetector(weights)
    episodes = load_suite('composite').episodes
    t0 = time.perf_counter()
    if kind == 'fusion':
        got = fusion_pr(detector, [episodes[i] for i in fusion_eps], ltm, backprojection,
                        profile)
    elif kind == 'composite':
        got = episode_success(detector, [episodes[i] for i in sr_eps], profile)
    else:
        got = episode_success(detector, import_alfred_l_file(ALFRED_SIMPLE).suite.episodes,
                              profile)
    got['seconds'] = time.perf_counter() - t0
    return (kind, name), got


def run_jobs(jobs: list[tuple], weights: Path, fusion_eps: list[int],
             sr_eps: list[int]) -> dict[tuple[str, str], dict]:
    """All runs on `WORKERS` processes (spawned: no simulator or torch state is shared)."""
    import multiprocessing
    from functools import partial

    work = partial(run_job, weights=str(weights), fusion_eps=fusion_eps, sr_eps=sr_eps)
    done: dict[tuple[str, str], dict] = {}
    if WORKERS <= 1:
        results = map(work, jobs)
        for key, got in results:
            done[key] = got
            progress(f'[{len(done)}/{len(jobs)}] {key[0]} {key[1]}: {got["seconds"]:.0f} s')
        return done
    with multiprocessing.get_context('spawn').Pool(WORKERS) as pool:
        for key, got in pool.imap_unordered(work, jobs):
            done[key] = got
            progress(f'[{len(done)}/{len(jobs)}] {key[0]} {key[1]}: {got["seconds"]:.0f} s')
    return done


def main() -> int:
    from memory_nodes.perception.yolo_detector import YoloDetector, detector_profile_of

    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    weights = find_weights()
    if not weights.is_file():
        progress(f'no weights at {weights} (the repository ships models/detector; '
                 'PERCEPTION_WEIGHTS names others)')
        print('RESULT map50_val=na')
        return 1
    shown = weights.relative_to(ROOT) if weights.is_relative_to(ROOT) else weights
    progress(f'weights {shown}')
    detector = YoloDetector(weights)
    profile = detector_profile_of(weights)
    progress(f"detector profile: {profile or 'none (no calibration in metrics.json)'}")
    metrics = run_metrics(weights)
    result: dict[str, object] = {
        'map50_val': metrics.get('map50'), 'map50_95_val': metrics.get('map50_95')}
    frames = sim_frames(10 if QUICK else 40)
    p50, p95, per_frame = time_detector(detector, frames)
    result['detector_ms_p50'], result['detector_ms_p95'] = p50, p95
    ms_hist = detector.ms[2:]
    progress(f'detector p50 {p50:.0f} ms p95 {p95:.0f} ms, {per_frame:.1f} detections/frame')
    fusion_eps = list(range(1 if QUICK else 3))
    sr_eps = list(range(1 if QUICK else 2))
    jobs: list[tuple] = [('fusion', 'oracle', 'oracle', None, None, ''),
                         ('fusion', 'yolo', 'yolo', None, None, profile)]
    for name, off in ABLATIONS[-1:] if QUICK else ABLATIONS:
        ltm, backprojection, prof = rule_settings(off, profile)
        jobs.append(('fusion', name, 'yolo', ltm, backprojection, prof))
    if os.environ.get('SKIP_EPISODES', '') in ('', '0'):
        for name, prof in (('oracle', ''), ('yolo', profile)):
            jobs.append(('composite', name, name, None, None, prof))
            if not QUICK and ALFRED_SIMPLE.exists():
                jobs.append(('alfred', name, name, None, None, prof))
    progress(f'{len(jobs)} runs on {WORKERS} workers: fusion over {len(fusion_eps)} '
             f'Composite homes (oracle, YOLO, {len(jobs) - 2} more), success on '
             f'{len(sr_eps)} Composite episodes and the ALFRED-L simple file')
    done = run_jobs(jobs, weights, fusion_eps, sr_eps)
    rows: dict[str, dict] = {'oracle': dict(done[('fusion', 'oracle')]),
                             'yolo': dict(done[('fusion', 'yolo')])}
    for name in ('oracle', 'yolo'):
        result[f'fusion_precision_{name}'] = rows[name]['precision_all']
        result[f'fusion_recall_{name}'] = rows[name]['recall_all']
    result['furniture_nodes_oracle'] = rows['oracle']['furniture_nodes']
    result['furniture_real'] = rows['oracle']['furniture_real']
    result['furniture_nodes_yolo'] = rows['yolo']['furniture_nodes']
    ablation: dict[str, dict] = {'all rules (default)': rows['yolo']}
    for name, _ in ABLATIONS:
        if ('fusion', name) in done:
            ablation[name] = done[('fusion', name)]
    result['fusion_precision_yolo_no_rules'] = ablation['none of the rules']['precision_all']
    result['fusion_recall_yolo_no_rules'] = ablation['none of the rules']['recall_all']
    for name in ('oracle', 'yolo'):
        if ('composite', name) in done:
            rows[name].update(done[('composite', name)])
            result[f'sr_{name}_composite'] = rows[name]['sr']
        if ('alfred', name) in done:
            got = done[('alfred', name)]
            rows[name]['sr_alfred'], rows[name]['tasks_alfred'] = got['sr'], got['tasks']
            result[f'sr_{name}_alfred_l_simple'] = got['sr']
    lines = ['| detector | precision | recall | precision (objects) | recall (objects) | '
             'confirmed nodes | furniture nodes (real) | Composite SR (tasks) | '
             'ALFRED-L simple SR (tasks) | explorations/task |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for name, row in rows.items():
        lines.append(
            f"| {name} | {fmt(row.get('precision_all'))} | {fmt(row.get('recall_all'))}"
            f" | {fmt(row.get('precision_object'))} | {fmt(row.get('recall_object'))}"
            f" | {row.get('nodes_all')} | {row.get('furniture_nodes')} "
            f"({row.get('furniture_real')}) | {fmt(row.get('sr'))} ({fmt(row.get('tasks'))}) | "
            f"{fmt(row.get('sr_alfred'))} ({fmt(row.get('tasks_alfred'))}) | "
            f"{fmt(row.get('explorations_per_task'), 1)} |")
    lines += ['', '| YOLO fusion | precision | recall | precision (objects) | '
              'recall (objects) | confirmed nodes |', '| --- | --- | --- | --- | --- | --- |']
    for name, row in ablation.items():
        lines.append(f"| {name} | {fmt(row['precision_all'])} | {fmt(row['recall_all'])} | "
                     f"{fmt(row['precision_object'])} | {fmt(row['recall_object'])} | "
                     f"{row['nodes_all']} |")
    lines += ['', '| YOLO | value |', '| --- | --- |',
              f"| mask mAP50 (val homes) | {fmt(result['map50_val'])} |",
              f"| mask mAP50-95 (val homes) | {fmt(result['map50_95_val'])} |",
              f"| ms/frame p50 (1 thread) | {fmt(result['detector_ms_p50'], 1)} |",
              f"| ms/frame p95 (1 thread) | {fmt(result['detector_ms_p95'], 1)} |"]
    table = '\n'.join(lines)
    print(table)
    print()
    print('\n'.join(targets_table(result)))
    (OUT / 'perception.md').write_text(table + '\n')
    plot(rows, ablation, ms_hist, OUT / 'perception.png')
    print('\nplot: bench/out/perception.png')
    setup = (f'Fusion: every room of {len(fusion_eps)} Composite homes explored; the '
             "memory's confirmed nodes (what the planner uses) against the ground truth, a "
             'node right when a thing of the same catalog type has its centroid within '
             '0.15 m (one-to-one). Success: Composite episodes and the ALFRED-L simple file, '
             'condition ltm+stm, grounded planner; the same homes and tasks for both '
             "detectors. YOLO's memory reads the detector profile measured for the weights "
             '(recall by class and distance, confusions).')
    page = os.environ.get('RESULTS_MD')
    if page:
        path = Path(page) if Path(page).is_absolute() else ROOT / page
        path.write_text(results_page(weights, result, table, time.perf_counter() - started,
                                     setup))
        progress(f'results page {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}')
    print('RESULT ' + ' '.join(f'{k}={fmt(v)}' for k, v in result.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
