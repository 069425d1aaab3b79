"""Goal conditions -> primitive skill calls, through whatever knows where things are.

`compile_goal` turns one ALFRED-L sub-goal into the primitive skills that reach it, and
`compile_task` a whole ordered list; both are pure functions of the goal and a `Resolver`
(ground truth for the oracle, memory queries for the grounded planner). The composites
are expanded here, as ALFRED plays them:

- clean X: hold X, go to a sink basin, put X in, faucet on, faucet off, pick X up;
- fill X: the same (a fillable thing under a running faucet fills);
- heat / cook X: hold X, go to a microwave, open, put X in, close, on, off, open, pick X up;
- cool X: hold X, go to a fridge, open, put X in, close, open, pick X up;
- slice X: hold a knife, go to X, slice.

Within one compile call a `PlanState` tracks what the plan itself changes (what is held,
what was opened, where things were put, which instance a type was bound to), so later
steps of the same plan need no new queries to be consistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from memory_nodes.domain.goals import GoalCondition
from memory_nodes.domain.household import SLICING_TOOLS
from memory_nodes.domain.skills import Relation, SkillCall, SkillTarget

#: Types a held object may be put down on to free the hand, most preferred first.
PUT_DOWN_SURFACES = ('CounterTop', 'DiningTable', 'Desk', 'SideTable', 'CoffeeTable',
                     'Dresser', 'Shelf', 'TVStand', 'Bed', 'Sofa')


class GoalCompileError(ValueError):
    """No plan: the goal needs something unknown or a change no skill makes."""


class Resolver(Protocol):
    """What the compiler asks about the world (ground truth or memory)."""

    def find(self, object_type: str, object_id: str | None = None,
             near: SkillTarget | None = None) -> SkillTarget | None:
        """An object of `object_type` (or exactly `object_id`), or None if none is known.

        With `near`, prefer the instance closest to it (the faucet of this sink).
        """
        ...

    def container(self, target: SkillTarget) -> SkillTarget | None:
        """The receptacle `target` is directly in or on, if known."""
        ...

    def is_openable(self, target: SkillTarget) -> bool:
        """True if `target` opens and closes (fridge, cabinet, microwave, box, ...)."""
        ...

    def is_open(self, target: SkillTarget) -> bool | None:
        """Whether `target` is open now (None if unknown)."""
        ...

    def state(self, target: SkillTarget, key: str) -> bool | None:
        """A state of `target` ('toggled', 'dirty', ...), None if unknown or not applicable."""
        ...

    def relation_for(self, receptacle: SkillTarget) -> Relation | None:
        """How `receptacle` takes objects ('in' or 'on'), None if unknown."""
        ...

    def holding(self) -> SkillTarget | None:
        """What the robot holds now, if anything."""
        ...


def target_key(target: SkillTarget | None) -> str:
    """A stable key for a target: its id, or its type and believed position."""
    if target is None:
        return ''
    if target.object_id:
        return target.object_id
    return f'{target.object_type}@{target.position}'


@dataclass
class PlanState:
    """What the plan so far has done, layered over the resolver's answers."""

    holding: SkillTarget | None = None
    holding_known: bool = False
    opened: dict[str, bool] = field(default_factory=dict)
    states: dict[tuple[str, str], bool] = field(default_factory=dict)
    located: dict[str, SkillTarget | None] = field(default_factory=dict)
    origin: dict[str, SkillTarget] = field(default_factory=dict)
    bindings: dict[str, SkillTarget] = field(default_factory=dict)
    at: str = ''


class _Compiler:
    def __init__(self, resolver: Resolver, plan: PlanState):
        self.r = resolver
        self.s = plan
        self.calls: list[SkillCall] = []
        if not plan.holding_known:
            plan.holding = resolver.holding()
            plan.holding_known = True

    # -- beliefs --------------------------------------------------------------------------

    def find(self, object_type: str, object_id: str | None = None,
             near: SkillTarget | None = None, what: str = 'object') -> SkillTarget:
        if object_id is None and object_type in self.s.bindings:
            return self.s.bindings[object_type]
        held = self.s.holding
        if held is not None and (held.object_id == object_id if object_id
                                 else held.object_type == object_type):
            return held
        target = self.r.find(object_type, object_id, near)
        if target is None:
            name = f'#{object_id}' if object_id else object_type
            raise GoalCompileError(f'no {what} {name} is known')
        if object_id is None and target.object_type is None:
            target.object_type = object_type
        return target

    def bind(self, object_type: str, object_id: str | None) -> SkillTarget:
        target = self.find(object_type, object_id)
        if object_id is None:
            self.s.bindings[object_type] = target
        return target

    def container(self, target: SkillTarget) -> SkillTarget | None:
        key = target_key(target)
        if key in self.s.located:
            return self.s.located[key]
        return self.r.container(target)

    def is_open(self, target: SkillTarget) -> bool:
        key = target_key(target)
        if key in self.s.opened:
            return self.s.opened[key]
        return bool(self.r.is_open(target))

    def state(self, target: SkillTarget, key: str) -> bool | None:
        if (target_key(target), key) in self.s.states:
            return self.s.states[(target_key(target), key)]
        return self.r.state(target, key)

    def same(self, a: SkillTarget | None, b: SkillTarget | None) -> bool:
        return a is not None and b is not None and target_key(a) == target_key(b)

    # -- primitives -----------------------------------------------------------------------

    def emit(self, name: str, target: SkillTarget | None = None, **kw: object) -> None:
        self.calls.append(SkillCall(name, target, **kw))  # type: ignore[arg-type]

    def navigate(self, target: SkillTarget) -> None:
        # Already there: at the target itself or at the receptacle it is in or on.
        if self.s.at and self.s.at in (target_key(target), target_key(self.container(target))):
            return
        self.emit('navigate_to', target)
        self.s.at = target_key(target)

    def open(self, target: SkillTarget, want: bool = True) -> None:
        if self.is_open(target) == want:
            return
        self.emit('open' if want else 'close', target)
        self.s.opened[target_key(target)] = want

    def toggle(self, target: SkillTarget, want: bool) -> None:
        self.emit('toggle_on' if want else 'toggle_off', target)
        self.s.states[(target_key(target), 'toggled')] = want

    def reach_inside(self, target: SkillTarget) -> None:
        """Open whatever closed container holds `target` (only the direct one)."""
        box = self.container(target)
        if box is not None and self.r.is_openable(box) and not self.is_open(box):
            self.navigate(box)
            self.open(box)

    def free_hand(self, keep: SkillTarget | None = None) -> None:
        held = self.s.holding
        if held is None or self.same(held, keep):
            return
        site = self.s.origin.get(target_key(held))
        if site is None or self.same(site, held):
            site = self._surface()
        self.put(held, site)

    def _surface(self) -> SkillTarget:
        for surface in PUT_DOWN_SURFACES:
            target = self.r.find(surface, None, self.s.holding)
            if target is not None:
                return target
        raise GoalCompileError('nowhere known to put down what the robot holds')

    def hold(self, target: SkillTarget) -> None:
        if self.same(self.s.holding, target):
            return
        self.free_hand()
        origin = self.container(target)
        self.reach_inside(target)
        self.navigate(target)
        self.emit('pick_up', target)
        self.s.holding = target
        if origin is not None:
            self.s.origin[target_key(target)] = origin
        self.s.located[target_key(target)] = None

    def put(self, target: SkillTarget, receptacle: SkillTarget,
            relation: Relation | None = None) -> None:
        self.hold(target)
        self.reach_inside(receptacle)  # a plate kept in a closed cabinet: open the cabinet
        relation = self.r.relation_for(receptacle) or relation or 'on'
        self.navigate(receptacle)
        if self.r.is_openable(receptacle):
            self.open(receptacle)
        self.emit('put', target, receptacle=receptacle, relation=relation)
        self.s.holding = None
        self.s.located[target_key(target)] = receptacle

    # -- composites -----------------------------------------------------------------------

    def under_faucet(self, target: SkillTarget) -> None:
        """Clean or fill: in a sink basin with the faucet run once."""
        sink = self.find('SinkBasin', near=self.s.holding or target, what='sink basin')
        faucet = self.find('Faucet', near=sink, what='faucet')
        self.put(target, sink, 'in')
        self.navigate(faucet)
        if self.state(faucet, 'toggled'):
            self.toggle(faucet, False)
        self.toggle(faucet, True)
        self.toggle(faucet, False)
        self.hold(target)

    def pour_out(self, target: SkillTarget) -> None:
        """Empty: hold it and pour its water out (AI2-THOR's EmptyLiquidFromObject)."""
        self.hold(target)
        self.emit('pour_out', target)
        self.s.states[(target_key(target), 'filled')] = False

    def appliance(self, target: SkillTarget, kind: str) -> None:
        """Heat (microwave on and off) or cool (fridge closed) with the door shut."""
        box = self.find(kind, near=target, what=kind.lower())
        self.put(target, box, 'in')
        self.open(box, False)
        if kind == 'Microwave':
            self.toggle(box, True)
            self.toggle(box, False)
        self.open(box, True)
        self.hold(target)

    def slice(self, target: SkillTarget) -> None:
        held = self.s.holding
        if self.same(held, target):
            self.free_hand()
        if held is None or held.object_type not in SLICING_TOOLS:
            knife = None
            for tool in SLICING_TOOLS:
                try:
                    knife = self.find(tool, what='knife')
                    break
                except GoalCompileError:
                    continue
            if knife is None:
                raise GoalCompileError('slicing needs a knife and none is known')
            self.hold(knife)
        self.reach_inside(target)
        self.navigate(target)
        self.emit('slice', target)
        self.s.states[(target_key(target), 'sliced')] = True

    # -- conditions -----------------------------------------------------------------------

    def goal(self, cond: GoalCondition) -> None:
        if cond.negated:
            self.negated(cond)
            return
        subject = self.bind(cond.obj, cond.obj_id)
        if cond.kind == 'HOLDING':
            self.hold(subject)
        elif cond.kind in ('ON', 'INSIDE'):
            receptacle = self.bind(cond.target or '', cond.target_id)
            self.put(subject, receptacle, 'on' if cond.kind == 'ON' else 'in')
        elif cond.kind in ('TOGGLEON', 'TOGGLEOFF'):
            self.switch(subject, cond.kind == 'TOGGLEON')
        else:
            self.state_goal(subject, cond.target or '', cond.state_value, cond)

    def switch(self, subject: SkillTarget, want: bool) -> None:
        if self.state(subject, 'toggled') == want:
            return
        if not self.same(self.s.holding, subject):
            self.navigate(subject)
        self.toggle(subject, want)

    def state_goal(self, subject: SkillTarget, key: str, value: bool,
                   cond: GoalCondition) -> None:
        if key == 'open':
            self.navigate(subject)
            self.open(subject, value)
        elif key == 'toggled':
            self.switch(subject, value)
        elif (key, value) == ('sliced', True):
            self.slice(subject)
        elif (key, value) in (('dirty', False), ('filled', True)):
            self.under_faucet(subject)
        elif (key, value) == ('filled', False):
            self.pour_out(subject)
        elif (key, value) in (('hot', True), ('cooked', True)):
            self.appliance(subject, 'Microwave')
        elif (key, value) == ('cold', True):
            self.appliance(subject, 'Fridge')
        else:
            raise GoalCompileError(f'{cond}: no skill makes {key} {value}')

    def negated(self, cond: GoalCondition) -> None:
        subject = self.bind(cond.obj, cond.obj_id)
        if cond.kind == 'HOLDING':
            if self.same(self.s.holding, subject):
                self.free_hand()
        elif cond.kind in ('TOGGLEON', 'TOGGLEOFF'):
            self.switch(subject, cond.kind == 'TOGGLEOFF')
        elif cond.kind == 'STATE' and cond.target in ('open', 'toggled', 'dirty', 'filled'):
            self.state_goal(subject, cond.target, not cond.state_value, cond)
        elif cond.kind in ('ON', 'INSIDE'):
            place = self.container(subject)
            if place is None or place.object_type != cond.target:
                return
            self.hold(subject)
            self.put(subject, self._surface())
        else:
            raise GoalCompileError(f'{cond}: no skill undoes this')


def compile_goal(cond: GoalCondition, resolver: Resolver,
                 plan: PlanState | None = None) -> list[SkillCall]:
    """The primitive skill calls that reach one sub-goal from the resolver's world.

    Raises `GoalCompileError` when an object is unknown or no skill makes the change.
    """
    compiler = _Compiler(resolver, plan if plan is not None else PlanState())
    compiler.goal(cond)
    return compiler.calls


def compile_task(goals: Sequence[GoalCondition], resolver: Resolver) -> list[SkillCall]:
    """The primitive skill calls for an ordered list of sub-goals, as one open-loop plan."""
    plan = PlanState()
    calls: list[SkillCall] = []
    for cond in goals:
        calls += compile_goal(cond, resolver, plan)
    return calls
