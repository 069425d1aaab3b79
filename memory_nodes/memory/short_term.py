"""The short-term memory: a small buffer of the newest object states, with eviction.

It holds the facts a planner prompt needs right now (where the apple was just put, that
the mug is dirty, that the fridge is open). One entry per object id: a newer fact about
the same object replaces the older entry and counts as a use. Which entries stay when the
buffer is full is decided by an `EvictionPolicy` chosen by name. Every accepted change is
first offered to a `StateSink` (the long-term memory), so evicting an entry never loses
the latest known state of an object.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .eviction import EvictionPolicy, UseInfo, make_policy
from .eviction.base import check_capacity
from .state_change import StateChange, StateSink

_LOG = logging.getLogger(__name__)
_SOURCES = ('observation', 'own_action', 'told')


class Embedder(Protocol):
    """Anything that embeds texts as rows of L2-normalized vectors (e.g. `TextEmbedder`)."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an (n, d) array, one normalized row per text."""
        ...


@dataclass
class ShortTermConfig:
    """Parameters of the short-term memory.

    `policy` names the eviction policy ('fifo', 'lru', 'lfu', 'wtinylfu', 'robot_aware')
    and `policy_params` its keyword arguments. Retrieval scores are
    (1 - `recency_weight`) x cosine similarity + `recency_weight` x 0.5^(age /
    `recency_half_life_s`). A write identical to the resident entry (positions within
    `position_tolerance_m`) less than `duplicate_window_s` after it is a duplicate:
    counted and dropped.
    """

    capacity: int = 10
    policy: str = 'wtinylfu'
    policy_params: dict[str, Any] = field(default_factory=dict)
    recency_weight: float = 0.3
    recency_half_life_s: float = 600.0
    duplicate_window_s: float = 2.0
    position_tolerance_m: float = 0.01


@dataclass
class StmEntry:
    """One object's newest known state in the short-term memory.

    `change` is the newest accepted `StateChange` (its `object_id` is always set);
    `first_stamp` when the entry entered the buffer, `uses` how often it was used
    (merged writes and read hits), `embedding` its text embedding once computed.
    `consolidated` is False while the long-term memory has not accepted the newest change.
    """

    change: StateChange
    first_stamp: float
    uses: int = 1
    embedding: np.ndarray | None = None
    consolidated: bool = True

    @property
    def object_id(self) -> str:
        """The object's id (the long-term node id when known)."""
        return self.change.object_id or ''

    @property
    def label(self) -> str:
        """The object's label."""
        return self.change.label

    @property
    def stamp(self) -> float:
        """Time of the newest fact, seconds."""
        return self.change.stamp

    def text(self) -> str:
        """The entry as a short phrase for embedding and prompts."""
        c = self.change
        parts = [c.label.replace('_', ' ')]
        parts += [name if value else f'not {name}' for name, value in sorted(c.states.items())]
        if c.receptacle:
            parts.append(f'at {c.receptacle.replace("_", " ")}')
        if c.room:
            parts.append(f'in {c.room.replace("_", " ")}')
        return ', '.join(parts)


@dataclass(frozen=True)
class RetrievedEntry:
    """A retrieval result: the entry and how its score was made."""

    entry: StmEntry
    score: float
    similarity: float
    recency: float


@dataclass
class ShortTermStats:
    """Counters of what the buffer did, rejections included (never silent)."""

    writes: int = 0
    inserts: int = 0
    merges: int = 0
    evictions: int = 0
    admission_rejections: int = 0
    duplicates: int = 0
    stale: int = 0
    hits: int = 0
    misses: int = 0
    consolidated: int = 0
    sink_failures: int = 0
    lost_on_eviction: int = 0
    invalid: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict copy (for logging and service responses)."""
        out = {k: v for k, v in vars(self).items() if k != 'invalid'}
        out['invalid'] = dict(self.invalid)
        return out


class ShortTermMemory:
    """A capacity-bounded buffer of `StmEntry`s keyed by object id.

    Public operations: `write` a state change, `get`/`peek` by object id,
    `find_by_label`, `retrieve` top-k for an instruction, `forget`, `set_task_context`.
    Bad input raises ValueError naming the field and is counted in `stats.invalid`.
    Not thread-safe: the owning node serialises calls (one executor or one lock).
    """

    def __init__(
        self,
        config: ShortTermConfig | None = None,
        sink: StateSink | None = None,
        embedder: Embedder | None = None,
        policy: EvictionPolicy | None = None,
    ) -> None:
        self.config = config or ShortTermConfig()
        check_capacity(self.config.capacity)
        if not 0.0 <= self.config.recency_weight <= 1.0:
            raise ValueError(
                f'recency_weight must be in [0, 1], got {self.config.recency_weight!r}')
        if not self.config.recency_half_life_s > 0:
            raise ValueError('recency_half_life_s must be > 0, '
                             f'got {self.config.recency_half_life_s!r}')
        if policy is not None and policy.capacity != self.config.capacity:
            raise ValueError(f'policy capacity {policy.capacity} != capacity '
                             f'{self.config.capacity}')
        # `is None`, not `or`: an empty policy has len 0 and is falsy.
        self.policy = policy if policy is not None else make_policy(
            self.config.policy, self.config.capacity, **self.config.policy_params)
        self.sink = sink
        self.embedder = embedder
        self.stats = ShortTermStats()
        self._entries: dict[str, StmEntry] = {}
        self._now = 0.0

    # --- container basics -----------------------------------------------------------
    @property
    def capacity(self) -> int:
        """Maximum number of entries."""
        return self.config.capacity

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._entries

    def entries(self) -> list[StmEntry]:
        """All entries, newest fact first."""
        return sorted(self._entries.values(), key=lambda e: -e.stamp)

    # --- writing --------------------------------------------------------------------
    def _invalid(self, name: str, message: str) -> ValueError:
        self.stats.invalid[name] = self.stats.invalid.get(name, 0) + 1
        return ValueError(f'{name}: {message}')

    def _validate(self, change: StateChange) -> None:
        if not isinstance(change, StateChange):
            raise self._invalid('change', f'expected a StateChange, got {type(change)!r}')
        if not isinstance(change.label, str) or not change.label.strip():
            raise self._invalid('label', f'must be a non-empty string, got {change.label!r}')
        if (isinstance(change.stamp, bool) or not isinstance(change.stamp, int | float)
                or not math.isfinite(change.stamp)):
            raise self._invalid('stamp', f'must be a finite number, got {change.stamp!r}')
        if change.object_id is not None and (
                not isinstance(change.object_id, str) or not change.object_id):
            raise self._invalid('object_id', f'must be a non-empty string or None, '
                                f'got {change.object_id!r}')
        if change.position is not None:
            pos = change.position
            if len(pos) != 3 or not all(
                    isinstance(v, int | float) and math.isfinite(v) for v in pos):
                raise self._invalid('position', f'must be 3 finite numbers, got {pos!r}')
        if change.source not in _SOURCES:
            raise self._invalid('source', f'must be one of {_SOURCES}, got {change.source!r}')
        if not all(isinstance(k, str) and isinstance(v, bool)
                   for k, v in change.states.items()):
            raise self._invalid('states', f'must map str to bool, got {change.states!r}')

    def _same_fact(self, old: StateChange, new: StateChange) -> bool:
        if (old.label, old.room, old.states, old.receptacle, old.source) != (
                new.label, new.room, new.states, new.receptacle, new.source):
            return False
        if (old.position is None) != (new.position is None):
            return False
        if old.position is None or new.position is None:
            return True
        tol = self.config.position_tolerance_m
        return all(abs(a - b) <= tol for a, b in zip(old.position, new.position))

    def _consolidate(self, change: StateChange) -> str | None:
        """Offer `change` to the sink; return the id it used, None if it failed."""
        if self.sink is None:
            return change.object_id
        try:
            oid = self.sink.record_state_change(change)
        except Exception:  # any sink failure must not lose the change
            self.stats.sink_failures += 1
            _LOG.warning('long-term memory refused a state change of %r; kept pending',
                         change.object_id or change.label, exc_info=True)
            return None
        self.stats.consolidated += 1
        return oid or change.object_id

    def write(self, change: StateChange, embedding: np.ndarray | None = None,
              from_sink: bool = False) -> str:
        """Store `change` (merging by object id) and return the object id it is kept under.

        The change is offered to the sink before the buffer changes, so whatever the
        policy evicts is already in the long-term memory. A change without `object_id`
        takes the id the sink returns. `from_sink`: the change was read off the sink's
        own node (a fused sighting), so the sink has it already and it is not offered
        again (it needs an `object_id`). Out-of-order changes (older than the resident
        entry) and duplicates are counted in `stats` and dropped. Raises ValueError
        naming the bad field.
        """
        self._validate(change)
        self.stats.writes += 1
        old = self._entries.get(change.object_id or '')
        if old is not None:
            if change.stamp < old.stamp:
                self.stats.stale += 1
                return old.object_id
            if (change.stamp - old.stamp <= self.config.duplicate_window_s
                    and self._same_fact(old.change, change)):
                self.stats.duplicates += 1
                return old.object_id
        if from_sink and not change.object_id:
            raise self._invalid('object_id', 'is required for a change read off the sink')
        oid = change.object_id if from_sink else self._consolidate(change)
        pending = oid is None
        if oid is None:
            oid = change.object_id
        if not oid:
            raise self._invalid('object_id', 'is None and no long-term memory gave one')
        if change.object_id != oid:
            change = replace(change, object_id=oid)
        self._now = max(self._now, change.stamp)
        info = UseInfo('write', change.stamp, change.label, change.source,
                       tuple(change.changed), change.room)
        entry = self._entries.get(oid)
        if entry is not None:
            if entry.change.label != change.label or entry.change.states != change.states \
                    or entry.change.receptacle != change.receptacle \
                    or entry.change.room != change.room:
                entry.embedding = None
            if embedding is not None:
                entry.embedding = np.asarray(embedding, dtype=np.float32)
            entry.change = change
            entry.uses += 1
            entry.consolidated = not pending
            self.stats.merges += 1
            self.policy.access(oid, info)
            return oid
        self._entries[oid] = StmEntry(
            change, change.stamp,
            embedding=None if embedding is None else np.asarray(embedding, np.float32),
            consolidated=not pending)
        self.stats.inserts += 1
        for victim in self.policy.admit(oid, info):
            self._evict(victim, rejected=victim == oid)
        return oid

    def _evict(self, object_id: str, rejected: bool = False) -> None:
        entry = self._entries.pop(object_id, None)
        if entry is None:
            return
        self.stats.evictions += 1
        if rejected:
            self.stats.admission_rejections += 1
        if not entry.consolidated and self._consolidate(entry.change) is None:
            self.stats.lost_on_eviction += 1
            _LOG.error('evicted %r before the long-term memory accepted it', object_id)

    # --- reading --------------------------------------------------------------------
    def peek(self, object_id: str) -> StmEntry | None:
        """The entry of `object_id` or None, without counting a use."""
        return self._entries.get(object_id)

    def get(self, object_id: str, stamp: float | None = None) -> StmEntry | None:
        """The entry of `object_id` (a use: the policy hears of it) or None (a miss)."""
        if not isinstance(object_id, str) or not object_id:
            raise self._invalid('object_id', f'must be a non-empty string, got {object_id!r}')
        now = self._now if stamp is None else float(stamp)
        entry = self._entries.get(object_id)
        if entry is None:
            self.stats.misses += 1
            self.policy.miss(object_id, UseInfo('read', now))
            return None
        self.stats.hits += 1
        entry.uses += 1
        self.policy.access(object_id, UseInfo(
            'read', now, entry.label, entry.change.source, (), entry.change.room))
        return entry

    def contains_for_query(self, object_id: str, stamp: float) -> bool:
        """True if the planner's lookup of `object_id` hits (counted as a use)."""
        return self.get(object_id, stamp) is not None

    def find_by_label(self, label: str, touch: bool = True) -> list[StmEntry]:
        """Entries whose label equals `label` (case-insensitive), newest first."""
        if not isinstance(label, str) or not label.strip():
            raise self._invalid('label', f'must be a non-empty string, got {label!r}')
        want = label.strip().lower()
        found = [e for e in self.entries() if e.label.lower() == want]
        if touch:
            for e in found:
                self.get(e.object_id)
        return found

    def forget(self, object_id: str) -> StmEntry:
        """Remove and return the entry of `object_id`; KeyError if it is not held."""
        entry = self._entries.pop(object_id, None)
        if entry is None:
            raise KeyError(f'object_id {object_id!r} is not in the short-term memory')
        self.policy.discard(object_id)
        return entry

    def clear(self) -> None:
        """Drop every entry (the long-term memory keeps them)."""
        for oid in list(self._entries):
            self.forget(oid)

    def set_task_context(self, labels: Iterable[str]) -> None:
        """Tell the policy which labels the current instruction names."""
        self.policy.set_task_context([str(lb).lower() for lb in labels])

    def retrieve(self, instruction: str, k: int = 5, now: float | None = None,
                 touch: bool = True) -> list[RetrievedEntry]:
        """Top-`k` entries for `instruction` by similarity combined with recency.

        Similarity is the cosine of text embeddings when an embedder was given, else the
        fraction of the entry label's words found in the instruction. `now` defaults to
        the newest stamp written. Returned entries count as used when `touch`.
        """
        if not isinstance(instruction, str) or not instruction.strip():
            raise self._invalid('instruction', 'must be a non-empty string')
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise self._invalid('k', f'must be an integer >= 1, got {k!r}')
        entries = list(self._entries.values())
        if not entries:
            return []
        now = self._now if now is None else float(now)
        sims = self._similarities(instruction, entries)
        w = self.config.recency_weight
        scored = []
        for entry, sim in zip(entries, sims):
            rec = 0.5 ** (max(0.0, now - entry.stamp) / self.config.recency_half_life_s)
            scored.append(RetrievedEntry(entry, (1 - w) * sim + w * rec, sim, rec))
        scored.sort(key=lambda r: (-r.score, -r.entry.stamp))
        top = scored[:k]
        if touch:
            for r in top:
                self.get(r.entry.object_id, now)
        return top

    def _similarities(self, instruction: str, entries: list[StmEntry]) -> list[float]:
        if self.embedder is None:
            words = set(instruction.lower().replace(',', ' ').split())
            sims = []
            for e in entries:
                label_words = e.label.lower().replace('_', ' ').split()
                sims.append(sum(w in words for w in label_words) / len(label_words))
            return sims
        missing = [e for e in entries if e.embedding is None]
        if missing:
            vecs = np.asarray(self.embedder.embed([e.text() for e in missing]), np.float32)
            if vecs.ndim != 2 or vecs.shape[0] != len(missing):
                raise ValueError(f'embedder returned shape {vecs.shape}, expected '
                                 f'({len(missing)}, d)')
            for e, v in zip(missing, vecs):
                e.embedding = v
        query = np.asarray(self.embedder.embed([instruction]), np.float32)[0]
        mat = np.stack([e.embedding for e in entries])  # type: ignore[misc]
        norms = np.linalg.norm(mat, axis=1) * (np.linalg.norm(query) or 1.0)
        return [float(s) for s in (mat @ query) / np.where(norms > 0, norms, 1.0)]


def task_context_labels(text: str) -> list[str]:
    """The labels of a task-context message (`{"labels": [...]}`, what the planner sends).

    ValueError, KeyError or TypeError saying what is wrong with `text`.
    """
    labels = json.loads(text)['labels']
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError('labels must be a list of strings')
    return labels
