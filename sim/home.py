"""A home as plain data: rooms, walls, doorways, furniture, objects and the place graph.

`HomeSpec` is what every backend builds a world from and what the generator
(`sim.home_generator`) or an importer (e.g. AI2-THOR scenes) produces. It round-trips
through JSON (`to_dict` / `from_dict`, `save` / `load`). Positions are in `map` (REP 103):
metres, x forward, y left, z up; yaw in radians about z.

A furniture piece's `position` is the centre of its footprint at its base height (the
floor, or the top of the furniture it stands on); a small object's `position` is its
centre. `size` is (width along local x, depth along local y, height); furniture faces
local +y (its front, where doors open and the robot stands).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memory_nodes.domain.skills import Relation
from sim.geometry import Rect, contains, footprint


@dataclass
class RoomSpec:
    """One room: a unique name, its type (kitchen, ...) and its footprint in `map`."""

    name: str
    room_type: str
    footprint: Rect


@dataclass
class WallSpec:
    """A straight wall segment from `start` to `end` (x, y), with thickness and height."""

    start: tuple[float, float]
    end: tuple[float, float]
    thickness: float = 0.1
    height: float = 2.2


@dataclass
class DoorwaySpec:
    """An opening between two rooms, centred at `center` in a wall along `axis`."""

    rooms: tuple[str, str]
    center: tuple[float, float]
    width: float
    axis: str  # 'x': the wall runs along x (the door is crossed along y); 'y': vice versa


@dataclass
class PlacedThing:
    """One piece of furniture or one small object placed in the home."""

    object_id: str
    object_type: str
    room: str
    size: tuple[float, float, float]
    position: tuple[float, float, float] | None = None
    yaw: float = 0.0
    parent: str | None = None
    relation: Relation | None = None
    states: dict[str, bool] = field(default_factory=dict)
    attached_to: str | None = None  # e.g. a Faucet's SinkBasin
    approach: str | None = None  # waypoint the robot stands at to reach it

    def footprint(self) -> Rect:
        """Axis-aligned footprint in `map` (needs `position`)."""
        assert self.position is not None, f'{self.object_id} has no position'
        return footprint(self.position[:2], self.yaw, self.size[0] / 2, self.size[1] / 2)


@dataclass
class Waypoint:
    """A navigable place: a room grid point, a doorway side, or in front of furniture."""

    name: str
    x: float
    y: float
    room: str
    kind: str = 'room'  # 'room' | 'door' | 'approach'


@dataclass
class HomeSpec:
    """Everything needed to build one home, JSON-serialisable."""

    name: str
    rooms: list[RoomSpec]
    walls: list[WallSpec] = field(default_factory=list)
    doorways: list[DoorwaySpec] = field(default_factory=list)
    furniture: list[PlacedThing] = field(default_factory=list)
    objects: list[PlacedThing] = field(default_factory=list)
    waypoints: list[Waypoint] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    robot_start: str | None = None
    seed: int | None = None

    def things(self) -> list[PlacedThing]:
        """Furniture then objects."""
        return self.furniture + self.objects

    def thing(self, object_id: str) -> PlacedThing:
        """The furniture piece or object with id `object_id`."""
        for t in self.things():
            if t.object_id == object_id:
                return t
        raise KeyError(f'no object {object_id!r} in home {self.name!r}')

    def room_at(self, x: float, y: float) -> str | None:
        """Name of the room whose footprint contains (x, y), if any."""
        for room in self.rooms:
            if contains(room.footprint, x, y):
                return room.name
        return None

    def waypoint(self, name: str) -> Waypoint:
        """The waypoint called `name`."""
        for w in self.waypoints:
            if w.name == name:
                return w
        raise KeyError(f'no waypoint {name!r} in home {self.name!r}')

    def to_dict(self) -> dict:
        """Plain dict (JSON types only)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> HomeSpec:
        """Inverse of `to_dict`."""
        def thing(t: dict) -> PlacedThing:
            t = dict(t)
            t['size'] = tuple(t['size'])
            if t.get('position') is not None:
                t['position'] = tuple(t['position'])
            return PlacedThing(**t)

        return cls(
            name=d['name'],
            rooms=[RoomSpec(r['name'], r['room_type'], tuple(r['footprint']))
                   for r in d['rooms']],
            walls=[WallSpec(tuple(w['start']), tuple(w['end']), w.get('thickness', 0.1),
                            w.get('height', 2.2)) for w in d.get('walls', [])],
            doorways=[DoorwaySpec(tuple(o['rooms']), tuple(o['center']), o['width'], o['axis'])
                      for o in d.get('doorways', [])],
            furniture=[thing(t) for t in d.get('furniture', [])],
            objects=[thing(t) for t in d.get('objects', [])],
            waypoints=[Waypoint(**w) for w in d.get('waypoints', [])],
            edges=[tuple(e) for e in d.get('edges', [])],
            robot_start=d.get('robot_start'),
            seed=d.get('seed'),
        )

    def to_json(self) -> str:
        """JSON text (stable key order)."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    def save(self, path: str | Path) -> None:
        """Write JSON to `path`."""
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> HomeSpec:
        """Read a home written by `save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))
