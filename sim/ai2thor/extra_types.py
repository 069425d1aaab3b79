"""AI2-THOR types the household ontology lacks: a richer ontology, built from it.

`AI2THOR_ONTOLOGY` is the household ontology extended with these rows (a new object,
nothing shared is changed), and `AI2THOR_LOOKS` says how the simulator draws them. None of
them has rooms or receptacles it is kept on, so the home generator never spawns them and
generated homes stay the same. `Sink` and `ShelvingUnit` are deliberately absent: they are
housings around a `SinkBasin` and around `Shelf` boards, which are the receptacles (see
`sim.ai2thor.scene_importer.HOUSINGS`); a `Sink` row would also make the word `sink`
resolve to it instead of `SinkBasin`.

Where AI2-THOR keeps these types (and every other type ALFRED-L names) is in
`ALFRED_PLACEMENT`, apart from the rows, for a builder that makes AI2-THOR-like homes on
request: giving the rows rooms would put them into every generated home.

Decor AI2-THOR only looks at (`Mirror`, `Painting`, `ShowerCurtain`) is here as plain
furniture, no receptacle, so that a task naming it maps and its home holds one: a goal
putting something on or in it is reported as unreachable (`support_problems`), and the
shower curtain opens and closes as a state only (it has no door to swing). `ShowerHead`
is a fixture on the bath tub (`sim.home_generator.FIXTURES`), switched on and off like
the faucet.
"""

from __future__ import annotations

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import ObjectType, Ontology

_GREY = (0.6, 0.6, 0.6, 1.0)
_GREEN = (0.25, 0.6, 0.25, 1.0)
_WHITE = (0.95, 0.95, 0.95, 1.0)
_WOOD = (0.55, 0.38, 0.22, 1.0)
_GLASS = (0.7, 0.85, 0.95, 1.0)
_STEEL = (0.7, 0.72, 0.75, 1.0)
_DARK = (0.2, 0.2, 0.22, 1.0)
_WICKER = (0.8, 0.68, 0.48, 1.0)

#: AI2-THOR types added to the household ontology (affordances as AI2-THOR gives them).
EXTRA_TYPES: tuple[ObjectType, ...] = (
    ObjectType('Floor', 'furniture', categories=('structure',)),
    ObjectType('Window', 'furniture', categories=('structure',)),
    ObjectType('LightSwitch', 'furniture', toggleable=True, categories=('light', 'switch')),
    ObjectType('StoveKnob', 'furniture', toggleable=True, categories=('appliance', 'switch')),
    ObjectType('HousePlant', 'furniture', categories=('decor',)),
    ObjectType('Stool', 'furniture', receptacle='on', categories=('seat',)),
    ObjectType('PaperTowelRoll', 'object', pickupable=True, can_be_used_up=True,
               categories=('cleaning',)),
    ObjectType('CD', 'object', pickupable=True, categories=('electronics',)),
    ObjectType('Plunger', 'object', pickupable=True, categories=('cleaning', 'bathroom')),
    # Sports things and toys AI2-THOR leaves on bedroom floors (ALFRED's bedrooms).
    ObjectType('BaseballBat', 'object', pickupable=True, categories=('sports',)),
    ObjectType('BasketBall', 'object', pickupable=True, categories=('sports',)),
    ObjectType('TennisRacket', 'object', pickupable=True, categories=('sports',)),
    ObjectType('Dumbbell', 'object', pickupable=True, categories=('sports',)),
    ObjectType('TeddyBear', 'object', pickupable=True, categories=('toy',)),
    ObjectType('Boots', 'object', pickupable=True, categories=('clothing',)),
    ObjectType('ScrubBrush', 'object', pickupable=True, categories=('cleaning', 'bathroom')),
    ObjectType('WateringCan', 'object', pickupable=True, fillable=True,
               categories=('container', 'garden')),
    ObjectType('LaundryHamper', 'furniture', receptacle='in', categories=('storage',)),
    ObjectType('Safe', 'furniture', receptacle='in', openable=True,
               categories=('storage', 'valuable')),
    ObjectType('Ottoman', 'furniture', receptacle='on', categories=('seat',)),
    ObjectType('Cart', 'furniture', receptacle='on', categories=('surface', 'storage')),
    ObjectType('HandTowelHolder', 'furniture', receptacle='on', categories=('bathroom',)),
    ObjectType('ToiletPaperHanger', 'furniture', receptacle='on', categories=('bathroom',)),
    ObjectType('ShowerHead', 'furniture', toggleable=True, categories=('bathroom',)),
    ObjectType('ShowerCurtain', 'furniture', openable=True, categories=('bathroom',)),
    ObjectType('Mirror', 'furniture', categories=('decor',)),
    ObjectType('Painting', 'furniture', categories=('decor',)),
)

#: Free words for the extra types (the household table's words are kept).
EXTRA_SYNONYMS: dict[str, tuple[str, ...]] = {
    'compact disc': ('CD',),
    'disc': ('CD',),
    'dvd': ('CD',),
    'switch': ('LightSwitch',),
    'knob': ('StoveKnob',),
    'plant': ('HousePlant',),
    'paper towel': ('PaperTowelRoll',),
    'bat': ('BaseballBat',),
    'ball': ('BasketBall',),
    'racket': ('TennisRacket',),
    'racquet': ('TennisRacket',),
    'tennis racquet': ('TennisRacket',),
    'teddy': ('TeddyBear',),
    'stuffed animal': ('TeddyBear',),
    'dumbell': ('Dumbbell',),
    'weights': ('Dumbbell',),
    'boot': ('Boots',),
    'shoes': ('Boots',),
    'toilet brush': ('ScrubBrush',),
    'brush': ('ScrubBrush',),
    'basket': ('LaundryHamper',),
    'hamper': ('LaundryHamper',),
    'laundry basket': ('LaundryHamper',),
    'strongbox': ('Safe',),
    'footstool': ('Ottoman',),
    'pouf': ('Ottoman',),
    'trolley': ('Cart',),
    'towel ring': ('HandTowelHolder',),
    'toilet paper holder': ('ToiletPaperHanger',),
    'shower': ('ShowerHead',),
    'picture': ('Painting',),
    'poster': ('Painting',),
    # AI2-THOR's ShowerDoor opens and closes as its shower curtain does; we build curtains.
    'shower door': ('ShowerCurtain',),
}

#: How the simulator draws them: size (m), RGBA, colour word[, shape].
AI2THOR_LOOKS: dict[str, tuple] = {
    'Floor': ((5.0, 5.0, 0.1), (0.8, 0.78, 0.72, 1.0), 'beige'),
    'Window': ((1.0, 0.1, 1.2), _GLASS, 'blue'),
    'LightSwitch': ((0.05, 0.02, 0.12), _WHITE, 'white'),
    'StoveKnob': ((0.06, 0.06, 0.06), (0.2, 0.2, 0.22, 1.0), 'black'),
    'HousePlant': ((0.4, 0.4, 0.6), _GREEN, 'green'),
    'Stool': ((0.5, 0.5, 0.75), _WOOD, 'brown'),
    'PaperTowelRoll': ((0.08, 0.08, 0.2), _WHITE, 'white', 'cylinder'),
    # AI2-THOR's CD is a 12 cm disc, silver; its Plunger a 45 cm stick on a black cup.
    'CD': ((0.12, 0.12, 0.01), (0.78, 0.8, 0.85, 1.0), 'silver', 'cylinder'),
    'Plunger': ((0.14, 0.14, 0.45), (0.15, 0.15, 0.15, 1.0), 'black', 'cylinder'),
    # Lying down as AI2-THOR drops them: an 85 cm bat, a 68 cm racket, a 24 cm ball.
    'BaseballBat': ((0.85, 0.07, 0.07), (0.75, 0.6, 0.4, 1.0), 'brown'),
    'BasketBall': ((0.24, 0.24, 0.24), (0.9, 0.45, 0.1, 1.0), 'orange', 'sphere'),
    'TennisRacket': ((0.68, 0.27, 0.03), (0.2, 0.35, 0.8, 1.0), 'blue'),
    'Dumbbell': ((0.3, 0.1, 0.1), _DARK, 'black'),
    'TeddyBear': ((0.28, 0.2, 0.32), (0.6, 0.42, 0.25, 1.0), 'brown'),
    'Boots': ((0.3, 0.22, 0.3), (0.3, 0.2, 0.12, 1.0), 'brown'),
    'ScrubBrush': ((0.1, 0.1, 0.4), _WHITE, 'white', 'cylinder'),
    'WateringCan': ((0.35, 0.15, 0.25), _GREEN, 'green'),
    'LaundryHamper': ((0.55, 0.45, 0.6), _WICKER, 'tan'),
    'Safe': ((0.45, 0.45, 0.5), _DARK, 'black'),
    'Ottoman': ((0.7, 0.6, 0.42), (0.45, 0.25, 0.45, 1.0), 'purple'),
    'Cart': ((0.7, 0.45, 0.85), _STEEL, 'silver'),
    # Free-standing holders (ours stand on the floor; AI2-THOR's hang on the wall).
    'HandTowelHolder': ((0.35, 0.2, 0.9), _STEEL, 'silver'),
    'ToiletPaperHanger': ((0.22, 0.18, 0.7), _STEEL, 'silver'),
    'ShowerHead': ((0.12, 0.12, 0.1), _STEEL, 'silver', 'cylinder'),
    'ShowerCurtain': ((0.9, 0.05, 1.8), _WHITE, 'white'),
    'Mirror': ((0.6, 0.05, 1.2), _GLASS, 'silver'),
    'Painting': ((0.8, 0.05, 0.6), (0.8, 0.3, 0.3, 1.0), 'red'),
}

_K, _L, _B, _W = 'kitchen', 'living_room', 'bedroom', 'bathroom'

#: Where AI2-THOR puts the types ALFRED-L names that have no rooms in the ontology (so the
#: home generator never spawns them): type -> (rooms, most typical first; receptacle types
#: they are kept on or in). For a home builder that makes AI2-THOR-like homes on request.
#: Fixtures (light switches on walls, knobs on the stove front) have no receptacle.
ALFRED_PLACEMENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    'CD': ((_B, _L), ('Desk', 'Dresser', 'Shelf', 'SideTable', 'TVStand', 'Drawer')),
    # AI2-THOR stands the plunger on the floor beside the toilet. Homes here place small
    # things only on or in receptacles, so it goes on the toilet, the lowest support it
    # stands by (never a counter or cabinet, where AI2-THOR does not keep it).
    'Plunger': ((_W,), ('Toilet',)),
    'PaperTowelRoll': ((_K,), ('CounterTop', 'DiningTable')),
    # AI2-THOR leaves sports things, teddy bears and boots on the bedroom floor, and keeps
    # its scrub brush on the floor by the toilet and its watering can on the floor by a
    # plant. As for the plunger, they go on the lowest support they fit instead: a shelf's
    # bottom board (at floor level), the bed, then a dresser or desk (a bat or a racket
    # lies only on something at least as long as it is).
    'BaseballBat': ((_B,), ('Bed', 'Dresser', 'Desk')),
    'TennisRacket': ((_B,), ('Bed', 'Dresser', 'Desk')),
    'BasketBall': ((_B,), ('Shelf', 'Bed', 'ArmChair', 'Dresser')),
    'Dumbbell': ((_B, _L), ('Shelf', 'Bed', 'Dresser')),
    'TeddyBear': ((_B,), ('Bed', 'ArmChair', 'Shelf', 'Dresser')),
    'Boots': ((_B, _L), ('Shelf', 'Bed')),
    'ScrubBrush': ((_W,), ('Toilet',)),
    'WateringCan': ((_L, _K), ('Shelf', 'SideTable', 'TVStand', 'CounterTop')),
    'LaundryHamper': ((_B, _W), ()),
    'Safe': ((_B, _L), ()),
    'Ottoman': ((_L, _B), ()),
    'Cart': ((_W, _K), ()),
    'HandTowelHolder': ((_W,), ()),
    'ToiletPaperHanger': ((_W,), ()),
    'ShowerHead': ((_W,), ()),
    'ShowerCurtain': ((_W,), ()),
    'Mirror': ((_W, _B), ()),
    'Painting': ((_L, _B), ()),
    'LightSwitch': ((_K, _L, _B, _W), ()),
    'StoveKnob': ((_K,), ()),
    'HousePlant': ((_L, _K, _B), ()),
    'Stool': ((_K,), ()),
    'Window': ((_K, _L, _B, _W), ()),
}

#: The household ontology plus AI2-THOR's extra types: what imported AI2-THOR scenes hold.
AI2THOR_ONTOLOGY: Ontology = HOUSEHOLD.extended(EXTRA_TYPES, EXTRA_SYNONYMS, name='ai2thor')
