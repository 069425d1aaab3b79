"""Changes another robot made to a shared memory, and the rules that settle conflicts.

Robots sharing one memory (`PostgresStore`) each keep the whole scene graph in their own
process and write what they confirm to the shared store. What the others wrote arrives
as a `RemoteBatch`, applied to the local graph by `apply_batch`.

The rules, the same in the store (which decides what is kept) and in every robot (which
decides what to apply while its own write is still queued):

1. **Newer evidence wins.** Each object row carries its evidence stamp: the latest time
   anyone saw it (`last_seen`) or found it missing (`first_absent`, `last_absent`). A
   write replaces the stored row only if its evidence is newer; on equal stamps only the
   robot that wrote the row may rewrite it (a relation or room another robot recomputed
   from the same evidence does not overturn it). So a robot that saw the apple in the
   fridge at t=105 overrides one that saw it on the counter at t=90, whichever wrote
   first, and a robot that found it missing at t=100 overrides a sighting at t=90 that
   reached the server late (after an outage), but not one at t=105.
2. **A merge is final and keeps the smaller id.** Two robots that each fused the same
   thing under their own ids merge them into the smaller id (`FusionConfig.
   keep_smaller_id`), so their copies agree. A merge that would close a cycle (the
   survivor was itself merged into the node being dropped) is refused by the store, and
   the robot adopts the stored survivor. An update to a node another robot merged away is
   folded into the survivor, so its evidence is not lost.
3. **Per-object versions.** Every stored row has a version, incremented by each write
   that changes it; a robot applies a row only when its version is newer than the one it
   holds, so no update is applied twice, and it fetches by the store's change sequence, so
   none is missed (a lost notification only delays it to the next poll).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from memory_nodes.memory.export import restore_voxel_keys
from memory_nodes.memory.scene_graph import ChangeEvent, SceneNode

if TYPE_CHECKING:
    from memory_nodes.memory.long_term import CommitChanges, LongTermMemory


def evidence_stamp(node: SceneNode) -> float:
    """The latest time anyone saw `node` or found it missing."""
    stamp = float(node.last_seen)
    for absent in (node.first_absent, node.last_absent):
        if absent is not None:
            stamp = max(stamp, float(absent))
    return stamp


def write_wins(new_evidence: float, new_robot: str, old_evidence: float,
               old_robot: str) -> bool:
    """Rule 1: whether a write (evidence, robot) replaces the stored (evidence, robot)."""
    if new_evidence != old_evidence:
        return new_evidence > old_evidence
    return new_robot == old_robot


@dataclass
class RemoteNode:
    """One stored node row as another robot (or the store's conflict rules) left it."""

    id: str
    version: int
    robot_id: str
    evidence: float
    node: SceneNode | None = None  # None: deleted
    merged_into: str | None = None
    edges: list[tuple[str, str]] = field(default_factory=list)  # (dst, kind)

    @property
    def deleted(self) -> bool:
        """Whether the row is a tombstone (removed, or merged into `merged_into`)."""
        return self.node is None


@dataclass
class RemoteBatch:
    """What changed in the store since a robot last looked, in change order."""

    nodes: list[RemoteNode] = field(default_factory=list)
    history: list[ChangeEvent] = field(default_factory=list)
    #: The store's change sequence this batch brings the robot up to.
    cursor: int = 0
    #: Rows the robot's own write lost to (rule 1), applied unless a newer write is queued.
    adopt: bool = False
    #: Node id -> evidence of the robot's writes still queued, read by the store together
    #: with the versions it holds when delivering.
    pending: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.nodes or self.history)


def apply_batch(ltm: LongTermMemory, batch: RemoteBatch) -> CommitChanges:
    """Apply another robot's changes to `ltm`'s graph; return what changed for listeners.

    `batch.pending`: node id -> evidence of this robot's own writes still queued; a remote
    row with older evidence is skipped (the queued write will win in the store, rule 1),
    in an adoption too (the write that lost is no longer pending, only newer ones are).
    The store reads it together with the versions it holds, so a row fetched before this
    robot wrote something newer is not applied over it. Nothing applied here is written
    back, except a node folded into a survivor (rule 2), which is this robot's own change.
    """
    from memory_nodes.memory.long_term import CommitChanges

    graph = ltm.graph
    pending = batch.pending
    changes = CommitChanges()
    applied: list[RemoteNode] = []
    folded: set[str] = set()
    voxel = ltm.config.fusion.voxel_size
    for row in batch.nodes:
        if not row.deleted:
            if pending.get(row.id, float('-inf')) > row.evidence:
                continue  # a newer write of this robot is queued: it wins (or is adopted)
            node = row.node
            assert node is not None
            restore_voxel_keys(node, voxel)
            graph.put_node(node)
            changes.touched.add(row.id)
            applied.append(row)
    for row in batch.nodes:
        if row.deleted and row.id in graph.nodes:
            into = graph.resolve(row.merged_into) if row.merged_into else None
            survivor = graph.nodes.get(into) if into else None
            if survivor is not None and survivor.id != row.id:
                # Rule 2: what this robot knew of the dropped node is folded in.
                ltm.fuser.merge_nodes(survivor, graph.nodes[row.id])
                folded.add(survivor.id)
            else:
                graph.drop_node(row.id, row.merged_into)
            changes.removed.add(row.id)
        elif row.deleted and row.merged_into:
            graph.merged_into[row.id] = row.merged_into
    for row in applied:
        if row.id not in graph.nodes:
            continue
        for dst, _ in graph.out_edges(row.id):
            graph.remove_edge(row.id, dst)
        for dst, kind in row.edges:
            if dst in graph.nodes:
                graph.set_edge(row.id, dst, kind)
    for ev in batch.history:
        hist = graph.history.get(ev.node_id)
        if hist is None:
            hist = graph.history[ev.node_id] = deque(maxlen=graph.history_per_node)
        hist.append(ev)
        changes.touched.add(ev.node_id)
    # Applied rows are stored already: only local folds (rule 2) stay dirty.
    for row in applied:
        if row.id not in folded:
            graph.dirty.discard(row.id)
    return changes
