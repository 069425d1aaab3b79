"""Rooms, places (navigable areas) and the agent's trajectory.

A room comes from an annotation when the world gives one (a name on the observation or
box bounds declared up front); otherwise from clustering the places the agent walked
through. Every object and furniture node ends up with exactly one room: when nothing
else is known it goes to the configured default room.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from memory_nodes.domain.labels import name_problem
from memory_nodes.memory.config import RoomConfig
from memory_nodes.memory.scene_graph import SceneGraph, SceneNode

BUILDING_ID = 'b000000'
AGENT_ID = 'a000000'
# A 2D room footprint stands for one storey: from just below the floor (so that points
# on the floor, with depth noise, still fall inside) up to above any ceiling in a home.
ROOM_FLOOR_Z = -0.1
ROOM_CEILING_Z = 3.0

Footprint = tuple[float, float, float, float]


def footprint_box(footprint: Sequence[float]) -> tuple[tuple[float, float, float],
                                                       tuple[float, float, float]]:
    """The 3D box (lo, hi) of a room footprint (xmin, ymin, xmax, ymax) over one storey."""
    x0, y0, x1, y1 = (float(v) for v in footprint)
    return (x0, y0, ROOM_FLOOR_Z), (x1, y1, ROOM_CEILING_Z)


class RoomAnnotation(NamedTuple):
    """Annotated room footprints, as the simulator (or a map server) publishes them."""

    frame_id: str
    rooms: dict[str, Footprint]


def parse_room_annotation(text: str) -> RoomAnnotation:
    """Parse `{"frame_id": ..., "rooms": {name: [xmin, ymin, xmax, ymax]}}`.

    Raises ValueError naming what is wrong (not JSON, no `rooms` object, a box that is
    not four finite numbers), so a node can count and log the message instead of
    half-applying it.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f'room annotation is not JSON: {exc}') from None
    if not isinstance(data, dict) or not isinstance(data.get('rooms'), dict):
        raise ValueError('room annotation needs a "rooms" object of '
                         'name: [xmin, ymin, xmax, ymax]')
    frame_id = data.get('frame_id', '')
    if not isinstance(frame_id, str):
        raise ValueError(f'room annotation frame_id must be a string, got {frame_id!r}')
    rooms: dict[str, Footprint] = {}
    for name, box in data['rooms'].items():
        problem = name_problem(name)
        if problem:
            raise ValueError(f'room name {name[:60]!r}: {problem}')
        try:
            if not isinstance(box, list):
                raise TypeError
            x0, y0, x1, y1 = (float(v) for v in box)
        except (TypeError, ValueError):
            raise ValueError(f'room {name!r}: expected [xmin, ymin, xmax, ymax], '
                             f'got {box!r}') from None
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise ValueError(f'room {name!r} has a non-finite box {box!r}')
        rooms[name] = (x0, y0, x1, y1)
    return RoomAnnotation(frame_id, rooms)


class RoomMap:
    """Creates room/place/agent nodes and assigns nodes to rooms."""

    def __init__(self, graph: SceneGraph, config: RoomConfig | None = None) -> None:
        self.graph = graph
        self.config = config or RoomConfig()
        self.bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._last_place: str | None = None

    # ---- rooms ---------------------------------------------------------------------
    def ensure_building(self) -> SceneNode:
        """The single building node (created on first use)."""
        node = self.graph.nodes.get(BUILDING_ID)
        if node is None:
            node = SceneNode(BUILDING_ID, 'building', 'home', np.zeros(3), status='confirmed')
            self.graph.add_node(node, 0.0)
        return node

    def room_id(self, name: str) -> str | None:
        """Id of the room named `name`, if it exists."""
        for rid in self.graph.by_label.get(name, ()):
            if self.graph.nodes[rid].layer == 'room':
                return rid
        return None

    def ensure_room(self, name: str, stamp: float = 0.0) -> str:
        """Id of the room named `name`, creating it under the building if needed."""
        rid = self.room_id(name)
        if rid is not None:
            return rid
        building = self.ensure_building()
        # Robots sharing one memory name each room alike, so their rooms are one node.
        rid = (f"r-{re.sub(r'[^A-Za-z0-9_]+', '_', name)}" if self.graph.id_suffix
               else self.graph.new_id('room'))
        room = SceneNode(rid, 'room', name, np.zeros(3),
                         first_seen=stamp, last_seen=stamp, status='confirmed')
        if name in self.bounds:
            lo, hi = self.bounds[name]
            room.position = (lo + hi) / 2.0
            room.extent = hi - lo
        self.graph.add_node(room, stamp)
        self.graph.set_parent(room.id, building.id)
        return room.id

    def define_room(self, name: str, lo: np.ndarray, hi: np.ndarray) -> str:
        """Declare an annotated room as an axis-aligned box (z may span the storey)."""
        self.bounds[name] = (np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
        rid = self.ensure_room(name)
        node = self.graph.nodes[rid]
        node.position = (self.bounds[name][0] + self.bounds[name][1]) / 2.0
        node.extent = self.bounds[name][1] - self.bounds[name][0]
        self.graph.touch(rid)
        # What was seen before the annotation arrived moves out of the default room.
        default = self.room_id(self.config.default_room)
        if default is not None:
            for other in list(self.graph.nodes.values()):
                if other.room == default and other.layer in ('object', 'furniture', 'place') \
                        and self.room_by_bounds(other.position) == name:
                    self.assign(other, other.last_seen)
        return rid

    def room_by_bounds(self, position: np.ndarray) -> str | None:
        """Name of the annotated room whose box holds `position` (x, y only)."""
        for name, (lo, hi) in self.bounds.items():
            if np.all(position[:2] >= lo[:2]) and np.all(position[:2] <= hi[:2]):
                return name
        return None

    def assign(self, node: SceneNode, stamp: float, hint: str | None = None) -> str:
        """Give `node` exactly one room (by hint, bounds, nearest place, or default)."""
        graph = self.graph
        hinted = graph.nodes.get(hint) if hint else None
        if hinted is not None and hinted.layer == 'room':
            hint = hinted.label  # a room id given where a name was expected
        name = hint or self.room_by_bounds(node.position)
        if name is None:
            name = self._room_of_nearest_place(node.position)
        if name is None:
            current = graph.nodes.get(node.room) if node.room else None
            if current is not None and current.layer == 'room':
                return current.id
        rid = self.ensure_room(name or self.config.default_room, stamp)
        if node.room != rid:
            node.room = rid
            graph.touch(node.id)
        if graph.parent(node.id) != rid:
            graph.set_parent(node.id, rid)
        return rid

    def _room_of_nearest_place(self, position: np.ndarray) -> str | None:
        best, best_d = None, float('inf')
        for place in self.graph.layer('place'):
            d = float(np.linalg.norm(place.position[:2] - position[:2]))
            if d < best_d and place.room:
                best, best_d = place, d
        if best is None or best.room is None or \
                best_d > 2.0 * self.config.place_spacing + 3.0:
            return None
        room = self.graph.nodes.get(best.room)
        return room.label if room is not None else None

    # ---- agent and places ----------------------------------------------------------
    def add_agent_pose(self, position: np.ndarray, stamp: float, room: str | None = None
                       ) -> str | None:
        """Record an agent pose; returns the id of a new place node if one was made."""
        graph = self.graph
        p = np.asarray(position, dtype=float)
        agent = graph.nodes.get(AGENT_ID)
        if agent is None:
            agent = SceneNode(AGENT_ID, 'agent', 'robot', p, first_seen=stamp,
                              status='confirmed')
            agent.attrs['trajectory'] = deque(maxlen=self.config.trajectory_length)
            graph.add_node(agent, stamp)
        agent.position = p
        agent.last_seen = stamp
        traj = agent.attrs.get('trajectory')
        if not isinstance(traj, deque):  # loaded from JSON as a list
            traj = deque(traj or (), maxlen=self.config.trajectory_length)
            agent.attrs['trajectory'] = traj
        traj.append((float(stamp), float(p[0]), float(p[1]), float(p[2])))
        graph.touch(AGENT_ID)
        last = graph.nodes.get(self._last_place) if self._last_place else None
        if last is not None and float(np.linalg.norm(last.position[:2] - p[:2])) < \
                self.config.place_spacing:
            return None
        for _d, near in graph.within_radius(p, self.config.place_spacing * 0.5, ('place',)):
            self._link(near.id)
            return None
        place = SceneNode(graph.new_id('place'), 'place', 'place', p.copy(),
                          first_seen=stamp, last_seen=stamp, status='confirmed')
        graph.add_node(place, stamp)
        name = room or self.room_by_bounds(p)
        if name is not None:
            place.room = self.ensure_room(name, stamp)
            graph.set_parent(place.id, place.room)
        self._link(place.id)
        return place.id

    def _link(self, place_id: str) -> None:
        if self._last_place and self._last_place != place_id and \
                self._last_place in self.graph.nodes:
            self.graph.set_edge(self._last_place, place_id, 'traversable')
            self.graph.set_edge(place_id, self._last_place, 'traversable')
        self._last_place = place_id

    def cluster_places(self, stamp: float = 0.0) -> int:
        """Group unannotated places into rooms by complete-linkage clustering.

        Returns the number of clustered rooms. Annotated places keep their room.
        """
        places = [p for p in self.graph.layer('place') if not p.room
                  or self.graph.nodes[p.room].label.startswith('area ')]
        if not places:
            return 0
        if len(places) == 1:
            labels = np.array([1])
        else:
            xy = np.stack([p.position[:2] for p in places])
            labels = fcluster(linkage(xy, 'complete'), self.config.cluster_distance,
                              criterion='distance')
        for place, lab in zip(places, labels):
            place.room = self.ensure_room(f'area {int(lab)}', stamp)
            self.graph.set_parent(place.id, place.room)
            self.graph.touch(place.id)
        return int(labels.max())
