"""What the long-term memory asks of a store: one interface, two implementations.

`SqliteStore` (`persistence`) is the embedded default: one file, one robot.
`PostgresStore` (`postgres_store`) keeps the memory in a PostgreSQL server that several
robots share. The long-term memory calls only what `MemoryStore` lists: load the graph
once, commit what changed after every frame, bound the history, close.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from memory_nodes.memory.scene_graph import SceneGraph
from memory_nodes.memory.timeline import Timeline


@runtime_checkable
class MemoryStore(Protocol):
    """Durable storage of one scene graph (and its timeline)."""

    #: Why the last write failed ('' when it did not); the changes stay pending.
    write_error: str
    #: Writes that failed and were kept for a retry.
    failed_commits: int
    #: Transactions written.
    commits: int

    def load(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Fill an empty `graph` (and `timeline`) from the store; return the node count."""
        ...

    def commit(self, graph: SceneGraph, timeline: Timeline | None = None) -> int:
        """Take every change since the last commit and make it durable (or queue it)."""
        ...

    def apply_retention(self, timeline: Timeline | None, history_cut: float | None,
                        history_per_node: int) -> int:
        """Bound the stored timeline and change history; returns the rows deleted."""
        ...

    def close(self) -> None:
        """Write what is pending (as far as possible) and release the store."""
        ...
