"""ALFRED's object-state rules, as a pure function over parents and states.

- clean: in a sink basin while a faucet attached to it is on -> not dirty (and filled if
  the object is fillable);
- heat: inside a microwave that is on, in a toaster that is on, or in a pan/pot/kettle (or
  being one) standing on a stove burner that is on -> hot, not cold, and cooked if the
  type is cookable; a fillable object on a coffee machine that is on -> filled and hot;
- cool: inside a fridge whose door is closed -> cold, not hot;
- stove knobs: a stove burner that knobs are attached to is on while one of them is on
  (AI2-THOR turns burners by their knobs), before the heat rule reads the burner.

Rules only set applicable keys (those already present in an object's `states`) and
return which keys changed, so callers can publish events for the robot's own actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.catalog import CATALOG

COOKWARE = ('Pan', 'Pot', 'Kettle')


@dataclass
class RuleThing:
    """What the rules need to know about one object or furniture piece."""

    object_type: str
    states: dict[str, bool] = field(default_factory=dict)
    parent: str | None = None
    attached_to: str | None = None


def _set(thing: RuleThing, key: str, value: bool, changed: set[str]) -> None:
    if key in thing.states and thing.states[key] != value:
        thing.states[key] = value
        changed.add(key)


def _ancestors(things: dict[str, RuleThing], object_id: str) -> list[RuleThing]:
    out, seen = [], {object_id}
    parent = things[object_id].parent
    while parent is not None and parent in things and parent not in seen:
        seen.add(parent)
        out.append(things[parent])
        parent = things[parent].parent
    return out


def _on(thing: RuleThing | None) -> bool:
    return bool(thing is not None and thing.states.get('toggled'))


def apply_state_rules(things: dict[str, RuleThing],
                      held: str | None = None) -> dict[str, set[str]]:
    """Apply every rule once; returns object id -> changed state keys (mutates states)."""
    faucets_on = {t.attached_to for t in things.values()
                  if t.object_type == 'Faucet' and t.attached_to and _on(t)}
    ids = {id(t): oid for oid, t in things.items()}
    changes: dict[str, set[str]] = {}
    knobs: dict[str, list[RuleThing]] = {}
    for t in things.values():
        if t.object_type == 'StoveKnob' and t.attached_to in things:
            knobs.setdefault(t.attached_to, []).append(t)
    for burner_id, its_knobs in knobs.items():
        turned: set[str] = set()
        _set(things[burner_id], 'toggled', any(_on(k) for k in its_knobs), turned)
        if turned:
            changes[burner_id] = turned
    for object_id, thing in things.items():
        spec = CATALOG.get(thing.object_type)
        if spec is None or spec.kind != 'object' or object_id == held:
            continue
        chain = _ancestors(things, object_id)
        parent = chain[0] if chain else None
        changed: set[str] = set()
        heated = any(a.object_type == 'Microwave' and _on(a) for a in chain)
        if parent is not None and parent.object_type == 'Toaster' and _on(parent):
            heated = True
        grand = chain[1] if len(chain) > 1 else None
        if parent is not None and parent.object_type in COOKWARE and grand is not None \
                and grand.object_type == 'StoveBurner' and _on(grand):
            heated = True
        if thing.object_type in COOKWARE and parent is not None \
                and parent.object_type == 'StoveBurner' and _on(parent):
            heated = True
        if parent is not None and parent.object_type == 'CoffeeMachine' and _on(parent) \
                and spec.fillable:
            heated = True
            _set(thing, 'filled', True, changed)
        if heated:
            _set(thing, 'hot', True, changed)
            _set(thing, 'cold', False, changed)
            if spec.cookable:
                _set(thing, 'cooked', True, changed)
        elif any(a.object_type == 'Fridge' and not a.states.get('open') for a in chain):
            _set(thing, 'cold', True, changed)
            _set(thing, 'hot', False, changed)
        if any(a.object_type == 'SinkBasin' and ids.get(id(a)) in faucets_on for a in chain):
            _set(thing, 'dirty', False, changed)
            if spec.fillable:
                _set(thing, 'filled', True, changed)
        if changed:
            changes[object_id] = changed
    return changes
