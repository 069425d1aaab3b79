"""The interface every short-term memory eviction policy implements.

A policy only sees keys (object ids) and a little context about each use; the entries
themselves live in `ShortTermMemory`. The buffer tells the policy about three events:

* `access`: a resident key was used (a read hit, or a write that merged into it);
* `admit`: a key that is not resident was written; the policy returns the keys it
  evicts to stay within capacity, which may include the new key itself when an
  admission filter (W-TinyLFU) prefers the old resident;
* `miss`: a key that is not resident was looked up (frequency sketches learn from it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

UseKind = Literal['read', 'write']


@dataclass(frozen=True)
class UseInfo:
    """What the robot knows about one use of an entry, for policies that care.

    `kind` is 'read' (a planner/query asked for it) or 'write' (a state change landed).
    `source` is the StateChange source ('observation', 'own_action', 'told'), `changed`
    the fields the change altered (empty for a plain re-sighting), `stamp` seconds.
    """

    kind: UseKind
    stamp: float
    label: str = ''
    source: str = 'observation'
    changed: tuple[str, ...] = field(default_factory=tuple)
    room: str | None = None


def check_capacity(capacity: int, name: str = 'capacity') -> int:
    """Return `capacity` as an int or raise ValueError naming the field if it is not >= 1."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f'{name} must be an integer >= 1, got {capacity!r}')
    return capacity


class EvictionPolicy(ABC):
    """Decides which object ids stay in a capacity-bounded short-term memory.

    Subclasses keep their own bookkeeping of resident keys; `len(policy)` never exceeds
    `capacity` after `admit` returns.
    """

    name: ClassVar[str] = ''

    def __init__(self, capacity: int) -> None:
        self.capacity = check_capacity(capacity)

    @abstractmethod
    def __contains__(self, key: object) -> bool:
        """Whether `key` is resident."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of resident keys."""

    @abstractmethod
    def keys(self) -> Iterator[str]:
        """Resident keys, in the policy's own order (first = next to go when it says so)."""

    @abstractmethod
    def access(self, key: str, info: UseInfo) -> None:
        """Record a use of the resident `key` (a read hit or a merged write)."""

    @abstractmethod
    def admit(self, key: str, info: UseInfo) -> list[str]:
        """Insert the non-resident `key`; return the keys evicted (maybe `key` itself)."""

    @abstractmethod
    def discard(self, key: str) -> None:
        """Forget the resident `key` without counting it as an eviction; no-op if absent."""

    def miss(self, key: str, info: UseInfo) -> None:  # noqa: B027 - optional hook
        """Record a lookup of a non-resident `key`; most policies ignore it."""

    def set_task_context(self, labels: Iterable[str]) -> None:  # noqa: B027 - optional hook
        """Tell the policy which object labels the current task names; most ignore it."""
