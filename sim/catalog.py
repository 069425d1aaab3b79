"""Every object and furniture type the simulator knows, with AI2-THOR type names.

`CATALOG[type]` says what a thing looks like (size, colour, primitive shape) and what it
affords (pick up, receive other objects `in` or `on` it, open, toggle, slice, cook, get
dirty, fill, get used up), which rooms it appears in, and on which receptacle types the
home generator spawns it. Goal checking, the oracle and the home generator all read this
table, so a new type is one new row here.

Sizes are the axis-aligned extents (x, y, z) in metres of the primitive that stands for the
type; colours are RGBA in [0, 1] with a plain colour word for vague references ("the red
fruit").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.interface import ObjectKind, Relation

#: Room types a generated home has; room names in a home are these (plus a suffix if repeated).
ROOM_TYPES = ('kitchen', 'living_room', 'bedroom', 'bathroom')

#: State keys an object may carry (values are bools).
STATE_KEYS = ('open', 'toggled', 'dirty', 'hot', 'cold', 'cooked', 'sliced', 'filled', 'used_up')

Shape = str  # 'box' | 'sphere' | 'cylinder'


@dataclass(frozen=True)
class ObjectSpec:
    """What one object type is and affords."""

    object_type: str
    kind: ObjectKind
    size: tuple[float, float, float]
    colour: tuple[float, float, float, float]
    colour_name: str
    shape: Shape = 'box'
    pickupable: bool = False
    receptacle: Relation | None = None
    openable: bool = False
    toggleable: bool = False
    sliceable: bool = False
    cookable: bool = False
    can_be_dirty: bool = False
    fillable: bool = False
    can_be_used_up: bool = False
    rooms: tuple[str, ...] = ()
    spawn_on: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    mass: float = 0.2

    @property
    def is_receptacle(self) -> bool:
        """True if other objects can be put in or on it."""
        return self.receptacle is not None

    @property
    def heatable(self) -> bool:
        """Pickupable things get hot or cold by the ALFRED rules (microwave, pan, fridge)."""
        return self.pickupable

    def state_keys(self) -> tuple[str, ...]:
        """The state keys that apply to this type, in `STATE_KEYS` order."""
        keys = []
        if self.openable:
            keys.append('open')
        if self.toggleable:
            keys.append('toggled')
        if self.can_be_dirty:
            keys.append('dirty')
        if self.heatable:
            keys += ['hot', 'cold']
        if self.cookable:
            keys.append('cooked')
        if self.sliceable:
            keys.append('sliced')
        if self.fillable:
            keys.append('filled')
        if self.can_be_used_up:
            keys.append('used_up')
        return tuple(keys)

    def default_states(self) -> dict[str, bool]:
        """All applicable states, False (closed, off, clean, room temperature, ...)."""
        return {key: False for key in self.state_keys()}


def _f(object_type: str, size, colour, colour_name, rooms, **kw) -> ObjectSpec:
    return ObjectSpec(object_type, 'furniture', size, colour, colour_name,
                      rooms=tuple(rooms), mass=0.0, **kw)


def _o(object_type: str, size, colour, colour_name, rooms, spawn_on, **kw) -> ObjectSpec:
    return ObjectSpec(object_type, 'object', size, colour, colour_name, pickupable=True,
                      rooms=tuple(rooms), spawn_on=tuple(spawn_on), **kw)


K, L, B, W = 'kitchen', 'living_room', 'bedroom', 'bathroom'

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

_KITCHEN_SURF = ('CounterTop', 'DiningTable')
_LIVING_SURF = ('CoffeeTable', 'SideTable', 'Sofa', 'Shelf', 'TVStand', 'DiningTable')
_BED_SURF = ('Desk', 'Bed', 'SideTable', 'Dresser', 'Shelf')
_BATH_SURF = ('CounterTop', 'Toilet', 'Shelf')

_FURNITURE = [
    _f('Fridge', (0.7, 0.7, 1.8), WHITE, 'white', [K], receptacle='in', openable=True,
       categories=('appliance',)),
    _f('Cabinet', (0.6, 0.55, 0.85), LIGHT_WOOD, 'brown', [K, W], receptacle='in',
       openable=True, categories=('storage',)),
    _f('Drawer', (0.5, 0.5, 0.25), LIGHT_WOOD, 'brown', [K, B], receptacle='in',
       openable=True, categories=('storage',)),
    _f('Microwave', (0.5, 0.4, 0.3), DARK, 'black', [K], receptacle='in', openable=True,
       toggleable=True, categories=('appliance',)),
    _f('StoveBurner', (0.6, 0.6, 0.9), DARK, 'black', [K], receptacle='on', toggleable=True,
       categories=('appliance',)),
    _f('SinkBasin', (0.6, 0.5, 0.9), STEEL, 'silver', [K, W], receptacle='in',
       categories=('sink',)),
    _f('Faucet', (0.06, 0.06, 0.3), STEEL, 'silver', [K, W], toggleable=True,
       categories=('sink',)),
    _f('Toaster', (0.36, 0.28, 0.22), STEEL, 'silver', [K], receptacle='in', toggleable=True,
       categories=('appliance',)),
    _f('CoffeeMachine', (0.3, 0.3, 0.4), BLACK, 'black', [K], receptacle='on',
       toggleable=True, categories=('appliance',)),
    _f('CounterTop', (1.2, 0.6, 0.9), GREY, 'grey', [K, W], receptacle='on',
       categories=('surface',)),
    _f('DiningTable', (1.4, 0.9, 0.75), WOOD, 'brown', [K, L], receptacle='on',
       categories=('surface', 'table')),
    _f('CoffeeTable', (1.0, 0.6, 0.45), WOOD, 'brown', [L], receptacle='on',
       categories=('surface', 'table')),
    _f('SideTable', (0.5, 0.5, 0.6), LIGHT_WOOD, 'brown', [L, B], receptacle='on',
       categories=('surface', 'table')),
    _f('Desk', (1.2, 0.6, 0.75), LIGHT_WOOD, 'brown', [B], receptacle='on',
       categories=('surface', 'table')),
    _f('Shelf', (0.9, 0.35, 1.2), WOOD, 'brown', [L, B, W], receptacle='on',
       categories=('surface', 'storage')),
    _f('TVStand', (1.2, 0.45, 0.5), DARK, 'black', [L], receptacle='on',
       categories=('surface',)),
    _f('Dresser', (1.0, 0.5, 0.8), WOOD, 'brown', [B], receptacle='on',
       categories=('surface', 'storage')),
    _f('Sofa', (2.0, 0.9, 0.45), BLUE, 'blue', [L], receptacle='on',
       categories=('seat',)),
    _f('ArmChair', (0.9, 0.9, 0.45), GREEN, 'green', [L], receptacle='on',
       categories=('seat',)),
    _f('Bed', (2.0, 1.6, 0.55), WHITE, 'white', [B], receptacle='on',
       categories=('bed',)),
    _f('GarbageCan', (0.35, 0.35, 0.45), GREY, 'grey', [K, L, B, W], receptacle='in',
       categories=('trash',)),
    _f('DeskLamp', (0.2, 0.2, 0.45), YELLOW, 'yellow', [B, L], toggleable=True,
       categories=('light',)),
    _f('FloorLamp', (0.35, 0.35, 1.6), YELLOW, 'yellow', [L, B], toggleable=True,
       categories=('light',)),
    _f('Television', (1.0, 0.1, 0.6), BLACK, 'black', [L], toggleable=True,
       categories=('electronics',)),
    _f('Toilet', (0.45, 0.65, 0.45), WHITE, 'white', [W], receptacle='on',
       categories=('bathroom',)),
    _f('BathtubBasin', (1.6, 0.75, 0.55), WHITE, 'white', [W], receptacle='in',
       categories=('bathroom',)),
    _f('TowelHolder', (0.7, 0.3, 0.9), STEEL, 'silver', [W], receptacle='on',
       categories=('bathroom',)),
]

_OBJECTS = [
    # food
    _o('Apple', (0.08, 0.08, 0.08), RED, 'red', [K], _KITCHEN_SURF + ('Fridge',),
       shape='sphere', sliceable=True, cookable=True, categories=('food', 'fruit')),
    _o('Tomato', (0.08, 0.08, 0.07), RED, 'red', [K], _KITCHEN_SURF + ('Fridge',),
       shape='sphere', sliceable=True, cookable=True, categories=('food', 'vegetable')),
    _o('Bread', (0.22, 0.11, 0.09), TAN, 'tan', [K], _KITCHEN_SURF, sliceable=True,
       cookable=True, categories=('food',)),
    _o('Egg', (0.05, 0.05, 0.06), WHITE, 'white', [K], _KITCHEN_SURF + ('Fridge',),
       shape='sphere', cookable=True, categories=('food',)),
    _o('Potato', (0.1, 0.07, 0.07), BROWN, 'brown', [K], _KITCHEN_SURF + ('Fridge',),
       shape='sphere', sliceable=True, cookable=True, categories=('food', 'vegetable')),
    _o('Lettuce', (0.15, 0.15, 0.13), GREEN, 'green', [K], _KITCHEN_SURF + ('Fridge',),
       shape='sphere', sliceable=True, categories=('food', 'vegetable')),
    # kitchenware
    _o('Mug', (0.09, 0.09, 0.1), BLUE, 'blue', [K, L], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', receptacle='in', can_be_dirty=True, fillable=True,
       categories=('container', 'kitchenware')),
    _o('Cup', (0.08, 0.08, 0.1), WHITE, 'white', [K], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', receptacle='in', can_be_dirty=True, fillable=True,
       categories=('container', 'kitchenware')),
    _o('Bowl', (0.16, 0.16, 0.07), ORANGE, 'orange', [K], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', receptacle='in', can_be_dirty=True, fillable=True,
       categories=('container', 'kitchenware')),
    _o('Plate', (0.24, 0.24, 0.025), WHITE, 'white', [K], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', receptacle='on', can_be_dirty=True,
       categories=('container', 'kitchenware')),
    _o('Pan', (0.26, 0.26, 0.05), BLACK, 'black', [K], ('CounterTop', 'StoveBurner'),
       shape='cylinder', receptacle='in', can_be_dirty=True,
       categories=('container', 'cookware')),
    _o('Pot', (0.24, 0.24, 0.14), STEEL, 'silver', [K], ('CounterTop', 'StoveBurner'),
       shape='cylinder', receptacle='in', can_be_dirty=True, fillable=True,
       categories=('container', 'cookware')),
    _o('Kettle', (0.16, 0.16, 0.2), STEEL, 'silver', [K], ('CounterTop', 'StoveBurner'),
       shape='cylinder', fillable=True, categories=('container', 'cookware')),
    _o('Knife', (0.25, 0.03, 0.02), STEEL, 'silver', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil', 'cutter')),
    _o('ButterKnife', (0.2, 0.025, 0.015), STEEL, 'silver', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil', 'cutter')),
    _o('Spatula', (0.28, 0.06, 0.02), BLACK, 'black', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil',)),
    _o('Ladle', (0.28, 0.07, 0.04), STEEL, 'silver', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil',)),
    _o('Spoon', (0.16, 0.035, 0.015), STEEL, 'silver', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil',)),
    _o('Fork', (0.18, 0.025, 0.015), STEEL, 'silver', [K], _KITCHEN_SURF + ('Drawer',),
       can_be_dirty=True, categories=('utensil',)),
    _o('Bottle', (0.07, 0.07, 0.22), GREEN, 'green', [K], _KITCHEN_SURF + ('Fridge',),
       shape='cylinder', fillable=True, categories=('container', 'drink')),
    _o('WineBottle', (0.08, 0.08, 0.3), PURPLE, 'purple', [K, L], _KITCHEN_SURF + ('Fridge',),
       shape='cylinder', fillable=True, categories=('container', 'drink')),
    _o('SaltShaker', (0.04, 0.04, 0.09), WHITE, 'white', [K], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', categories=('condiment',)),
    _o('PepperShaker', (0.04, 0.04, 0.09), BLACK, 'black', [K], _KITCHEN_SURF + ('Cabinet',),
       shape='cylinder', categories=('condiment',)),
    _o('DishSponge', (0.1, 0.06, 0.03), YELLOW, 'yellow', [K, W], ('CounterTop', 'SinkBasin'),
       categories=('cleaning',)),
    # living room, bedroom, office
    _o('Book', (0.2, 0.14, 0.04), RED, 'red', [L, B], _LIVING_SURF + _BED_SURF,
       openable=True, categories=('reading',)),
    _o('Newspaper', (0.3, 0.22, 0.02), GREY, 'grey', [L], _LIVING_SURF,
       categories=('reading',)),
    _o('Pen', (0.14, 0.012, 0.012), BLUE, 'blue', [B, L], _BED_SURF + ('Drawer',),
       categories=('stationery',)),
    _o('Pencil', (0.17, 0.01, 0.01), YELLOW, 'yellow', [B], _BED_SURF + ('Drawer',),
       categories=('stationery',)),
    _o('RemoteControl', (0.16, 0.05, 0.025), BLACK, 'black', [L], _LIVING_SURF,
       categories=('electronics',)),
    _o('CellPhone', (0.15, 0.075, 0.01), BLACK, 'black', [L, B], _LIVING_SURF + _BED_SURF,
       toggleable=True, categories=('electronics',)),
    _o('Laptop', (0.34, 0.24, 0.025), GREY, 'grey', [L, B], ('Desk', 'CoffeeTable', 'Bed',
       'Sofa', 'DiningTable'), openable=True, toggleable=True, categories=('electronics',)),
    _o('Watch', (0.05, 0.05, 0.015), BLACK, 'black', [B, L], _BED_SURF + ('Drawer',),
       shape='cylinder', categories=('valuable',)),
    _o('KeyChain', (0.07, 0.03, 0.015), STEEL, 'silver', [L, B], _LIVING_SURF + _BED_SURF,
       categories=('valuable',)),
    _o('CreditCard', (0.085, 0.054, 0.005), BLUE, 'blue', [L, B], _LIVING_SURF + _BED_SURF,
       categories=('valuable',)),
    _o('AlarmClock', (0.12, 0.06, 0.1), RED, 'red', [B], _BED_SURF, categories=('device',)),
    _o('Pillow', (0.5, 0.35, 0.12), PINK, 'pink', [L, B], ('Sofa', 'Bed', 'ArmChair'),
       categories=('textile',)),
    _o('Vase', (0.12, 0.12, 0.25), PURPLE, 'purple', [L], _LIVING_SURF, shape='cylinder',
       categories=('decor',)),
    _o('Statue', (0.1, 0.1, 0.22), GREY, 'grey', [L, B], _LIVING_SURF, categories=('decor',)),
    _o('Candle', (0.06, 0.06, 0.12), WHITE, 'white', [L, W], _LIVING_SURF + _BATH_SURF,
       shape='cylinder', toggleable=True, can_be_used_up=True, categories=('decor',)),
    _o('Box', (0.3, 0.22, 0.18), BROWN, 'brown', [L, B], ('CoffeeTable', 'Desk', 'Shelf'),
       receptacle='in', openable=True, categories=('container',)),
    _o('TissueBox', (0.22, 0.11, 0.1), WHITE, 'white', [L, B, W],
       _LIVING_SURF + _BED_SURF + _BATH_SURF, can_be_used_up=True, categories=('cleaning',)),
    # bathroom
    _o('SoapBar', (0.09, 0.06, 0.03), PINK, 'pink', [W], _BATH_SURF + ('BathtubBasin',),
       categories=('cleaning',)),
    _o('SoapBottle', (0.07, 0.07, 0.18), GREEN, 'green', [W, K], _BATH_SURF + ('CounterTop',),
       shape='cylinder', can_be_used_up=True, categories=('cleaning',)),
    _o('ToiletPaper', (0.11, 0.11, 0.1), WHITE, 'white', [W], _BATH_SURF, shape='cylinder',
       can_be_used_up=True, categories=('cleaning',)),
    _o('Towel', (0.3, 0.2, 0.04), BLUE, 'blue', [W], ('TowelHolder',) + _BATH_SURF,
       can_be_dirty=True, categories=('textile', 'cleaning')),
    _o('HandTowel', (0.25, 0.15, 0.03), WHITE, 'white', [W], ('TowelHolder',) + _BATH_SURF,
       can_be_dirty=True, categories=('textile', 'cleaning')),
    _o('Cloth', (0.2, 0.2, 0.02), ORANGE, 'orange', [W, K], _BATH_SURF + ('CounterTop',),
       can_be_dirty=True, categories=('textile', 'cleaning')),
    _o('SprayBottle', (0.08, 0.08, 0.22), BLUE, 'blue', [W], _BATH_SURF, shape='cylinder',
       can_be_used_up=True, categories=('cleaning',)),
]

#: Every known type by AI2-THOR type name.
CATALOG: dict[str, ObjectSpec] = {s.object_type: s for s in _FURNITURE + _OBJECTS}

#: The types of this module, fixed at import: `CATALOG` may grow later (the AI2-THOR
#: importer registers extra rows), so anything that must not depend on import order (the
#: detector's class list) reads this instead.
CORE_TYPES: tuple[str, ...] = tuple(CATALOG)

#: Object types that can slice a sliceable object when held.
SLICING_TOOLS = ('Knife', 'ButterKnife')


def spec(object_type: str) -> ObjectSpec:
    """The spec of `object_type`; raises KeyError naming the unknown type."""
    try:
        return CATALOG[object_type]
    except KeyError:
        raise KeyError(f'unknown object type {object_type!r}') from None


def furniture_types() -> list[str]:
    """All furniture types, in catalogue order."""
    return [t for t, s in CATALOG.items() if s.kind == 'furniture']


def object_types() -> list[str]:
    """All small (pickupable) object types, in catalogue order."""
    return [t for t, s in CATALOG.items() if s.kind == 'object']
