"""Tool mode: the model calls memory tools and skills, one grammar-constrained call a turn.

Real parts throughout: the shipped SmolLM2 (base, through transformers and xgrammar), a
real memory filled by the robot exploring a generated home in the simulator, skills run
by the simulator, and our OpenAI-compatible `ModelServer` over HTTP. Loop detection and
the step budget are driven by a scripted caller (fixed call texts in place of a model),
since what they test is the loop, not the model's choices.
"""

from __future__ import annotations

import json

import pytest

from memory_nodes.domain.skills import SkillCall
from memory_nodes.evaluation.episodes import MemoryPlayer
from memory_nodes.planner.backends import make_backend
from memory_nodes.planner.model_planner import Generation
from memory_nodes.planner.task_planner import InvalidRequest, TaskPlanner
from memory_nodes.planner.task_runner import TaskOutcome, TaskRunner
from memory_nodes.planner.tool_mode import (
    ToolCallError,
    ToolModeConfig,
    ToolPlanner,
    Vocabulary,
    call_schema,
    check_call,
)
from sim.catalog import WORLD_ONTOLOGY
from sim.home_generator import LayoutSpec, generate_home
from sim.pybullet_sim import PyBulletSimulator
from sim.task_schema import Episode, HomeRef

SEED = 1  # the apple is on the kitchen counter


@pytest.fixture(scope='module')
def world():
    """A generated home in the simulator, and a memory the robot filled by exploring."""
    sim = PyBulletSimulator(width=160, height=120)
    home = generate_home(SEED, LayoutSpec(required_objects=('Apple',)))
    sim.reset(home, seed=SEED)
    player = MemoryPlayer('ltm+stm', text_embeddings='hashing')
    player.begin_episode(sim, Episode('tools', HomeRef(SEED), []))
    assert player.robot.execute(SkillCall('explore', area='kitchen')).success
    assert player.setup.view.find(label='Apple'), 'exploring did not put the apple in memory'
    yield sim, player
    sim.close()


@pytest.fixture(scope='module')
def model():
    import torch

    from memory_nodes.planner.backends.transformers_backend import TransformersChatModel
    from memory_nodes.planner.language.model_files import prepare_model

    torch.set_num_threads(1)
    return TransformersChatModel(prepare_model(), dtype='float32', max_new_tokens=40)


def _runner(player) -> TaskRunner:
    return TaskRunner(player.setup.view, player.robot, player.areas, ontology=WORLD_ONTOLOGY)


class Recording:
    """Passes every request to a real generator and keeps the messages it was sent."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent: list[list[dict]] = []

    def generate(self, messages, image=None, max_new_tokens=None, json_schema=None):
        self.sent.append([dict(m) for m in messages])
        return self.inner.generate(messages, image, max_new_tokens, json_schema=json_schema)


class Scripted:
    """Answers with fixed call texts in turn (a stand-in for the model, not under test)."""

    name = 'scripted'

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.sent = 0

    def generate(self, messages, image=None, max_new_tokens=None, json_schema=None):
        text = self.texts[min(self.sent, len(self.texts) - 1)]
        self.sent += 1
        return Generation(text, 100, 10, 0.01)


def test_real_model_calls_name_existing_things_and_see_the_results(world, model):
    sim, player = world
    view = player.setup.view
    caller = Recording(model)
    planner = ToolPlanner(caller, view, ToolModeConfig(max_steps=3), WORLD_ONTOLOGY)
    out = TaskOutcome(believed_done=False)
    run = planner.run_tools('Put the apple in the fridge.', _runner(player), out)
    assert run.calls and run.stop, run
    # the grammar lets the model write only calls that parse and name real things
    assert run.valid_calls == len(run.calls), [(c.text, c.result) for c in run.calls]
    rooms = set(view.rooms())
    for record in run.calls:
        for arg, value in record.call.items():
            if arg == 'label':
                assert value in WORLD_ONTOLOGY, record
            elif arg in ('room', 'area'):
                assert value in rooms | {'anywhere'}, record
        for arg, memory_id in record.memory_ids.items():
            assert view.get(memory_id) is not None, (record, arg, memory_id)
    # every later request carries the earlier calls' results
    for i, record in enumerate(run.calls[:-1]):
        fed = [m['content'] for m in caller.sent[i + 1] if m['role'] == 'user']
        assert any(f'Result: {record.result}' in text for text in fed), (record, fed)
    assert run.prompt_tokens > 0 and run.new_tokens > 0
    assert out.believed_done == (run.stop == 'done')


def test_the_same_call_again_stops_the_loop_with_a_named_reason(world):
    sim, player = world
    find = '{"call": "find_label", "label": "Apple"}'
    caller = Scripted([find, '{"call": "find_label", "label": "Fridge"}', find])
    planner = ToolPlanner(caller, player.setup.view, ToolModeConfig(max_steps=10),
                          WORLD_ONTOLOGY)
    out = TaskOutcome(believed_done=False)
    run = planner.run_tools('Put the apple in the fridge.', _runner(player), out)
    assert run.stop == 'loop: find_label(Apple) repeated'
    assert [c.kind for c in run.calls] == ['tool', 'tool', 'loop']
    assert 'Apple_1' in run.calls[0].result  # memory's answer, from the explored room
    assert not out.believed_done and 'loop' in out.error and caller.sent == 3


def test_the_step_budget_stops_the_loop(world):
    sim, player = world
    labels = ['Apple', 'Fridge', 'Mug', 'Bread', 'Knife', 'Plate']
    caller = Scripted([json.dumps({'call': 'find_label', 'label': x}) for x in labels])
    planner = ToolPlanner(caller, player.setup.view, ToolModeConfig(max_steps=4),
                          WORLD_ONTOLOGY)
    out = TaskOutcome(believed_done=False)
    run = planner.run_tools('Find things.', _runner(player), out)
    assert run.stop == 'step_budget: 4 calls' and len(run.calls) == 4 == caller.sent
    assert out.error == 'tool mode stopped: step_budget: 4 calls'


def test_the_token_budget_stops_the_loop(world):
    sim, player = world
    labels = ['Apple', 'Fridge', 'Mug', 'Bread']
    caller = Scripted([json.dumps({'call': 'find_label', 'label': x}) for x in labels])
    planner = ToolPlanner(caller, player.setup.view,
                          ToolModeConfig(max_steps=10, token_budget=250), WORLD_ONTOLOGY)
    run = planner.run_tools('Find things.', _runner(player), TaskOutcome(believed_done=False))
    # each scripted answer reports 100 prompt + 10 new tokens: 330 >= 250 after three
    assert run.stop == 'token_budget: 330 tokens' and len(run.calls) == 3


def test_a_skill_runs_on_the_robot_and_its_failure_is_fed_back(world):
    sim, player = world
    caller = Scripted(['{"call": "find_label", "label": "Apple"}',
                       '{"call": "pick_up", "object": "Apple_1"}',
                       '{"call": "give_up", "reason": "cannot reach it"}'])
    planner = ToolPlanner(caller, player.setup.view, ToolModeConfig(max_steps=5),
                          WORLD_ONTOLOGY)
    out = TaskOutcome(believed_done=False)
    run = planner.run_tools('Pick up the apple.', _runner(player), out)
    skill = run.calls[1]
    assert skill.kind == 'skill' and skill.memory_ids['object']
    assert out.skills and out.skills[0].text.startswith('pick_up(Apple')
    # the robot is not at the apple: the simulator's named failure comes back as the result
    assert skill.result == f'failed: {out.skills[0].reason}' and not out.skills[0].success
    assert run.stop == 'give_up: cannot reach it'


def test_calls_naming_unknown_things_are_rejected_with_named_errors():
    vocab = Vocabulary(['Apple', 'Fridge'], ['kitchen'], {}, [])
    for text, code in [('{"call": "fly", "object": "Apple_1"}', 'unknown_call'),
                       ('{"call": "navigate_to", "object": "Apple_1"}', 'unknown_object'),
                       ('{"call": "find_label", "label": "Unicorn"}', 'unknown_label'),
                       ('{"call": "find_label"}', 'missing_argument'),
                       ('{"call": "done", "why": "x"}', 'unknown_argument'),
                       ('sure! here is the plan', 'not_json')]:
        with pytest.raises(ToolCallError, match=f'^{code}'):
            check_call(text, vocab)
    names = {o['properties']['call']['const'] for o in call_schema(vocab)['anyOf']}
    assert 'find_label' in names and 'navigate_to' not in names  # no objects known yet


def test_served_model_calls_are_validated_and_bad_ones_rejected(world, model):
    from memory_nodes.planner.backends.openai_backend import OpenAIChatModel
    from memory_nodes.planner.model_server import ModelServer

    sim, player = world
    server = ModelServer(model, 'smollm2', port=0)
    server.start_background()
    try:
        host, port = server.address
        url = f'http://{host}:{port}/v1'
        # A server asked for structured output (response_format): valid calls.
        planner = make_backend('openai', base_url=url, model='smollm2', api_key_env='',
                               planner_mode='tools', tool_steps=1, memory=player.setup.view,
                               ontology=WORLD_ONTOLOGY)
        run = planner.run_tools('Put the apple in the fridge.', _runner(player),
                                TaskOutcome(believed_done=False))
        assert len(run.calls) == 1 and run.calls[0].valid, run.calls
        # ... and the same backend behind the in-process request path (ExecuteTask's)
        done = TaskPlanner(player.setup.view, player.robot, model=planner,
                           ontology=WORLD_ONTOLOGY).run('Put the apple in the fridge.')
        assert done.note.startswith('tool mode: 1 calls, stopped: step_budget'), done.note
        with pytest.raises(InvalidRequest, match='tool mode needs an instruction'):
            TaskPlanner(player.setup.view, player.robot, model=planner).run('  ')
        # One that is not asked (as servers without it): the model writes prose, which
        # is rejected with a named error, retried once with the error, then stopped.
        loose = make_backend('openai', base_url=url, model='smollm2', api_key_env='',
                             structured_output='none', planner_mode='tools',
                             memory=player.setup.view, ontology=WORLD_ONTOLOGY)
        before = server.requests
        out = TaskOutcome(believed_done=False)
        run = loose.run_tools('Put the apple in the fridge.', _runner(player), out)
        assert server.requests - before == 2
        assert [c.valid for c in run.calls] == [False, False]
        assert run.stop.startswith('invalid_call: not_json'), run.stop
        assert not out.skills
        # Bad arguments from the server: a well-formed call naming a thing memory does not
        # know (the server decoded under a schema naming it) is rejected by name.
        client = OpenAIChatModel(url, 'smollm2', api_key_env='', max_new_tokens=40)
        schema = {'type': 'object', 'properties': {
            'call': {'const': 'navigate_to'}, 'object': {'enum': ['Unicorn_9']}},
            'required': ['call', 'object'], 'additionalProperties': False}
        text = client.generate([{'role': 'user', 'content': 'Go.'}],
                               json_schema=schema).text
        assert json.loads(text) == {'call': 'navigate_to', 'object': 'Unicorn_9'}
        vocab = Vocabulary(sorted(WORLD_ONTOLOGY), player.setup.view.rooms(), {}, [])
        with pytest.raises(ToolCallError, match="^unknown_object: 'Unicorn_9'"):
            check_call(text, vocab)
    finally:
        server.shutdown()
