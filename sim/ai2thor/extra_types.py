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
"""

from __future__ import annotations

from memory_nodes.domain.household import HOUSEHOLD
from memory_nodes.domain.ontology import ObjectType, Ontology

_GREY = (0.6, 0.6, 0.6, 1.0)
_GREEN = (0.25, 0.6, 0.25, 1.0)
_WHITE = (0.95, 0.95, 0.95, 1.0)
_WOOD = (0.55, 0.38, 0.22, 1.0)
_GLASS = (0.7, 0.85, 0.95, 1.0)

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
    'LightSwitch': ((_K, _L, _B, _W), ()),
    'StoveKnob': ((_K,), ()),
    'HousePlant': ((_L, _K, _B), ()),
    'Stool': ((_K,), ()),
    'Window': ((_K, _L, _B, _W), ()),
}

#: The household ontology plus AI2-THOR's extra types: what imported AI2-THOR scenes hold.
AI2THOR_ONTOLOGY: Ontology = HOUSEHOLD.extended(EXTRA_TYPES, EXTRA_SYNONYMS, name='ai2thor')
