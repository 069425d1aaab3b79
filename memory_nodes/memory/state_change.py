"""A fact about an object's state or place, and who may record it.

The short-term memory holds recent `StateChange`s; the long-term memory offers a
`StateSink` so every change written to the short-term buffer is consolidated there and an
eviction never loses the latest known state of an object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def own_action_change(label: str, stamp: float, position: Sequence[float],
                      states: Mapping[str, bool], changed: Sequence[str],
                      receptacle: str = '', object_id: str | None = None) -> StateChange:
    """A change the robot's own action caused, as its skill executor reports it.

    The memory node (from `object_state_events`) and bag replay (from a recording of
    them) build it the same way. ValueError, naming the label and position, when the
    label is empty or the position is not finite.
    """
    x, y, z = (float(v) for v in position)
    if not label or not all(math.isfinite(v) for v in (x, y, z)):
        raise ValueError(f'label={label!r} position=({x}, {y}, {z})')
    return StateChange(label=label, stamp=float(stamp), object_id=object_id or None,
                       position=(x, y, z), states={k: bool(v) for k, v in states.items()},
                       changed=list(changed), source='own_action',
                       receptacle=receptacle or None)
