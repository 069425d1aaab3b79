"""How each furniture type is built from boxes, where its door is, and where things rest.

Everything here is in the furniture's local frame: origin at the centre of its footprint
at its base, x along its width, y towards its front (+y is where the door opens and the
robot stands), z up. `sim.world_builder` turns parts into PyBullet bodies; skills use the
surfaces to sample stable poses for `put`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sim.catalog import CATALOG, DARK, STEEL, WHITE, YELLOW

WALL = 0.03  # shell thickness of cabinets, fridges, basins


@dataclass(frozen=True)
class Part:
    """One box of a piece of furniture: centre and half extents (local frame), colour."""

    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    colour: tuple[float, float, float, float]
    indicator: bool = False  # recoloured when the furniture is toggled on
    slides: bool = False  # part of a drawer's box: moves out with it when it opens


@dataclass(frozen=True)
class Door:
    """A door or drawer front: a box whose pose depends on the open state (local frame)."""

    half: tuple[float, float, float]
    closed_centre: tuple[float, float, float]
    open_centre: tuple[float, float, float]
    open_yaw: float  # rotation about z of the open door relative to the furniture
    colour: tuple[float, float, float, float]


@dataclass(frozen=True)
class Surface:
    """Where objects rest: height `z`, usable rectangle in local x/y, free height above."""

    z: float
    rect: tuple[float, float, float, float]
    clearance: float


@dataclass(frozen=True)
class FurnitureGeometry:
    """The boxes, optional door and support surfaces of one furniture piece."""

    parts: list[Part]
    surfaces: list[Surface] = field(default_factory=list)
    door: Door | None = None
    #: How far (local x, y, z) an open drawer's box, its surfaces and its contents move
    #: out of the furniture; None where only a door moves.
    slide: tuple[float, float, float] | None = None

    def surfaces_when(self, is_open: bool) -> list[Surface]:
        """The support surfaces with the drawer open or closed (a drawer's slide out)."""
        if not is_open or self.slide is None:
            return list(self.surfaces)
        dx, dy, dz = self.slide
        return [Surface(s.z + dz, (s.rect[0] + dx, s.rect[1] + dy, s.rect[2] + dx,
                                   s.rect[3] + dy), s.clearance) for s in self.surfaces]


def _box(x0, y0, z0, x1, y1, z1, colour, indicator=False) -> Part:
    return Part(((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2),
                ((x1 - x0) / 2, (y1 - y0) / 2, (z1 - z0) / 2), colour, indicator)


def _shell(sx, sy, sz, colour, floor=0.0, top=True,
           shelves=()) -> tuple[list[Part], list[Surface]]:
    """An open-front (or open-top) box: floor, back, sides, optional top and shelves."""
    hx, hy, t = sx / 2, sy / 2, WALL
    parts = [
        _box(-hx, -hy, 0, hx, hy, floor + t, colour),
        _box(-hx, -hy, floor, hx, -hy + t, sz, colour),
        _box(-hx, -hy, floor, -hx + t, hy, sz, colour),
        _box(hx - t, -hy, floor, hx, hy, sz, colour),
    ]
    if top:
        parts.append(_box(-hx, -hy, sz - t, hx, hy, sz, colour))
    ceiling = sz - t if top else sz + 0.3
    levels = [floor + t] + [z + t for z in shelves]
    for z in shelves:
        parts.append(_box(-hx + t, -hy + t, z, hx - t, hy - t, z + t, colour))
    rect = (-hx + t + 0.02, -hy + t + 0.02, hx - t - 0.02, hy - t - 0.04)
    tops = levels[1:] + [ceiling]
    surfaces = [Surface(z, rect, top_z - z - 0.01) for z, top_z in zip(levels, tops)]
    return parts, surfaces


def _hinged_door(sx, sy, sz, colour, z0=0.0) -> Door:
    hx, hy = sx / 2, sy / 2
    t = 0.03
    # Hinge on the right edge (local +x); open swings the door out to the front by 90 deg.
    return Door(half=(hx, t / 2, (sz - z0) / 2),
                closed_centre=(0.0, hy + t / 2, (sz + z0) / 2),
                open_centre=(hx + t / 2, hy + hx, (sz + z0) / 2),
                open_yaw=-1.5707963, colour=colour)


def _drawer(sx, sy, sz, colour) -> FurnitureGeometry:
    """A drawer under a fixed top: its box (floor, back, sides, front) slides out when open.

    It slides out by its depth less one wall, so the whole inside is clear of the top and
    what lies in it can be seen from above and picked up (as in AI2-THOR and real kitchens).
    """
    parts, surfaces = _shell(sx, sy, sz, colour)
    top = parts[-1]  # _shell's top comes last; the rest is the box
    parts = [replace(part, slides=True) for part in parts[:-1]] + [top]
    hx, hy, t = sx / 2, sy / 2, 0.03
    slide = (0.0, sy - WALL, 0.0)
    front = Door(half=(hx, t / 2, sz / 2), closed_centre=(0.0, hy + t / 2, sz / 2),
                 open_centre=(0.0, hy + t / 2 + slide[1], sz / 2), open_yaw=0.0,
                 colour=colour)
    return FurnitureGeometry(parts, surfaces, front, slide)


def _top_surface(sx, sy, z, margin=0.04, clearance=0.6) -> Surface:
    return Surface(z, (-sx / 2 + margin, -sy / 2 + margin, sx / 2 - margin, sy / 2 - margin),
                   clearance)


def furniture_geometry(object_type: str, size: tuple[float, float, float]) -> FurnitureGeometry:
    """Parts, door and surfaces of a furniture piece of `object_type` with extents `size`."""
    sx, sy, sz = size
    hx, hy = sx / 2, sy / 2
    colour = CATALOG[object_type].colour if object_type in CATALOG else (0.6, 0.6, 0.6, 1)
    if object_type == 'Fridge':
        parts, surfaces = _shell(sx, sy, sz, colour, shelves=(0.8,))
        return FurnitureGeometry(parts, surfaces, _hinged_door(sx, sy, sz, colour))
    if object_type in ('Cabinet', 'Microwave', 'Safe'):
        parts, surfaces = _shell(sx, sy, sz, colour)
        door_colour = DARK if object_type == 'Microwave' else colour
        return FurnitureGeometry(parts, surfaces, _hinged_door(sx, sy, sz, door_colour))
    if object_type == 'Drawer':
        return _drawer(sx, sy, sz, colour)
    if object_type in ('GarbageCan', 'Toaster', 'BathtubBasin', 'LaundryHamper'):
        parts, surfaces = _shell(sx, sy, sz, colour, top=False)
        # no front wall in _shell: close the front for open-top containers
        parts.append(_box(-hx, hy - WALL, 0, hx, hy, sz, colour))
        return FurnitureGeometry(parts, surfaces)
    if object_type == 'SinkBasin':
        base = sz - 0.18
        parts = [_box(-hx, -hy, 0, hx, hy, base, WHITE)]
        rim, back = 0.05, 0.12
        parts += [
            _box(-hx, -hy, base, hx, -hy + back, sz, STEEL),
            _box(-hx, hy - rim, base, hx, hy, sz, STEEL),
            _box(-hx, -hy + back, base, -hx + rim, hy - rim, sz, STEEL),
            _box(hx - rim, -hy + back, base, hx, hy - rim, sz, STEEL),
        ]
        rect = (-hx + rim + 0.02, -hy + back + 0.02, hx - rim - 0.02, hy - rim - 0.02)
        return FurnitureGeometry(parts, [Surface(base, rect, 0.5)])
    if object_type == 'Shelf':
        t = WALL
        parts = [_box(-hx, -hy, 0, hx, -hy + t, sz, colour),
                 _box(-hx, -hy, 0, -hx + t, hy, sz, colour),
                 _box(hx - t, -hy, 0, hx, hy, sz, colour)]
        surfaces = []
        levels = (0.0, sz / 2, sz - t)
        for i, z in enumerate(levels):
            parts.append(_box(-hx + t, -hy + t, z, hx - t, hy, z + t, colour))
            above = (levels[i + 1] if i + 1 < len(levels) else sz + 0.5) - z - t - 0.01
            surfaces.append(Surface(z + t, (-hx + t + 0.02, -hy + t + 0.02, hx - t - 0.02,
                                            hy - 0.03), above))
        return FurnitureGeometry(parts, surfaces)
    if object_type in ('Sofa', 'ArmChair'):
        seat = sz
        parts = [_box(-hx, -hy + 0.2, 0, hx, hy, seat, colour),
                 _box(-hx, -hy, 0, hx, -hy + 0.2, seat + 0.4, colour)]
        return FurnitureGeometry(parts, [Surface(seat, (-hx + 0.05, -hy + 0.24, hx - 0.05,
                                                        hy - 0.05), 0.6)])
    if object_type == 'Bed':
        parts = [_box(-hx, -hy + 0.08, 0, hx, hy, sz, colour),
                 _box(-hx, -hy, 0, hx, -hy + 0.08, sz + 0.5, (0.45, 0.3, 0.2, 1))]
        return FurnitureGeometry(parts, [Surface(sz, (-hx + 0.05, -hy + 0.12, hx - 0.05,
                                                      hy - 0.05), 0.8)])
    if object_type == 'Toilet':
        tank_d = 0.18
        parts = [_box(-hx + 0.03, -hy + tank_d, 0, hx - 0.03, hy, sz - 0.05, colour),
                 _box(-hx, -hy, 0, hx, -hy + tank_d, sz + 0.3, colour)]
        return FurnitureGeometry(parts, [
            Surface(sz + 0.3, (-hx + 0.02, -hy + 0.02, hx - 0.02, -hy + tank_d - 0.02), 0.5),
            Surface(sz - 0.05, (-hx + 0.06, -hy + tank_d + 0.03, hx - 0.06, hy - 0.03), 0.5)])
    if object_type in ('TowelHolder', 'HandTowelHolder', 'ToiletPaperHanger'):
        t = 0.04
        parts = [_box(-hx, -hy, 0, -hx + t, hy, sz, STEEL),
                 _box(hx - t, -hy, 0, hx, hy, sz, STEEL),
                 _box(-hx, -hy, sz - t, hx, hy, sz, STEEL)]
        return FurnitureGeometry(parts, [_top_surface(sx, sy, sz, margin=0.02)])
    if object_type == 'StoveBurner':
        parts = [_box(-hx, -hy, 0, hx, hy, sz, colour),
                 _box(-0.15, -0.15, sz, 0.15, 0.15, sz + 0.01, (0.35, 0.1, 0.1, 1), True)]
        return FurnitureGeometry(parts, [_top_surface(sx, sy, sz + 0.01)])
    if object_type == 'Faucet':
        return FurnitureGeometry([
            _box(-0.03, -0.03, 0, 0.03, 0.03, sz, STEEL),
            _box(-0.025, 0.0, sz - 0.05, 0.025, 0.15, sz, STEEL, True)])
    if object_type in ('DeskLamp', 'FloorLamp'):
        shade = min(0.2, sz * 0.35)
        return FurnitureGeometry([
            _box(-hx, -hy, 0, hx, hy, 0.03, DARK),
            _box(-0.015, -0.015, 0.03, 0.015, 0.015, sz - shade, DARK),
            _box(-hx * 0.9, -hy * 0.9, sz - shade, hx * 0.9, hy * 0.9, sz, YELLOW, True)])
    if object_type == 'Television':
        return FurnitureGeometry([
            _box(-0.1, -hy, 0, 0.1, hy, 0.05, DARK),
            _box(-hx, -hy, 0.05, hx, hy, sz, colour),
            _box(-hx + 0.03, hy, 0.08, hx - 0.03, hy + 0.005, sz - 0.03, (0.05, 0.05, 0.1, 1),
                 True)])
    if object_type == 'CoffeeMachine':
        return FurnitureGeometry([
            _box(-hx, -hy, 0, hx, -hy + 0.12, sz, colour),
            _box(-hx, -hy, 0, hx, hy, 0.03, colour),
            _box(-hx, -hy, sz - 0.08, hx, hy, sz, colour),
            _box(-0.03, -hy + 0.12, sz - 0.12, 0.03, -hy + 0.16, sz - 0.08, (0.3, 0.1, 0.1, 1),
                 True)],
            [Surface(0.03, (-hx + 0.03, -hy + 0.14, hx - 0.03, hy - 0.03), sz - 0.14)])
    # tables, counters, desks, dressers, TV stands, ottomans, carts: a solid block with a
    # top surface; decor that is no receptacle (mirrors, paintings): a block alone
    return FurnitureGeometry([_box(-hx, -hy, 0, hx, hy, sz, colour)],
                             [_top_surface(sx, sy, sz)] if CATALOG.get(
                                 object_type) and CATALOG[object_type].receptacle else [])


def top_height(object_type: str, size: tuple[float, float, float]) -> float:
    """Height of the highest support surface (where furniture-on-furniture stands)."""
    geom = furniture_geometry(object_type, size)
    return max((s.z for s in geom.surfaces), default=size[2])
