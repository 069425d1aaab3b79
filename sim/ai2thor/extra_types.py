"""Catalogue rows for AI2-THOR types our catalogue lacks, registered when this module loads.

Only types that do not exist yet are added, none of them with rooms or spawn receptacles,
so the home generator never spawns them and generated homes stay the same. `Sink` and
`ShelvingUnit` are deliberately absent: they are housings around a `SinkBasin` and around
`Shelf` boards, which are the receptacles (see `sim.ai2thor.scene_importer.HOUSINGS`); a
`Sink` row would also make the word `sink` resolve to it instead of `SinkBasin`.
"""

from __future__ import annotations

from sim.catalog import CATALOG, ObjectSpec

_GREY = (0.6, 0.6, 0.6, 1.0)
_GREEN = (0.25, 0.6, 0.25, 1.0)
_WHITE = (0.95, 0.95, 0.95, 1.0)
_WOOD = (0.55, 0.38, 0.22, 1.0)
_GLASS = (0.7, 0.85, 0.95, 1.0)

#: AI2-THOR types added to `CATALOG` (affordances as AI2-THOR gives them).
EXTRA_TYPES: tuple[ObjectSpec, ...] = (
    ObjectSpec('Floor', 'furniture', (5.0, 5.0, 0.1), (0.8, 0.78, 0.72, 1.0), 'beige',
               mass=0.0, categories=('structure',)),
    ObjectSpec('Window', 'furniture', (1.0, 0.1, 1.2), _GLASS, 'blue', mass=0.0,
               categories=('structure',)),
    ObjectSpec('LightSwitch', 'furniture', (0.05, 0.02, 0.12), _WHITE, 'white', mass=0.0,
               toggleable=True, categories=('light', 'switch')),
    ObjectSpec('StoveKnob', 'furniture', (0.06, 0.06, 0.06), (0.2, 0.2, 0.22, 1.0), 'black',
               mass=0.0, toggleable=True, categories=('appliance', 'switch')),
    ObjectSpec('HousePlant', 'furniture', (0.4, 0.4, 0.6), _GREEN, 'green', mass=0.0,
               categories=('decor',)),
    ObjectSpec('Stool', 'furniture', (0.5, 0.5, 0.75), _WOOD, 'brown', mass=0.0,
               receptacle='on', categories=('seat',)),
    ObjectSpec('PaperTowelRoll', 'object', (0.08, 0.08, 0.2), _WHITE, 'white',
               shape='cylinder', pickupable=True, can_be_used_up=True,
               categories=('cleaning',)),
)


def register_extra_types() -> list[str]:
    """Add the missing rows to `CATALOG`; returns the types added now (idempotent)."""
    added = []
    for spec in EXTRA_TYPES:
        if spec.object_type not in CATALOG:
            CATALOG[spec.object_type] = spec
            added.append(spec.object_type)
    return added


register_extra_types()
