"""Repair or reject bad observations before they can reach the scene graph.

Every decision is counted under a short, named reason so that `stats()` shows what the
perception pipeline is doing wrong; nothing here raises on bad data.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import replace

import numpy as np

from memory_nodes.domain.labels import name_problem, normalize_label
from memory_nodes.memory.config import InputCheckConfig
from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.state_change import StateChange

_LOG = logging.getLogger(__name__)


class InputChecker:
    """Checks observations and state changes; counts repairs and rejections by reason."""

    def __init__(self, config: InputCheckConfig | None = None) -> None:
        self.config = config or InputCheckConfig()
        self.rejected: Counter[str] = Counter()
        self.repaired: Counter[str] = Counter()
        self.accepted = 0
        self.last_stamp = -math.inf
        self._vocab = {normalize_label(v) for v in self.config.vocabulary}
        self._rng = np.random.default_rng(0)

    def _reject(self, reason: str) -> None:
        self.rejected[reason] += 1
        _LOG.debug('rejected observation: %s', reason)

    def check_observation(self, obs: ObjectObservation) -> ObjectObservation | None:
        """Return a repaired copy of `obs`, or None if it must be dropped."""
        cfg = self.config
        if not isinstance(obs, ObjectObservation):
            self._reject('not_an_observation')
            return None
        label = normalize_label(obs.label) if isinstance(obs.label, str) else ''
        if not label:
            self._reject('empty_label')
            return None
        if len(label) > cfg.max_label_chars:
            self._reject('label_too_long')
            return None
        if name_problem(label, cfg.max_label_chars) or (
                obs.room and name_problem(obs.room, cfg.max_label_chars)):
            self._reject('unstorable_text')
            return None
        if self._vocab and label not in self._vocab:
            if cfg.reject_unknown_labels:
                self._reject('unknown_label')
                return None
            self.repaired['unknown_label_kept'] += 1
        if obs.frame_id not in cfg.accepted_frames:
            self._reject('unknown_frame')
            return None
        try:
            stamp = float(obs.stamp)
        except (TypeError, ValueError):
            stamp = math.nan
        if not math.isfinite(stamp):
            self._reject('bad_stamp')
            return None
        if stamp < self.last_stamp - cfg.max_stamp_lag:
            self._reject('stale_stamp')
            return None
        if stamp < self.last_stamp:
            # Slightly late frames are normal with a worker queue; they are fused but
            # never move last_seen backwards (fusion takes the max).
            self.repaired['out_of_order_stamp'] += 1
        try:
            score = float(obs.score)
        except (TypeError, ValueError):
            score = math.nan
        if not math.isfinite(score):
            self._reject('bad_score')
            return None
        if score < 0.0 or score > 1.0:
            self.repaired['score_clipped'] += 1
            score = min(1.0, max(0.0, score))
        if score < cfg.min_score:
            self._reject('low_score')
            return None
        try:
            pts = np.asarray(obs.points, dtype=np.float64)
        except (TypeError, ValueError):
            self._reject('bad_points')
            return None
        if pts.size == 0:
            self._reject('empty_cloud')
            return None
        if pts.ndim != 2 or pts.shape[1] != 3:
            if pts.size % 3 != 0:
                self._reject('bad_points_shape')
                return None
            pts = pts.reshape(-1, 3)
            self.repaired['points_reshaped'] += 1
        finite = np.isfinite(pts).all(axis=1)
        if not finite.all():
            self.repaired['nonfinite_points_dropped'] += 1
            pts = pts[finite]
        inside = (np.abs(pts) <= cfg.max_abs_coordinate).all(axis=1)
        if not inside.all():
            self.repaired['far_points_dropped'] += 1
            pts = pts[inside]
        if len(pts) < cfg.min_points:
            self._reject('empty_cloud' if len(pts) == 0 else 'too_few_points')
            return None
        if len(pts) > cfg.max_points:
            self.repaired['cloud_over_cap'] += 1
            keep = self._rng.choice(len(pts), cfg.max_points, replace=False)
            pts = pts[np.sort(keep)]
        emb = obs.embedding
        if emb is not None:
            try:
                e = np.asarray(emb, dtype=np.float32).reshape(-1)
            except (TypeError, ValueError):
                e = np.zeros(0, dtype=np.float32)
            norm = float(np.linalg.norm(e)) if e.size else 0.0
            if e.size != cfg.embedding_dim or not math.isfinite(norm) or norm == 0.0:
                self.repaired['bad_embedding_dropped'] += 1
                emb = None
            else:
                emb = e / norm
        states = obs.states if isinstance(obs.states, dict) else {}
        if states is not obs.states:
            self.repaired['bad_states_dropped'] += 1
        self.last_stamp = max(self.last_stamp, stamp)
        self.accepted += 1
        return replace(obs, label=label, score=score, points=pts, stamp=stamp,
                       embedding=emb, states=dict(states))

    def check_state_change(self, change: StateChange) -> StateChange | None:
        """Return a repaired copy of a state change, or None if unusable."""
        if not isinstance(change, StateChange):
            self._reject('not_a_state_change')
            return None
        label = normalize_label(change.label) if isinstance(change.label, str) else ''
        if not label and change.object_id is None:
            self._reject('state_change_without_label')
            return None
        try:
            stamp = float(change.stamp)
        except (TypeError, ValueError):
            stamp = math.nan
        if not math.isfinite(stamp):
            self._reject('state_change_bad_stamp')
            return None
        position = change.position
        if position is not None:
            try:
                p = np.asarray(position, dtype=float).reshape(3)
                ok = bool(np.isfinite(p).all()) and bool(
                    (np.abs(p) <= self.config.max_abs_coordinate).all())
            except (TypeError, ValueError):
                ok = False
            if ok:
                position = (float(p[0]), float(p[1]), float(p[2]))
            else:
                self.repaired['state_change_bad_position_dropped'] += 1
                position = None
        return replace(change, label=label, stamp=stamp, position=position,
                       states=dict(change.states or {}))

    def stats(self) -> dict[str, object]:
        """Counts of accepted, rejected (by reason) and repaired (by reason) inputs."""
        return {
            'accepted': self.accepted,
            'rejected': dict(self.rejected),
            'repaired': dict(self.repaired),
        }
