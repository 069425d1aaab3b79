"""A put that fails because the whole object does not fit: slice it first, then put it.

ALFRED-L's "place the bread slices on a plate" says ON(Bread, Plate): a whole loaf fits no
plate (`put` fails with `no_space`), a slice does. The memory-driven runner re-plans as
STATE(Bread, sliced) then the goal, once per goal, with a knife from memory (or searched
for); the robot here is a fake that lets a sliceable object onto a plate only as a slice.
"""

from __future__ import annotations

from memory_nodes.domain.goals import parse_condition
from memory_nodes.domain.skills import SkillCall, SkillResult
from memory_nodes.planner.plan import MemoryHit
from memory_nodes.planner.task_runner import TaskRunner
from tests.planner_fakes import FakeRunnerRobot, RunnerMemoryView

AREAS = ['kitchen', 'living_room']


class _Memory(RunnerMemoryView):
    """A kitchen with a loaf, a plate, maybe a knife, and something unsliceable."""

    def __init__(self, knife: bool = True, bread_sliced: bool = False):
        hits = [
            MemoryHit('countertop_1', 'counter top', (1.0, 2.0, 0.0), room='kitchen'),
            MemoryHit('bread_1', 'bread', (1.0, 2.2, 0.95), room='kitchen',
                      support='countertop_1', relation='on', last_seen=90.0,
                      states={'sliced': bread_sliced}),
            MemoryHit('plate_1', 'plate', (2.0, 2.0, 0.95), room='kitchen',
                      support='countertop_1', relation='on', last_seen=80.0),
            MemoryHit('pot_1', 'pot', (1.5, 2.0, 0.95), room='kitchen',
                      support='countertop_1', relation='on', last_seen=70.0),
            MemoryHit('sofa_1', 'sofa', (5.0, 1.0, 0.0), room='living_room'),
        ]
        if knife:
            hits.append(MemoryHit('knife_1', 'knife', (1.2, 1.8, 0.92), room='kitchen',
                                  support='countertop_1', relation='on', last_seen=60.0))
        super().__init__(hits, [], AREAS)


class _Robot(FakeRunnerRobot):
    """Plates take only slices (or nothing that is not food); slicing needs a knife in hand."""

    def __init__(self, slices_fit: bool = True):
        super().__init__()
        self.slices_fit = slices_fit
        self.sliced: set[str] = set()
        self.results: list[SkillResult] = []

    def _result(self, call: SkillCall) -> SkillResult:
        kind = call.target.object_type if call.target else None
        if call.name == 'pick_up':
            if self.held is not None:
                return SkillResult(False, call.name, 'hand_full')
            self.held = kind
        elif call.name == 'put':
            on = call.receptacle.object_type if call.receptacle else None
            if self.held is None:
                return SkillResult(False, call.name, 'hand_empty')
            whole = self.held in ('Bread', 'Pot') and self.held not in self.sliced
            if on == 'Plate' and (whole or not self.slices_fit):
                return SkillResult(False, call.name, 'no_space')  # still in the hand
            self.held = None
        elif call.name == 'slice':
            if self.held not in ('Knife', 'ButterKnife'):
                return SkillResult(False, call.name, 'no_knife')
            if kind in self.sliced:
                return SkillResult(False, call.name, 'already_sliced')
            self.sliced.add(kind or '')
        return SkillResult(True, call.name, duration_s=1.0)

    def execute(self, call: SkillCall) -> SkillResult:
        result = self._result(call)
        self.calls.append(call)
        self.results.append(result)
        return result


def _text(robot: _Robot) -> list[str]:
    out = []
    for call, result in zip(robot.calls, robot.results):
        args = [t.object_type or '' for t in (call.target, call.receptacle) if t is not None]
        failed = '' if result.success else f' -> {result.reason}'
        out.append(f'{call.name}({", ".join(args)}){failed}')
    return out


def _run(goal: str, memory: _Memory, robot: _Robot):  # noqa: ANN202
    return TaskRunner(memory, robot, AREAS).run([parse_condition(goal)],
                                                'place the bread slices on a plate')


def test_a_loaf_that_fits_no_plate_is_sliced_and_the_slice_put_on_the_plate():
    memory, robot = _Memory(), _Robot()
    out = _run('ON(Bread, Plate): 1', memory, robot)
    assert out.believed_done and out.error == '', (out.error, _text(robot))
    log = _text(robot)
    # the whole loaf first: no room on the plate, and the loaf stays in the hand
    assert log.index('put(Bread, Plate) -> no_space') < log.index('slice(Bread)')
    # the held loaf goes down, a knife comes from memory, the loaf is cut once
    assert log.count('slice(Bread)') == 1 and 'pick_up(Knife)' in log
    assert 'put(Bread, CounterTop)' in log[log.index('put(Bread, Plate) -> no_space'):
                                           log.index('slice(Bread)')]
    # then the slice goes on the same plate (it was not given up for not fitting)
    assert log[-1] == 'put(Bread, Plate)' and robot.held is None
    assert 'Bread' in robot.sliced and out.replans == 1 and memory.missing == []


def test_slicing_first_is_tried_once_per_goal():
    memory, robot = _Memory(), _Robot(slices_fit=False)
    out = _run('ON(Bread, Plate): 1', memory, robot)
    assert not out.believed_done
    log = _text(robot)
    assert log.count('slice(Bread)') == 1
    assert log.count('put(Bread, Plate) -> no_space') == 2  # whole, then the slice
    # the one plate will not do: it is given up like any full receptacle
    assert out.failure.startswith('Plate not found after searching everywhere')


def test_without_a_knife_anywhere_it_fails_saying_it_cannot_slice():
    memory, robot = _Memory(knife=False), _Robot()
    out = _run('ON(Bread, Plate): 1', memory, robot)
    assert not out.believed_done and 'slice(Bread)' not in _text(robot)
    assert out.failure.startswith('Bread fits no Plate whole and it cannot be sliced: '
                                  'Knife, ButterKnife not found after searching everywhere')
    assert out.failure.endswith('slicing needs a knife and none is known')
    # it searched both rooms for one
    assert {c.area for c in robot.calls if c.name == 'explore'} == set(AREAS)


def test_an_object_memory_knows_as_sliced_or_one_that_does_not_slice_is_not_cut():
    for goal, memory in (('ON(Bread, Plate): 1', _Memory(bread_sliced=True)),
                         ('ON(Pot, Plate): 1', _Memory())):
        robot = _Robot()
        out = _run(goal, memory, robot)
        assert not out.believed_done
        assert not any(c.name == 'slice' for c in robot.calls), _text(robot)
        assert out.failure.startswith('Plate not found after searching everywhere')
