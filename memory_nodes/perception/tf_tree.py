"""A TF buffer without tf2_ros: static and dynamic transforms, chained and interpolated.

Each child frame has one parent. A transform `parent <- child` is either static (valid at
every stamp) or a time series of samples kept for `cache_time` seconds behind the newest.
`lookup(target, source, stamp)` answers `target <- source` as a 4x4 matrix by walking both
frames up to their common ancestor, interpolating each dynamic edge between the samples
that bracket the stamp (lerp of the translation, slerp of the rotation). A stamp just
outside an edge's samples is answered with the nearest sample when it is within
`extrapolation_tolerance`; between two samples further apart than `max_gap` seconds
(odometry that stopped) nothing is interpolated. Otherwise `TransformError` says which
frames, which stamp and why (unknown frame, not connected, too old, in the future, gap).

Quaternions are (x, y, z, w), as in ROS messages.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from memory_nodes.perception.transforms import make_transform, slerp


class TransformError(LookupError):
    """A lookup that cannot be answered; `reason` is one of the REASONS."""

    REASONS = ('unknown_frame', 'not_connected', 'too_old', 'in_the_future', 'gap')

    def __init__(self, target: str, source: str, stamp: float, reason: str,
                 detail: str) -> None:
        super().__init__(f'no transform {target!r} <- {source!r} at stamp {stamp:.6f}: '
                         f'{detail}')
        self.target, self.source, self.stamp, self.reason = target, source, stamp, reason


@dataclass
class _Edge:
    """parent <- child: one static transform or time-sorted dynamic samples."""

    parent: str
    static: np.ndarray | None = None
    stamps: list[float] = field(default_factory=list)
    translations: list[np.ndarray] = field(default_factory=list)
    rotations: list[np.ndarray] = field(default_factory=list)


class TfBuffer:
    """Static + dynamic transforms of one robot, looked up by chaining and interpolation."""

    def __init__(self, cache_time: float = 10.0, extrapolation_tolerance: float = 0.05,
                 max_gap: float = 1.0) -> None:
        if cache_time <= 0 or extrapolation_tolerance < 0 or max_gap <= 0:
            raise ValueError('cache_time and max_gap must be > 0, extrapolation_tolerance '
                             '>= 0')
        self.max_gap = float(max_gap)
        self.cache_time = float(cache_time)
        self.tolerance = float(extrapolation_tolerance)
        self._edges: dict[str, _Edge] = {}
        self.latest = -math.inf

    # ---- writing -------------------------------------------------------------------
    def set_transform(self, parent: str, child: str, stamp: float,
                      translation: Sequence[float], quaternion: Sequence[float],
                      static: bool = False) -> None:
        """Add `parent <- child` at `stamp` (ValueError for bad frames or numbers)."""
        parent, child = parent.lstrip('/'), child.lstrip('/')
        if not parent or not child or parent == child:
            raise ValueError(f'transform needs two different frame ids, got {parent!r} <- '
                             f'{child!r}')
        t = np.asarray(translation, dtype=float)
        q = np.asarray(quaternion, dtype=float)
        n = float(np.linalg.norm(q))
        if t.shape != (3,) or q.shape != (4,) or not np.isfinite(t).all() or \
                not np.isfinite(q).all() or n < 1e-9:
            raise ValueError(f'transform {parent!r} <- {child!r} at {stamp:.6f} has a '
                             f'non-finite translation or a zero quaternion')
        q = q / n
        edge = self._edges.get(child)
        if edge is None or edge.parent != parent:
            # A frame moved to another parent (or is new): its old history no longer holds.
            edge = self._edges[child] = _Edge(parent)
        if static:
            edge.static = make_transform(t, q)
            edge.stamps.clear()
            edge.translations.clear()
            edge.rotations.clear()
            return
        edge.static = None
        stamp = float(stamp)
        i = bisect.bisect_left(edge.stamps, stamp)
        if i < len(edge.stamps) and edge.stamps[i] == stamp:
            edge.translations[i], edge.rotations[i] = t, q
        else:
            edge.stamps.insert(i, stamp)
            edge.translations.insert(i, t)
            edge.rotations.insert(i, q)
        self.latest = max(self.latest, stamp)
        horizon = self.latest - self.cache_time
        drop = bisect.bisect_left(edge.stamps, horizon)
        if drop > 0 and drop < len(edge.stamps):
            del edge.stamps[:drop], edge.translations[:drop], edge.rotations[:drop]

    # ---- reading -------------------------------------------------------------------
    def frames(self) -> set[str]:
        """Every frame id the buffer knows."""
        return set(self._edges) | {e.parent for e in self._edges.values()}

    def _chain(self, frame: str) -> list[str]:
        chain, seen = [frame], {frame}
        while chain[-1] in self._edges:
            parent = self._edges[chain[-1]].parent
            if parent in seen:  # a loop in bad data: stop rather than spin
                break
            chain.append(parent)
            seen.add(parent)
        return chain

    def _edge_at(self, child: str, stamp: float, target: str, source: str) -> np.ndarray:
        edge = self._edges[child]
        if edge.static is not None:
            return edge.static
        stamps = edge.stamps
        what = f'{edge.parent!r} <- {child!r}'
        if not stamps:
            raise TransformError(target, source, stamp, 'unknown_frame',
                                 f'no samples of {what}')
        if stamp < stamps[0] - self.tolerance:
            raise TransformError(target, source, stamp, 'too_old',
                                 f'{what} is known from {stamps[0]:.6f} (cache '
                                 f'{self.cache_time:g} s), {stamps[0] - stamp:.3f} s later')
        if stamp > stamps[-1] + self.tolerance:
            raise TransformError(target, source, stamp, 'in_the_future',
                                 f'{what} is known until {stamps[-1]:.6f}, '
                                 f'{stamp - stamps[-1]:.3f} s earlier')
        i = bisect.bisect_left(stamps, stamp)
        if i == 0:
            return make_transform(edge.translations[0], edge.rotations[0])
        if i >= len(stamps):
            return make_transform(edge.translations[-1], edge.rotations[-1])
        t0, t1 = stamps[i - 1], stamps[i]
        if t1 - t0 > self.max_gap:
            # Across a gap only a sample at (or within the tolerance of) the stamp answers:
            # a robot that publishes TF with each image has one exactly there.
            near = i if t1 - stamp <= stamp - t0 else i - 1
            if abs(stamps[near] - stamp) <= self.tolerance:
                return make_transform(edge.translations[near], edge.rotations[near])
            raise TransformError(target, source, stamp, 'gap',
                                 f'{what} has no samples from {t0:.6f} to {t1:.6f} '
                                 f'({t1 - t0:.3f} s > max gap {self.max_gap:g} s)')
        a = (stamp - t0) / (t1 - t0)
        trans = (1 - a) * edge.translations[i - 1] + a * edge.translations[i]
        return make_transform(trans, slerp(edge.rotations[i - 1], edge.rotations[i], a))

    def lookup(self, target: str, source: str, stamp: float) -> np.ndarray:
        """4x4 `target <- source` at `stamp` (maps points in source to target)."""
        target, source = target.lstrip('/'), source.lstrip('/')
        if target == source:
            return np.eye(4)
        known = self.frames()
        for frame in (target, source):
            if frame not in known:
                raise TransformError(target, source, stamp, 'unknown_frame',
                                     f'frame {frame!r} is unknown (known: '
                                     f'{", ".join(sorted(known)) or "none"})')
        up_s, up_t = self._chain(source), self._chain(target)
        common = next((f for f in up_s if f in set(up_t)), None)
        if common is None:
            raise TransformError(target, source, stamp, 'not_connected',
                                 f'{source!r} leads up to {up_s[-1]!r}, {target!r} to '
                                 f'{up_t[-1]!r}: the trees are not connected')
        common_to_source = np.eye(4)
        for child in up_s[:up_s.index(common)]:
            common_to_source = self._edge_at(child, stamp, target, source) @ common_to_source
        common_to_target = np.eye(4)
        for child in up_t[:up_t.index(common)]:
            common_to_target = self._edge_at(child, stamp, target, source) @ common_to_target
        return np.linalg.inv(common_to_target) @ common_to_source

    def can_transform(self, target: str, source: str, stamp: float) -> bool:
        """True when `lookup` would answer."""
        try:
            self.lookup(target, source, stamp)
        except TransformError:
            return False
        return True


def add_tf_message(buffer: TfBuffer, msg: object, static: bool = False) -> list[str]:
    """Add every transform of a TFMessage (any object with its attributes: `transforms`).

    Returns one error text per transform that was refused (the others are kept).
    """
    errors = []
    for item in getattr(msg, 'transforms', []):
        stamp = float(item.header.stamp.sec) + float(item.header.stamp.nanosec) * 1e-9
        tr, q = item.transform.translation, item.transform.rotation
        try:
            buffer.set_transform(item.header.frame_id, item.child_frame_id, stamp,
                                 (tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w), static=static)
        except ValueError as exc:
            errors.append(str(exc))
    return errors
