"""Ground truth for memory as of a time: whether `as_of` and `changes` told the truth.

`AsOfRecorder` plays an episode like `MemoryPlayer` and also records what the scorer
needs: the simulator's true objects after every task (`TruthSnapshot`), when each object
was in a camera frame (sightings), and the scripted person's moves between tasks.
`as_of_accuracy` then asks the memory, as of each snapshot's stamp, where every object it
believed in was, and what changed between consecutive snapshots, and scores both:

- as_of: a confirmed object node counts as correct when it matches a true object of its
  type (the nearest one) that is in the same room and within `tolerance` m, or on/in a
  receptacle of the right type. A node with no true object of its type is wrong. An
  object a person moved that the robot has not seen since is not scored (nothing could
  have told memory), nor is the one in the gripper.
- changes: every true object that moved between two snapshots (more than `tolerance` m
  or onto another receptacle) and that the robot saw after the move must be reported as
  moved (or as appeared, when the robot had never seen it before the first snapshot),
  with an 'after' belief that is correct by the rule above.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory_nodes.domain.labels import normalize_label
from memory_nodes.evaluation.episodes import MemoryPlayer
from sim.interface import ObjectTruth, Simulator
from sim.scoring import TaskScorer
from sim.task_schema import Episode, Task


@dataclass
class TruthSnapshot:
    """The simulator's objects at one stamp (after a task), and what the robot held."""

    stamp: float
    name: str
    objects: dict[str, ObjectTruth]
    holding: str | None = None


@dataclass
class EpisodeTruth:
    """What `as_of_accuracy` scores against: snapshots, sightings and person moves."""

    snapshots: list[TruthSnapshot] = field(default_factory=list)
    sightings: dict[str, list[float]] = field(default_factory=dict)
    person_moves: list[tuple[float, str]] = field(default_factory=list)

    def seen_between(self, object_id: str, t1: float, t2: float) -> bool:
        """Whether the object was in a frame with a stamp in (t1, t2]."""
        stamps = self.sightings.get(object_id, [])
        i = bisect_right(stamps, t1)
        return i < len(stamps) and stamps[i] <= t2

    def last_person_move(self, object_id: str, t: float) -> float | None:
        """Stamp of the person's latest move of the object strictly before `t`."""
        found = [s for s, o in self.person_moves if o == object_id and s < t]
        return max(found) if found else None


class AsOfRecorder(MemoryPlayer):
    """A `MemoryPlayer` that also records the ground truth `as_of_accuracy` needs."""

    def begin_episode(self, sim: Simulator, episode: Episode) -> None:
        """The memory player's setup, with sightings recorded from every frame."""
        super().begin_episode(sim, episode)
        self.truth = EpisodeTruth()
        perceive = self.robot.perceive_frame

        def recording_perceive(frame) -> None:  # noqa: ANN001 - CameraFrame
            for oid in set(frame.instance_to_object.values()):
                self.truth.sightings.setdefault(oid, []).append(float(frame.stamp))
            perceive(frame)

        self.robot.perceive_frame = recording_perceive  # type: ignore[method-assign]
        if hasattr(sim, 'observer'):
            sim.observer = recording_perceive

    def play(self, sim: Simulator, task: Task, scorer: TaskScorer):  # noqa: ANN201
        """Note the person's moves just applied, play, then snapshot the truth."""
        now = float(sim.time)
        for change in task.world_changes:
            if change.op == 'move_object':
                self.truth.person_moves.append((now, change.object_id))
        record = super().play(sim, task, scorer)
        self.truth.snapshots.append(TruthSnapshot(
            float(sim.time), task.task_id or f'task {len(self.truth.snapshots) + 1}',
            dict(sim.ground_truth()), sim.holding()))
        return record


def play_with_truth(episode: Episode, text_embeddings: str = 'hashing') -> AsOfRecorder:
    """Run `episode` in a fresh simulator under `ltm+stm`, recording the ground truth.

    What `as_of_accuracy` scores: `player.setup.memory` against `player.truth`.
    """
    from sim.episodes import run_episode
    from sim.pybullet_sim import PyBulletSimulator

    sim = PyBulletSimulator()
    player = AsOfRecorder('ltm+stm', text_embeddings=text_embeddings)
    try:
        run_episode(sim, episode, player)
    finally:
        sim.close()
    return player


def _key(label: str) -> str:
    return normalize_label(label).replace(' ', '')


def _belief_correct(v: Any, truth: ObjectTruth, objects: Mapping[str, ObjectTruth],
                    tolerance: float) -> tuple[bool, str]:
    """Whether a belief (a NodeVersion) is right about `truth`, and why not."""
    if _key(v.room_name) != _key(truth.room):
        return False, f'room {v.room_name!r}, truly {truth.room!r}'
    d = math.dist(v.position, truth.position)
    if d <= tolerance:
        return True, f'{d:.2f} m'
    parent = objects.get(truth.parent or '')
    if parent is not None and v.support is not None \
            and _key(v.support_label) == _key(parent.object_type):
        return True, f'{v.support[1]} {v.support_label} ({d:.2f} m)'
    where = f'{truth.relation} {parent.object_type}' if parent is not None else 'loose'
    return False, f'{d:.2f} m away, truly {where}'


def _match(v: Any, objects: Mapping[str, ObjectTruth]) -> ObjectTruth | None:
    same = [t for t in objects.values() if _key(t.object_type) == _key(v.label)]
    return min(same, key=lambda t: math.dist(t.position, v.position)) if same else None


def _moved(a: ObjectTruth, b: ObjectTruth, tolerance: float) -> bool:
    return a.parent != b.parent or math.dist(a.position, b.position) > tolerance


def as_of_accuracy(memory: Any, truth: EpisodeTruth, tolerance: float = 0.15,
                   ) -> tuple[int, int, list[dict[str, Any]]]:
    """Score `as_of` and `changes` of a memory against an episode's ground truth.

    `memory` is a `RobotMemory` or `LongTermMemory` (anything with `as_of`-capable
    `ltm`/timeline). Returns (correct, total, details): one detail per scored answer
    (question 'as_of' or 'changes', stamp(s), object, memory's answer, correct, why)
    plus the skipped ones with `scored` False.
    """
    ltm = getattr(memory, 'ltm', memory)
    timeline = ltm.timeline
    details: list[dict[str, Any]] = []
    snaps = sorted(truth.snapshots, key=lambda s: s.stamp)
    for snap in snaps:
        for nid, v in sorted(timeline.as_of(snap.stamp).items()):
            if v.layer != 'object' or v.status != 'confirmed':
                continue
            item = {'question': 'as_of', 'stamp': snap.stamp, 'snapshot': snap.name,
                    'node': nid, 'label': v.label, 'believed': v.to_dict(), 'scored': True}
            real = _match(v, snap.objects)
            if real is None:
                item.update(correct=False, why=f'no {v.label} in the world')
                details.append(item)
                continue
            item['object'] = real.object_id
            moved_at = truth.last_person_move(real.object_id, snap.stamp)
            unseen = moved_at is not None and not truth.seen_between(
                real.object_id, moved_at, snap.stamp)
            if real.object_id == snap.holding:
                item.update(scored=False, why='in the gripper')
            elif unseen:
                item.update(scored=False, why='moved by a person, not seen since')
            else:
                ok, why = _belief_correct(v, real, snap.objects, tolerance)
                item.update(correct=ok, why=why)
            details.append(item)
    for a, b in zip(snaps, snaps[1:]):
        reported = [c for c in timeline.changes(a.stamp, b.stamp)
                    if c.kind in ('moved', 'appeared')]
        for oid, before in sorted(a.objects.items()):
            after = b.objects.get(oid)
            if after is None or not before.pickupable or not _moved(before, after, tolerance):
                continue
            item = {'question': 'changes', 'since': a.stamp, 'until': b.stamp,
                    'snapshot': b.name, 'object': oid, 'label': after.object_type,
                    'scored': True}
            moved_at = truth.last_person_move(oid, b.stamp)
            since = moved_at if moved_at is not None and moved_at >= a.stamp else a.stamp
            if oid == b.holding:
                item.update(scored=False, why='in the gripper')
            elif not truth.seen_between(oid, since, b.stamp):
                item.update(scored=False, why='not seen after it moved')
            else:
                # Never seen before `a`: memory can only report that it appeared.
                kinds = ('moved',) if truth.seen_between(oid, -math.inf, a.stamp) else (
                    'moved', 'appeared')
                hits = [c for c in reported if c.kind in kinds
                        and _key(c.label) == _key(after.object_type) and c.after is not None
                        and _belief_correct(c.after, after, b.objects, tolerance)[0]]
                item.update(correct=bool(hits), why=(
                    f'reported {hits[0].kind} ({hits[0].object_id})' if hits else
                    f'not reported as {" or ".join(kinds)} to where it is'))
            details.append(item)
    scored = [d for d in details if d['scored']]
    return sum(bool(d['correct']) for d in scored), len(scored), details


def format_details(details: Sequence[Mapping[str, Any]], wrong_only: bool = True) -> str:
    """One line per (wrong) answer, for logs and test failures."""
    lines = []
    for d in details:
        if wrong_only and (not d['scored'] or d.get('correct')):
            continue
        when = f"{d['stamp']:.1f}" if 'stamp' in d else f"{d['since']:.1f}-{d['until']:.1f}"
        lines.append(f"{d['question']} {when} {d.get('node', '')} {d['label']} "
                     f"{d.get('object', '')}: {d.get('why', '')}")
    return '\n'.join(lines)
