"""Replay a bag through perception and memory offline: `replay_bag(path, options)`.

The same core the live nodes run: the bag's `/tf` + `/tf_static` fill a `TfBuffer`
(first pass), then colour, depth, camera info (and, for the `sim_segmentation` detector,
the segmentation image + instances JSON) are paired by stamp, the camera pose is looked up
(`map_frame` <- the image's frame at the image stamp), and each frame goes through the
detector, `ObservationBuilder` and `RobotMemory.observe`, exactly as the perception node
publishes and the memory node fuses. Topics are found by logical name (those of the
perception node: rgb, depth, camera_info, segmentation, instances) through `topics`. The
memory node's other inputs, when the bag has them (`rooms`, the robot's own
`state_events`, `task_context`: a recording of the sim stack does), are applied in bag
order between the frames, as the memory node applies them.

Frames that cannot be used are dropped, counted by reason (no_tf, unpaired, undecodable,
size_mismatch, detector_error) with topic + stamp examples, and replay goes on. Nothing
here imports rclpy.
"""

from __future__ import annotations

import heapq
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.bags.reader import BagMessage, BagReader, stamp_of
from memory_nodes.domain.labels import label_key
from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.rooms import parse_room_annotation
from memory_nodes.memory.short_term import task_context_labels
from memory_nodes.memory.state_change import own_action_change
from memory_nodes.perception.backprojection import BackprojectionConfig
from memory_nodes.perception.image_decoding import (
    colour_from_msg,
    compressed_colour_from_msg,
    depth_from_msg,
    image_from_msg,
    intrinsics_from_msg,
)
from memory_nodes.perception.observation_builder import ObservationBuilder, RgbdFrame
from memory_nodes.perception.tf_tree import TfBuffer, TransformError, add_tf_message

#: The memory node's other inputs, applied in bag order when the bag has them: the room
#: annotation, the state changes the robot's own actions caused, the task's labels.
MEMORY_INPUTS = ('rooms', 'state_events', 'task_context')
LOGICAL_TOPICS = ('rgb', 'depth', 'camera_info', 'segmentation', 'instances') + MEMORY_INPUTS
DEFAULT_TOPICS = {'rgb': '/rgb/image_raw', 'depth': '/depth/image_raw',
                  'camera_info': '/camera_info', 'segmentation': '/segmentation/image_raw',
                  'instances': '/segmentation/instances', 'rooms': '/rooms',
                  'state_events': '/object_state_events', 'task_context': '/task_context'}
DROP_REASONS = ('no_tf', 'unpaired', 'undecodable', 'size_mismatch', 'detector_error')


@dataclass
class ReplayOptions:
    """What to read, how to pair and look up, which detector; defaults = the live nodes'."""

    topics: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TOPICS))
    tf_topic: str = '/tf'
    tf_static_topic: str = '/tf_static'
    map_frame: str = 'map'
    camera_frame: str = ''  # empty: the colour image's header frame_id
    detector: str = 'sim_segmentation'
    yolo_weights: str = ''
    rate: float = 0.0  # 0: as fast as possible; R: R x real time
    sync_tolerance: float = 0.02
    tf_tolerance: float = 0.05  # extrapolation allowed past the first/last TF sample (s)
    tf_cache_time: float = 0.0  # 0: keep the whole bag's TF
    tf_max_gap: float = 1.0  # s between TF samples beyond which nothing is interpolated
    # s of stamps an incomplete frame waits for its other parts before it drops. Generous:
    # a recording on simulated time receives the topics of one frame seconds apart when
    # the clock jumps (measured: up to 15 s in a sim-stack recording), and only frames
    # that are still missing a part wait.
    pair_horizon: float = 30.0
    min_depth: float = 0.15
    max_depth: float = 6.0
    voxel_size: float = 0.02
    max_points: int = 1024
    ltm_config: LongTermMemoryConfig | None = None
    out: str | Path | None = None
    progress: bool = False
    examples_per_reason: int = 3

    def remap(self, pairs: Sequence[str]) -> None:
        """Apply `--map TOPIC=NAME` items (NAME one of LOGICAL_TOPICS, or tf / tf_static)."""
        for item in pairs:
            topic, sep, name = item.partition('=')
            if not sep or not topic or not name:
                raise ValueError(f'--map {item!r}: expected TOPIC=NAME, e.g. '
                                 f'/camera/color/image_raw=rgb')
            if name == 'tf':
                self.tf_topic = topic
            elif name == 'tf_static':
                self.tf_static_topic = topic
            elif name in LOGICAL_TOPICS:
                self.topics[name] = topic
            else:
                raise ValueError(f'--map {item!r}: unknown name {name!r}, expected one of '
                                 f'{", ".join(LOGICAL_TOPICS + ("tf", "tf_static"))}')


@dataclass
class ReplayResult:
    """The replayed memory, the summary (also summary.json) and per-frame seconds."""

    memory: RobotMemory
    summary: dict[str, Any]
    frame_seconds: list[float]
    out: Path | None = None


class _Drops:
    """Dropped frames by reason, with a few (topic, stamp, detail) examples each."""

    def __init__(self, examples: int) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self.limit = examples

    def add(self, reason: str, topic: str, stamp: float, detail: str) -> None:
        self.counts[reason] += 1
        found = self.examples.setdefault(reason, [])
        if len(found) < self.limit:
            found.append({'topic': topic, 'stamp': round(stamp, 6), 'detail': detail})


class _Pairer:
    """Groups one message per stream whose stamps agree with the colour image's."""

    def __init__(self, streams: Sequence[str], tolerance: float, horizon: float,
                 drops: _Drops, topics: Mapping[str, str]) -> None:
        self.streams = list(streams)
        self.tolerance, self.horizon = tolerance, horizon
        self.pending: dict[str, list[tuple[float, Any]]] = {s: [] for s in self.streams}
        self.drops, self.topics = drops, topics
        self.newest = -math.inf

    def add(self, stream: str, stamp: float, item: Any) -> list[tuple[float, dict[str, Any]]]:
        self.pending[stream].append((stamp, item))
        self.newest = max(self.newest, stamp)
        return self._ready(final=False)

    def flush(self) -> list[tuple[float, dict[str, Any]]]:
        return self._ready(final=True)

    def _ready(self, final: bool) -> list[tuple[float, dict[str, Any]]]:
        out = []
        rgb = self.pending['rgb']
        rgb.sort(key=lambda e: e[0])
        while rgb:
            stamp, msg = rgb[0]
            parts, missing = {'rgb': msg}, []
            for name in self.streams[1:]:
                best = min(self.pending[name], key=lambda e: abs(e[0] - stamp), default=None)
                if best is None or abs(best[0] - stamp) > self.tolerance:
                    missing.append(name)
                else:
                    parts[name] = best
            if missing and not final and self.newest - stamp <= self.horizon:
                break  # the rest may still come
            rgb.pop(0)
            if missing:
                self.drops.add('unpaired', self.topics['rgb'], stamp,
                               f'no {", ".join(missing)} within {self.tolerance:g} s '
                               f'({", ".join(self.topics[m] for m in missing)})')
                continue
            for name in self.streams[1:]:
                entry = parts[name]
                self.pending[name] = [e for e in self.pending[name]
                                      if e is not entry and e[0] > stamp - self.tolerance]
                parts[name] = entry[1]
            out.append((stamp, parts))
        if final or rgb:
            return out
        # No colour image waits: messages of other streams too old for any later one go.
        for name in self.streams[1:]:
            self.pending[name] = [e for e in self.pending[name]
                                  if e[0] > self.newest - self.horizon - self.tolerance]
        return out


def make_detector(options: ReplayOptions):  # noqa: ANN201 - a Detector
    """The detector the perception node would make for these options."""
    if options.detector == 'sim_segmentation':
        from memory_nodes.perception.sim_segmentation import SimSegmentationDetector

        return SimSegmentationDetector()
    if options.detector == 'yolo':
        if not options.yolo_weights:
            raise ValueError('detector yolo needs --yolo-weights (trained weights)')
        from memory_nodes.perception.yolo_detector import YoloDetector

        return YoloDetector(options.yolo_weights)
    raise ValueError(f'unknown detector {options.detector!r}: sim_segmentation or yolo')


def _colour(msg: Any, type_name: str) -> np.ndarray:
    if type_name.endswith('CompressedImage') or not hasattr(msg, 'encoding'):
        return compressed_colour_from_msg(msg)
    return colour_from_msg(msg)


def replay_bag(path: str | Path, options: ReplayOptions | None = None,
               on_frame: Callable[[int, float], None] | None = None) -> ReplayResult:
    """Run perception + memory over a bag; writes memory + summary.json to `options.out`."""
    opts = options or ReplayOptions()
    setup = time.perf_counter()
    reader = BagReader(path)
    detector = make_detector(opts)
    # open3d (back-projection clean-up) takes a second to import: pay it at start-up, as
    # the perception node does, not in the replay's time.
    import open3d  # noqa: F401

    started = time.perf_counter()
    out = Path(opts.out) if opts.out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    memory = RobotMemory(opts.ltm_config or LongTermMemoryConfig())
    builder = ObservationBuilder(BackprojectionConfig(
        min_depth=opts.min_depth, max_depth=opts.max_depth, voxel_size=opts.voxel_size,
        max_points=opts.max_points))
    drops = _Drops(opts.examples_per_reason)

    # ---- pass 1: the TF tree, the bag's extent, how many colour frames --------------
    tf = TfBuffer(cache_time=opts.tf_cache_time or math.inf,
                  extrapolation_tolerance=opts.tf_tolerance, max_gap=opts.tf_max_gap)
    tf_topics = {opts.tf_topic: False, opts.tf_static_topic: True}
    first_time, last_time, rgb_total = math.inf, -math.inf, 0
    tf_errors: list[str] = []
    for msg in reader.messages():
        first_time, last_time = min(first_time, msg.log_time), max(last_time, msg.log_time)
        if msg.topic == opts.topics['rgb']:
            rgb_total += 1
        if msg.topic in tf_topics:
            try:
                tf_errors += add_tf_message(tf, reader.decode(msg), tf_topics[msg.topic])
            except ValueError as exc:
                tf_errors.append(str(exc))
    bag_topics = dict(reader.topics)
    counts = dict(reader.counts)
    first_pass_problems = list(reader.problems)

    # ---- pass 2: frames -------------------------------------------------------------
    streams = ['rgb', 'depth', 'camera_info']
    if detector.name == 'sim_segmentation':
        streams += ['segmentation', 'instances']
    for name in streams:
        if opts.topics[name] not in bag_topics:
            first_pass_problems.append(_problem(
                'missing_topic', opts.topics[name], first_time if rgb_total else 0.0,
                f'no {name} topic {opts.topics[name]!r} in the bag (its topics: '
                f'{", ".join(sorted(bag_topics))}); map one with --map TOPIC={name}'))
    by_topic = {opts.topics[name]: name for name in streams}
    inputs = {opts.topics[name]: name for name in MEMORY_INPUTS
              if opts.topics[name] in bag_topics}
    applied: dict[str, int] = {}
    pairer = _Pairer(streams, opts.sync_tolerance, opts.pair_horizon, drops, opts.topics)
    reader.problems = []
    frame_seconds: list[float] = []
    used, observations_total = 0, 0
    progress = _Progress(rgb_total, first_time, last_time) if opts.progress else None
    wall0 = time.perf_counter()

    def process(stamp: float, parts: dict[str, Any]) -> None:
        nonlocal used, observations_total
        t0 = time.perf_counter()
        ok = _process_frame(stamp, parts, opts, tf, detector, builder, memory, drops,
                            reader.topics)
        frame_seconds.append(time.perf_counter() - t0)
        if ok is not None:
            used += 1
            observations_total += ok
        if on_frame is not None:
            on_frame(used, stamp)

    events: list[tuple[float, int, float, str, Any]] = []
    applied_order: list[float] = []

    def apply_input(name: str, topic: str, log_time: float, decoded: Any) -> None:
        try:
            _apply_memory_input(name, decoded, memory)
            applied[name] = applied.get(name, 0) + 1
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            drops.add(f'bad_{name}', topic, log_time, str(exc))

    def apply_events(before: float) -> None:
        while events and events[0][0] <= before:
            _, _, log_time, topic, decoded = heapq.heappop(events)
            apply_input('state_events', topic, log_time, decoded)

    for msg in reader.messages({**by_topic, **inputs}):
        if opts.rate > 0 and math.isfinite(first_time):
            wait = (msg.log_time - first_time) / opts.rate - (time.perf_counter() - wall0)
            if wait > 0:
                time.sleep(wait)
        if msg.topic in inputs:
            name = inputs[msg.topic]
            try:
                decoded = reader.decode(msg)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                drops.add(f'bad_{name}', msg.topic, msg.log_time, str(exc))
                continue
            if name == 'state_events':
                # In stamp order with the frames: a frame taken before the change is
                # fused before it, whatever order the recorder received them in.
                heapq.heappush(events, (stamp_of(decoded, msg.log_time), len(applied_order),
                                        msg.log_time, msg.topic, decoded))
                applied_order.append(msg.log_time)
            else:
                apply_input(name, msg.topic, msg.log_time, decoded)
            continue
        name = by_topic[msg.topic]
        try:
            decoded = reader.decode(msg)
            if name == 'instances':
                data = json.loads(decoded.data)
                stamp = float(data['stamp'])
                item: Any = data
            else:
                stamp = stamp_of(decoded, msg.log_time)
                item = decoded
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            drops.add('undecodable', msg.topic, msg.log_time, str(exc))
            continue
        for frame_stamp, parts in pairer.add(name, stamp, item):
            apply_events(frame_stamp)
            process(frame_stamp, parts)
        if progress is not None:
            progress.show(used, sum(drops.counts.values()), msg.log_time)
    for frame_stamp, parts in pairer.flush():
        apply_events(frame_stamp)
        process(frame_stamp, parts)
    apply_events(math.inf)
    wall = time.perf_counter() - started
    if progress is not None:
        progress.show(used, sum(drops.counts.values()), last_time, final=True)

    duration = max(last_time - first_time, 0.0) if math.isfinite(first_time) else 0.0
    problems = first_pass_problems + [p for p in reader.problems if p.kind != 'truncated']
    nodes = memory.ltm.graph.nodes.values()
    summary = {
        'bag': str(reader.path),
        'detector': detector.name,
        'topics_used': {name: opts.topics[name] for name in streams},
        'tf': {'topics': [opts.tf_topic, opts.tf_static_topic], 'frames': sorted(tf.frames()),
               'map_frame': opts.map_frame, 'camera_frame': opts.camera_frame or '(header)',
               'errors': tf_errors[:opts.examples_per_reason]},
        'frames_in_bag': rgb_total,
        'frames_used': used,
        'frames_dropped': dict(drops.counts),
        'dropped_examples': drops.examples,
        'problems': [asdict(p) for p in problems],
        'observations': observations_total,
        'memory_inputs': {name: {'topic': topic, 'applied': applied.get(name, 0)}
                          for topic, name in inputs.items()},
        'confirmed_objects': sum(1 for n in nodes if n.status == 'confirmed'
                                 and n.layer in ('object', 'furniture')),
        'memory_nodes': len(memory.ltm.graph.nodes),
        'bag_duration_s': round(duration, 3),
        'wall_s': round(wall, 3),
        'startup_s': round(started - setup, 3),
        'speedup': round(duration / wall, 2) if wall > 0 else 0.0,
        'frame_ms_mean': round(1000 * float(np.mean(frame_seconds)), 2) if frame_seconds
        else 0.0,
        'bag_topics': {t: {'type': bag_topics[t], 'messages': counts.get(t, 0)}
                       for t in sorted(bag_topics)},
    }
    if out is not None:
        # What SaveMemory writes: SQLite for .db, JSON otherwise.
        memory.save(out / 'memory.db')
        memory.save(out / 'memory.json')
        (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    return ReplayResult(memory, summary, frame_seconds, out)


def _apply_memory_input(name: str, msg: Any, memory: RobotMemory) -> None:
    """What the memory node does with a rooms / state-event / task-context message."""
    if name == 'rooms':
        for room, footprint in parse_room_annotation(msg.data).rooms.items():
            memory.ltm.define_room_footprint(room, footprint)
    elif name == 'task_context':
        memory.stm.set_task_context(task_context_labels(msg.data))
    else:
        p = msg.position
        # `memory_id` names a node of the memory that was live when the bag was recorded,
        # not of this one (ids follow creation order): found again by label and place.
        memory.record(own_action_change(
            msg.label, stamp_of(msg, 0.0), (p.x, p.y, p.z),
            {s.name: s.value for s in msg.states}, msg.changed, msg.parent_label),
            executor_id=msg.object_id)


def _problem(kind: str, topic: str, stamp: float, detail: str):  # noqa: ANN202
    from memory_nodes.bags.reader import BagProblem

    return BagProblem(kind, topic, stamp, detail)


def _process_frame(stamp: float, parts: dict[str, Any], opts: ReplayOptions, tf: TfBuffer,
                   detector: Any, builder: ObservationBuilder, memory: RobotMemory,
                   drops: _Drops, types: Mapping[str, str]) -> int | None:
    """One paired frame through detector + builder + memory; None when it was dropped."""
    rgb_topic = opts.topics['rgb']
    rgb_msg = parts['rgb']
    camera = opts.camera_frame or rgb_msg.header.frame_id
    try:
        pose = tf.lookup(opts.map_frame, camera, stamp)
    except TransformError as exc:
        drops.add('no_tf', rgb_topic, stamp, str(exc))
        return None
    topic = rgb_topic
    try:
        rgb = _colour(rgb_msg, types.get(rgb_topic, ''))
        topic = opts.topics['depth']
        depth = depth_from_msg(parts['depth'])
        topic = opts.topics['camera_info']
        info = parts['camera_info']
        k = intrinsics_from_msg(info)
        extras = {}
        if 'segmentation' in parts:
            topic = opts.topics['segmentation']
            seg = image_from_msg(parts['segmentation'], ('32SC1',))
            topic = opts.topics['instances']
            extras = {'segmentation': seg, 'instances': {
                int(key): value for key, value in parts['instances']['instances'].items()}}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        drops.add('undecodable', topic, stamp, str(exc))
        return None
    sizes = {opts.topics['rgb']: rgb.shape[:2], opts.topics['depth']: depth.shape,
             opts.topics['camera_info']: (int(info.height), int(info.width))}
    if 'segmentation' in extras:
        sizes[opts.topics['segmentation']] = extras['segmentation'].shape
    if len(set(sizes.values())) > 1:
        drops.add('size_mismatch', rgb_topic, stamp, 'sizes (rows, columns) differ: ' + ', '.join(
            f'{t} {s[0]}x{s[1]}' for t, s in sizes.items()))
        return None
    frame = RgbdFrame(rgb, depth, k, pose, stamp, opts.map_frame)
    try:
        frame.validate()
        detections = detector.detect(rgb, **extras)
        observations = builder.build(frame, detections,
                                     getattr(detector, 'mask_edge_px', 0))
    except (ValueError, KeyError, TypeError) as exc:
        drops.add('detector_error', rgb_topic, stamp, str(exc))
        return None
    memory.observe(observations)
    return len(observations)


class _Progress:
    """One self-overwriting progress line on stderr, at most twice a second."""

    def __init__(self, total: int, first: float, last: float) -> None:
        self.total, self.first, self.last = total, first, last
        self.start = time.perf_counter()
        self.shown = 0.0

    def show(self, used: int, dropped: int, bag_time: float, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self.shown < 0.5:
            return
        self.shown = now
        elapsed = max(now - self.start, 1e-9)
        played = max(bag_time - self.first, 0.0) if math.isfinite(self.first) else 0.0
        span = max(self.last - self.first, 1e-9) if math.isfinite(self.first) else 1e-9
        line = (f'[replay] {used + dropped}/{self.total} frames ({100 * played / span:3.0f}% of '
                f'the bag), used {used}, dropped {dropped}, {played / elapsed:.1f}x real time')
        sys.stderr.write('\r' + line + ('\n' if final else ''))
        sys.stderr.flush()


def confirmed_objects(memory: Any, layers: tuple[str, ...] = ('object', 'furniture')
                      ) -> list[tuple[str, np.ndarray]]:
    """(label, centroid) of every confirmed node of `layers` in a memory.

    `memory` is a RobotMemory, a LongTermMemory, a graph dict (`to_dict`) or already a
    list of (label, position).
    """
    ltm = getattr(memory, 'ltm', memory)
    graph = getattr(ltm, 'graph', None)
    if graph is not None:
        return [(n.label, np.asarray(n.position, float)) for n in graph.nodes.values()
                if n.status == 'confirmed' and n.layer in layers]
    if isinstance(memory, Mapping):
        return [(n['label'], np.asarray(n['position'], float)) for n in memory['nodes']
                if n.get('status') == 'confirmed' and n.get('layer') in layers]
    return [(str(label), np.asarray(pos, float)) for label, pos in memory]


def match_confirmed(reference: Any, other: Any, tol_m: float = 0.15) -> float:
    """Fraction of `reference`'s confirmed objects that `other` has too.

    One-to-one: the same label (compared by `label_key`: 'DishSponge' is 'dish sponge')
    and centroids within `tol_m`, closest pairs first. 1.0 when
    the reference has none and neither has `other`, else 0.0 for an empty reference.
    """
    ref, oth = confirmed_objects(reference), confirmed_objects(other)
    if not ref:
        return 1.0 if not oth else 0.0
    pairs = sorted((float(np.linalg.norm(p - q)), i, j) for i, (a, p) in enumerate(ref)
                   for j, (b, q) in enumerate(oth) if label_key(a) == label_key(b))
    used_r, used_o = set(), set()
    for dist, i, j in pairs:
        if dist > tol_m:
            break
        if i not in used_r and j not in used_o:
            used_r.add(i)
            used_o.add(j)
    return len(used_r) / len(ref)


__all__ = ['BagMessage', 'DEFAULT_TOPICS', 'LOGICAL_TOPICS', 'ReplayOptions', 'ReplayResult',
           'confirmed_objects', 'match_confirmed', 'replay_bag']
