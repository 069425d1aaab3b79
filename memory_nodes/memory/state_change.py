"""A fact about an object's state or place, and who may record it.

The short-term memory holds recent `StateChange`s; the long-term memory offers a
`StateSink` so every change written to the short-term buffer is consolidated there and an
eviction never loses the latest known state of an object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

StateSource = Literal['observation', 'own_action', 'told']


@dataclass
class StateChange:
    """The newest known state and place of one object.

    `object_id` is the long-term memory's node id when known. `states` holds the full
    known state dictionary (e.g. {'dirty': False, 'sliced': True}); `changed` names what
    this change altered ('position', 'dirty', ...). `stamp` is sim or ROS time, seconds.
    """

    label: str
    stamp: float
    object_id: str | None = None
    position: tuple[float, float, float] | None = None
    room: str | None = None
    states: dict[str, bool] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    source: StateSource = 'observation'
    receptacle: str | None = None
    image_ref: str | None = None


class StateSink(Protocol):
    """Anything that durably records state changes (the long-term memory does)."""

    def record_state_change(self, change: StateChange) -> str:
        """Record `change`; return the object id it was attached to."""
        ...
