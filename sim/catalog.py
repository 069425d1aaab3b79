"""What the simulator draws for each type of thing: size, colour, shape and mass.

What a type is and affords (kind, affordances, rooms, where it is kept) is the ontology's
(`memory_nodes.domain`), shared with the robot. This module adds only what a simulator
needs to build and render it: `CATALOG[type]` is an `ObjectSpec`, the ontology's
`ObjectType` plus its looks, for every type the simulator can build: the household types
and the AI2-THOR types its imported scenes add (`WORLD_ONTOLOGY`). Home generation,
physics and scoring read this table; a new type is one ontology row plus one row here.

Sizes are the axis-aligned extents (x, y, z) in metres of the primitive that stands for the
type; colours are RGBA in [0, 1] with a plain colour word for vague references ("the red
fruit").

Slicing (`SLICES`): in AI2-THOR, slicing a Bread, Apple, Tomato, Potato or Lettuce (or
cracking an Egg) replaces the object by slices, and ALFRED's goals about it afterwards
(`ON(bread, plate)`, `INSIDE(bread, toaster)`) are reached with one slice. The simulator
keeps one object (same id, same type, so memory, goals and the scorer need no new ids) and
rebuilds its body at the size of the slice the robot handles from then on. `SLICES[type]`
gives that slice's extents and primitive, AI2-THOR-like:

- a slice stands upright (x across, y the thickness, z the height), as AI2-THOR's bread
  slices stand in a toaster: a bread slice is 0.12 x 0.02 x 0.11 m, so it fits a plate's
  top (0.19 m square in FloorPlan1) and a toaster slot (0.09 x 0.22 m) alike, and it is no
  wider or longer than any loaf, so it fits wherever the loaf did (it may stand taller
  than a low loaf: 0.11 m against our 0.09 m Bread, under every shelf's clearance);
- an apple is cut into wedges, a tomato, potato or lettuce into slices (boxes: a thin
  cylinder would stand on its round side);
- a cracked Egg is a flat disc (0.08 m across, 0.02 m high), for when Egg is sliceable.

A slice keeps its type's colour and colour word (`CATALOG`), so vague references still
work. Types without an entry keep their size when sliced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from memory_nodes.domain.household import SLICING_TOOLS
from memory_nodes.domain.ontology import ROOM_TYPES, STATE_KEYS, ObjectType, Ontology
from sim.ai2thor.extra_types import AI2THOR_LOOKS, AI2THOR_ONTOLOGY

__all__ = ['CATALOG', 'GENERATED_DIRTY', 'GENERATED_UNSLICED', 'ROOM_TYPES', 'SLICES',
           'SLICING_TOOLS', 'STATE_KEYS', 'WORLD_ONTOLOGY', 'ObjectSpec', 'SliceLooks', 'spec']

Shape = str  # 'box' | 'sphere' | 'cylinder'


@dataclasses.dataclass(frozen=True)
class ObjectSpec(ObjectType):
    """An ontology type plus how the simulator draws it."""

    size: tuple[float, float, float] = (0.1, 0.1, 0.1)
    colour: tuple[float, float, float, float] = (0.6, 0.6, 0.6, 1.0)
    colour_name: str = 'grey'
    shape: Shape = 'box'
    mass: float = 0.2


class _Looks(NamedTuple):
    size: tuple[float, float, float]
    colour: tuple[float, float, float, float]
    colour_name: str
    shape: Shape = 'box'


WHITE = (0.92, 0.92, 0.9, 1.0)
GREY = (0.55, 0.55, 0.58, 1.0)
DARK = (0.2, 0.2, 0.22, 1.0)
WOOD = (0.55, 0.38, 0.22, 1.0)
LIGHT_WOOD = (0.75, 0.6, 0.4, 1.0)
STEEL = (0.7, 0.72, 0.75, 1.0)
RED = (0.85, 0.1, 0.1, 1.0)
GREEN = (0.2, 0.7, 0.2, 1.0)
BLUE = (0.15, 0.3, 0.85, 1.0)
YELLOW = (0.95, 0.85, 0.2, 1.0)
BROWN = (0.5, 0.33, 0.15, 1.0)
BLACK = (0.08, 0.08, 0.08, 1.0)
ORANGE = (0.95, 0.55, 0.1, 1.0)
PINK = (0.95, 0.6, 0.7, 1.0)
PURPLE = (0.5, 0.2, 0.6, 1.0)
TAN = (0.85, 0.7, 0.45, 1.0)

#: How each household type looks (furniture is static: mass 0; objects weigh 0.2 kg).
_HOUSEHOLD_LOOKS: dict[str, _Looks] = {
    'Fridge': _Looks((0.7, 0.7, 1.8), WHITE, 'white'),
    'Cabinet': _Looks((0.6, 0.55, 0.85), LIGHT_WOOD, 'brown'),
    'Drawer': _Looks((0.5, 0.5, 0.25), LIGHT_WOOD, 'brown'),
    'Microwave': _Looks((0.5, 0.4, 0.3), DARK, 'black'),
    'StoveBurner': _Looks((0.6, 0.6, 0.9), DARK, 'black'),
    'SinkBasin': _Looks((0.6, 0.5, 0.9), STEEL, 'silver'),
    'Faucet': _Looks((0.06, 0.06, 0.3), STEEL, 'silver'),
    'Toaster': _Looks((0.36, 0.28, 0.22), STEEL, 'silver'),
    'CoffeeMachine': _Looks((0.3, 0.3, 0.4), BLACK, 'black'),
    'CounterTop': _Looks((1.2, 0.6, 0.9), GREY, 'grey'),
    'DiningTable': _Looks((1.4, 0.9, 0.75), WOOD, 'brown'),
    'CoffeeTable': _Looks((1.0, 0.6, 0.45), WOOD, 'brown'),
    'SideTable': _Looks((0.5, 0.5, 0.6), LIGHT_WOOD, 'brown'),
    'Desk': _Looks((1.2, 0.6, 0.75), LIGHT_WOOD, 'brown'),
    'Shelf': _Looks((0.9, 0.35, 1.2), WOOD, 'brown'),
    'TVStand': _Looks((1.2, 0.45, 0.5), DARK, 'black'),
    'Dresser': _Looks((1.0, 0.5, 0.8), WOOD, 'brown'),
    'Sofa': _Looks((2.0, 0.9, 0.45), BLUE, 'blue'),
    'ArmChair': _Looks((0.9, 0.9, 0.45), GREEN, 'green'),
    'Bed': _Looks((2.0, 1.6, 0.55), WHITE, 'white'),
    'GarbageCan': _Looks((0.35, 0.35, 0.45), GREY, 'grey'),
    'DeskLamp': _Looks((0.2, 0.2, 0.45), YELLOW, 'yellow'),
    'FloorLamp': _Looks((0.35, 0.35, 1.6), YELLOW, 'yellow'),
    'Television': _Looks((1.0, 0.1, 0.6), BLACK, 'black'),
    'Toilet': _Looks((0.45, 0.65, 0.45), WHITE, 'white'),
    'BathtubBasin': _Looks((1.6, 0.75, 0.55), WHITE, 'white'),
    'TowelHolder': _Looks((0.7, 0.3, 0.9), STEEL, 'silver'),
    'Apple': _Looks((0.08, 0.08, 0.08), RED, 'red', 'sphere'),
    'Tomato': _Looks((0.08, 0.08, 0.07), RED, 'red', 'sphere'),
    'Bread': _Looks((0.22, 0.11, 0.09), TAN, 'tan'),
    'Egg': _Looks((0.05, 0.05, 0.06), WHITE, 'white', 'sphere'),
    'Potato': _Looks((0.1, 0.07, 0.07), BROWN, 'brown', 'sphere'),
    'Lettuce': _Looks((0.15, 0.15, 0.13), GREEN, 'green', 'sphere'),
    'Mug': _Looks((0.09, 0.09, 0.1), BLUE, 'blue', 'cylinder'),
    'Cup': _Looks((0.08, 0.08, 0.1), WHITE, 'white', 'cylinder'),
    'Bowl': _Looks((0.16, 0.16, 0.07), ORANGE, 'orange', 'cylinder'),
    'Plate': _Looks((0.24, 0.24, 0.025), WHITE, 'white', 'cylinder'),
    'Pan': _Looks((0.26, 0.26, 0.05), BLACK, 'black', 'cylinder'),
    'Pot': _Looks((0.24, 0.24, 0.14), STEEL, 'silver', 'cylinder'),
    'Kettle': _Looks((0.16, 0.16, 0.2), STEEL, 'silver', 'cylinder'),
    'Knife': _Looks((0.25, 0.03, 0.02), STEEL, 'silver'),
    'ButterKnife': _Looks((0.2, 0.025, 0.015), STEEL, 'silver'),
    'Spatula': _Looks((0.28, 0.06, 0.02), BLACK, 'black'),
    'Ladle': _Looks((0.28, 0.07, 0.04), STEEL, 'silver'),
    'Spoon': _Looks((0.16, 0.035, 0.015), STEEL, 'silver'),
    'Fork': _Looks((0.18, 0.025, 0.015), STEEL, 'silver'),
    'Bottle': _Looks((0.07, 0.07, 0.22), GREEN, 'green', 'cylinder'),
    'WineBottle': _Looks((0.08, 0.08, 0.3), PURPLE, 'purple', 'cylinder'),
    'SaltShaker': _Looks((0.04, 0.04, 0.09), WHITE, 'white', 'cylinder'),
    'PepperShaker': _Looks((0.04, 0.04, 0.09), BLACK, 'black', 'cylinder'),
    'DishSponge': _Looks((0.1, 0.06, 0.03), YELLOW, 'yellow'),
    'Book': _Looks((0.2, 0.14, 0.04), RED, 'red'),
    'Newspaper': _Looks((0.3, 0.22, 0.02), GREY, 'grey'),
    'Pen': _Looks((0.14, 0.012, 0.012), BLUE, 'blue'),
    'Pencil': _Looks((0.17, 0.01, 0.01), YELLOW, 'yellow'),
    'RemoteControl': _Looks((0.16, 0.05, 0.025), BLACK, 'black'),
    'CellPhone': _Looks((0.15, 0.075, 0.01), BLACK, 'black'),
    'Laptop': _Looks((0.34, 0.24, 0.025), GREY, 'grey'),
    'Watch': _Looks((0.05, 0.05, 0.015), BLACK, 'black', 'cylinder'),
    'KeyChain': _Looks((0.07, 0.03, 0.015), STEEL, 'silver'),
    'CreditCard': _Looks((0.085, 0.054, 0.005), BLUE, 'blue'),
    'AlarmClock': _Looks((0.12, 0.06, 0.1), RED, 'red'),
    'Pillow': _Looks((0.5, 0.35, 0.12), PINK, 'pink'),
    'Vase': _Looks((0.12, 0.12, 0.25), PURPLE, 'purple', 'cylinder'),
    'Statue': _Looks((0.1, 0.1, 0.22), GREY, 'grey'),
    'Candle': _Looks((0.06, 0.06, 0.12), WHITE, 'white', 'cylinder'),
    'Box': _Looks((0.3, 0.22, 0.18), BROWN, 'brown'),
    'TissueBox': _Looks((0.22, 0.11, 0.1), WHITE, 'white'),
    'SoapBar': _Looks((0.09, 0.06, 0.03), PINK, 'pink'),
    'SoapBottle': _Looks((0.07, 0.07, 0.18), GREEN, 'green', 'cylinder'),
    'ToiletPaper': _Looks((0.11, 0.11, 0.1), WHITE, 'white', 'cylinder'),
    'Towel': _Looks((0.3, 0.2, 0.04), BLUE, 'blue'),
    'HandTowel': _Looks((0.25, 0.15, 0.03), WHITE, 'white'),
    'Cloth': _Looks((0.2, 0.2, 0.02), ORANGE, 'orange'),
    'SprayBottle': _Looks((0.08, 0.08, 0.22), BLUE, 'blue', 'cylinder'),
}


def _catalog(ontology: Ontology, looks: Mapping[str, tuple]) -> dict[str, ObjectSpec]:
    missing = [t for t in ontology if t not in looks]
    if missing:
        raise ValueError(f'no looks for ontology types {missing}')
    out = {}
    for name, kind_spec in ontology.items():
        size, colour, colour_name, *shape = looks[name]
        fields = {f.name: getattr(kind_spec, f.name) for f in dataclasses.fields(ObjectType)}
        out[name] = ObjectSpec(**fields, size=tuple(size), colour=tuple(colour),
                               colour_name=colour_name, shape=shape[0] if shape else 'box',
                               mass=0.0 if kind_spec.kind == 'furniture' else 0.2)
    return out


#: Every type the simulator can build: the household ontology plus AI2-THOR's extra types.
WORLD_ONTOLOGY: Ontology = AI2THOR_ONTOLOGY

#: Type name -> `ObjectSpec`, read-only, fixed at import (whatever else is imported).
CATALOG: Mapping[str, ObjectSpec] = MappingProxyType(
    _catalog(WORLD_ONTOLOGY, {**_HOUSEHOLD_LOOKS, **AI2THOR_LOOKS}))


#: Types a generated home may leave dirty and generated tasks ask to wash: what people dirty
#: by using it (dishes, cookware, utensils, towels and cloths). ALFRED also washes food,
#: sponges, soap and kettles (they `can_be_dirty`), but generated homes keep those clean and
#: generated tasks do not wash them, so homes and suites stay as they were generated before.
GENERATED_DIRTY: frozenset[str] = frozenset((
    'Mug', 'Cup', 'Bowl', 'Plate', 'Pan', 'Pot', 'Knife', 'ButterKnife', 'Spatula', 'Ladle',
    'Spoon', 'Fork', 'Towel', 'HandTowel', 'Cloth'))

#: Sliceable types generated tasks do not slice: AI2-THOR slices an egg by cracking it, and
#: generated slicing means cutting with a knife (and suites stay as they were generated).
GENERATED_UNSLICED: frozenset[str] = frozenset(('Egg',))


class SliceLooks(NamedTuple):
    """What one slice of a sliced object is: extents (x, y, z) in metres and primitive."""

    size: tuple[float, float, float]
    shape: Shape = 'box'
    word: str = 'slice'


#: Type -> the slice the robot handles after slicing it (see the module docstring).
SLICES: Mapping[str, SliceLooks] = MappingProxyType({
    'Bread': SliceLooks((0.12, 0.02, 0.11)),
    'Apple': SliceLooks((0.08, 0.03, 0.07), word='wedge'),
    'Tomato': SliceLooks((0.08, 0.02, 0.07)),
    'Potato': SliceLooks((0.09, 0.02, 0.06)),
    'Lettuce': SliceLooks((0.14, 0.03, 0.12)),
    'Egg': SliceLooks((0.08, 0.08, 0.02), 'cylinder', 'cracked egg'),
})


def spec(object_type: str) -> ObjectSpec:
    """The spec of `object_type`; raises KeyError naming the unknown type."""
    try:
        return CATALOG[object_type]
    except KeyError:
        raise KeyError(f'unknown object type {object_type!r}') from None
