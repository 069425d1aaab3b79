"""Every task the runner stops short names the sub-goal and why (never an empty reason)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from memory_nodes.domain.goals import parse_condition
from memory_nodes.domain.skills import SkillCall, SkillResult
from memory_nodes.planner.task_runner import RunnerConfig, TaskRunner
from tests.planner_fakes import (
    FakeRunnerRobot,
    ListMemoryView,
    RunnerMemoryView,
    kitchen_view,
)

AREAS = ['kitchen', 'living_room']


class _Memory(RunnerMemoryView):
    """The shared kitchen memory, with the look-up by id and stale report the runner uses."""

    def __init__(self, base: ListMemoryView):
        super().__init__(base.hits, base.recent, AREAS)


class _Robot(FakeRunnerRobot):
    """Every skill succeeds except picking up the types in `fails` (with `reason`)."""

    def __init__(self, fails: tuple[str, ...] = (), reason: str = 'out_of_reach'):
        super().__init__()
        self.fails, self.reason = fails, reason

    def execute(self, call: SkillCall) -> SkillResult:
        self.calls.append(call)
        kind = call.target.object_type if call.target else None
        if call.name == 'pick_up':
            if kind in self.fails:
                return SkillResult(False, call.name, self.reason)
            self.held = kind
        if call.name == 'put':
            self.held = None
        return SkillResult(True, call.name, duration_s=1.0)


def _run(goals: list[str], robot: _Robot, config: RunnerConfig | None = None):  # noqa: ANN202
    runner = TaskRunner(_Memory(kitchen_view()), robot, AREAS, config)
    return runner.run([parse_condition(g) for g in goals], 'a task')


def test_a_skill_that_keeps_failing_names_the_sub_goal_the_skill_and_its_reason():
    out = _run(['INSIDE(#Apple_1, Fridge): 1', 'HOLDING(#Book_1): 1'], _Robot(('Book',)))
    assert not out.believed_done and out.subgoals_believed == 1
    # The second sub-goal, by type (the planner never sees simulator ids), and the cause.
    assert out.failed_subgoal == 'HOLDING(Book): 1'
    assert out.error.startswith('sub-goal 2/2 HOLDING(Book): 1: re-plan budget exhausted '
                                '(6 re-plans)')
    assert out.error.endswith('last: pick_up(Book) failed: out_of_reach')
    assert out.failure in out.error


def test_the_skill_budget_is_named_as_the_cause():
    out = _run(['HOLDING(Book): 1'], _Robot(('Book',), 'hand_full'), RunnerConfig(max_skills=3))
    assert not out.believed_done and len(out.skills) == 3
    assert out.error == ('sub-goal 1/1 HOLDING(Book): 1: skill budget exhausted (3 skills); '
                         'last: pick_up(Book) failed: hand_full')


def test_an_object_memory_never_saw_is_not_found_after_searching_everywhere():
    robot = _Robot()
    out = _run(['HOLDING(Cloth): 1'], robot)
    assert not out.believed_done and out.failed_subgoal == 'HOLDING(Cloth): 1'
    assert out.error.startswith('sub-goal 1/1 HOLDING(Cloth): 1: Cloth not found after '
                                'searching everywhere (2 room(s), ')
    assert {c.area for c in robot.calls if c.name == 'explore'} == set(AREAS)


def test_success_leaves_no_error():
    out = _run(['INSIDE(Apple, Fridge): 1'], _Robot())
    assert out.believed_done and out.error == '' and out.failed_subgoal == ''


def test_the_demo_names_the_missed_sub_goal_and_the_planners_reason():
    from memory_nodes.commands.demo import _why_failed

    score = {'success': False, 'reached': 0, 'total': 1,
             'failed_condition': 'HOLDING(#Cloth_2): 1'}
    believed = SimpleNamespace(success=True, error_msg='')
    assert _why_failed(score, believed) == ('not reached: HOLDING(#Cloth_2): 1 (sub-goal 1/1); '
                                            'planner: believed it done')
    stopped = SimpleNamespace(success=False, error_msg='sub-goal 1/1 HOLDING(Cloth): 1: '
                                                       'Cloth not found after searching')
    assert _why_failed(score, stopped).endswith('planner: sub-goal 1/1 HOLDING(Cloth): 1: '
                                                'Cloth not found after searching')


def _drawer_memory(knife_inside: bool) -> _Memory:
    from memory_nodes.planner.plan import MemoryHit

    memory = _Memory(kitchen_view())
    memory.hits.append(MemoryHit('drawer_1', 'drawer', (1.5, 2.5, 0.15), room='kitchen',
                                 states={'open': False}))
    if knife_inside:
        memory.hits.append(MemoryHit('knife_1', 'knife', (1.5, 2.5, 0.05), room='kitchen',
                                     support='drawer_1', relation='in', last_seen=99.0))
    return memory


def test_the_runner_looks_into_what_it_opens_while_searching():
    robot = _Robot()
    runner = TaskRunner(_drawer_memory(False), robot, AREAS)
    runner.run([parse_condition('HOLDING(Knife): 1')], 'a task')
    names = [(c.name, c.target.object_type if c.target else None) for c in robot.calls]
    at = names.index(('open', 'Drawer'))
    assert names[at - 1:at + 2] == [('navigate_to', 'Drawer'), ('open', 'Drawer'),
                                    ('look_at', 'Drawer')]


def test_the_runner_looks_into_a_low_container_it_opens_in_a_plan():
    robot = _Robot()
    out = TaskRunner(_drawer_memory(True), robot, AREAS).run(
        [parse_condition('HOLDING(Knife): 1')], 'a task')
    assert out.believed_done
    names = [c.name for c in robot.calls]
    assert names[names.index('open') + 1] == 'look_at' and names[-1] == 'pick_up'
    # A fridge's middle is higher than a drawer's: opening it asks for no extra look.
    memory = _Memory(kitchen_view())
    memory.hits[1] = replace(memory.hits[1], position=(0.0, 3.0, 0.9))
    robot = _Robot()
    TaskRunner(memory, robot, AREAS).run(
        [parse_condition('INSIDE(Apple, Fridge): 1')], 'a task')
    assert 'open' in [c.name for c in robot.calls]
    assert 'look_at' not in [c.name for c in robot.calls]
