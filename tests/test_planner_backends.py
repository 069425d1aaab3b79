"""Model backends on a tiny model built from config: loading, templating, generation,
parsing, retry and fallback; the openai backend against the real `serve-model` process."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from planner_fakes import kitchen_view
from tiny_models import build_text_model, train_tokenizer

from memory_nodes.planner.backends import make_backend, register_backend
from memory_nodes.planner.backends.openai_backend import OpenAIChatModel
from memory_nodes.planner.backends.transformers_backend import (
    ModelLoadError,
    TransformersChatModel,
)
from memory_nodes.planner.model_planner import (
    Generation,
    GenerationError,
    ModelPlanner,
    ModelPlannerConfig,
)
from memory_nodes.planner.plan import PlanRequest, PlanResult, PlanStep
from memory_nodes.planner.prompt import PromptConfig

ROOT = Path(__file__).resolve().parent.parent
SECRET = 'sk-test-do-not-log-0123456789'


class FixedPlanner:
    """Stands in for the grounded planner as the fallback."""

    name = 'grounded'

    def __init__(self):
        self.calls = 0

    def plan(self, request: PlanRequest) -> PlanResult:
        self.calls += 1
        return PlanResult([PlanStep('explore', area='kitchen')], self.name)


class Recording:
    """Wraps a generator and keeps every conversation it was asked to complete."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.seen: list[list[dict]] = []
        self.max_new_tokens = getattr(inner, 'max_new_tokens', 32)

    def generate(self, messages, image=None, max_new_tokens=None):
        self.seen.append(messages)
        return self.inner.generate(messages, image, max_new_tokens)

    def token_counter(self):
        return self.inner.token_counter()

    def message_counter(self):
        return self.inner.message_counter()


class Scripted:
    """Answers from a list (to pin the retry logic without a model)."""

    name = 'scripted'
    max_new_tokens = 32

    def __init__(self, answers):
        self.answers = list(answers)

    def generate(self, messages, image=None, max_new_tokens=None):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Generation(answer, 100, 10)

    def token_counter(self):
        return None

    def message_counter(self):
        return None


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory) -> Path:
    return build_text_model(tmp_path_factory.mktemp('models') / 'tiny-llama')


@pytest.fixture(scope='module')
def chat_model(tiny_model) -> TransformersChatModel:
    return TransformersChatModel(tiny_model, device='cpu', max_new_tokens=24)


def request() -> PlanRequest:
    return PlanRequest('Put the apple in the fridge', ['INSIDE(Apple, Fridge): 1'])


def config(budget: int = 3000) -> ModelPlannerConfig:
    return ModelPlannerConfig(PromptConfig(token_budget=budget), max_new_tokens=24)


# ---- transformers backend ------------------------------------------------------------
def test_tiny_model_loads_templates_and_generates(chat_model):
    msgs = [{'role': 'system', 'content': 'You plan.'}, {'role': 'user', 'content': 'apple'}]
    text = chat_model.render(msgs)
    assert text == '<|system|>\nYou plan.\n<|user|>\napple\n<|assistant|>\n'
    gen = chat_model.generate(msgs, max_new_tokens=8)
    assert gen.prompt_tokens == chat_model.count_messages(msgs) > 0
    assert 0 < gen.completion_tokens <= 8 and isinstance(gen.text, str)
    again = chat_model.generate(msgs, max_new_tokens=8)
    assert again.text == gen.text  # greedy


def test_plain_template_without_chat_template(tmp_path):
    model = TransformersChatModel(build_text_model(tmp_path / 'plain', chat_template=False))
    assert not model.has_chat_template
    text = model.render([{'role': 'user', 'content': 'hi'}])
    assert text == 'User: hi\n\nAssistant:'
    assert model.generate([{'role': 'user', 'content': 'hi'}], max_new_tokens=4)


def test_junk_output_retried_then_fallback(chat_model):
    gen, fallback, view = Recording(chat_model), FixedPlanner(), kitchen_view()
    planner = ModelPlanner(gen, view, fallback, config())
    result = planner.plan(request())
    assert result.backend == 'transformers' and result.fallback == 'grounded'
    assert result.steps == [PlanStep('explore', area='kitchen')]
    assert result.attempts == 2 and fallback.calls == 1 and len(gen.seen) == 2
    assert len(result.errors) == 2
    first = result.errors[0].split(':')[0].split(' ')[0]
    assert first in ('non_json', 'not_a_plan', 'empty_output', 'unknown_skill',
                     'missing_argument')
    # The retry saw the first error, the first attempt did not.
    assert 'previous answer was rejected' not in gen.seen[0][-1]['content']
    assert 'previous answer was rejected: ' + result.errors[0][:30] in gen.seen[1][-1]['content']
    # Token accounting: the model's own prompt counts, within budget, for both attempts.
    assert result.completion_tokens > 0
    assert 2 * 100 < result.prompt_tokens <= 2 * 3000
    assert chat_model.count_messages(gen.seen[0]) <= 3000


def test_make_backend_transformers_by_path(tiny_model):
    fallback = FixedPlanner()
    backend = make_backend('transformers', model_path=str(tiny_model), device='cpu',
                           max_new_tokens=8, memory=kitchen_view(), fallback=fallback,
                           token_budget=3000)
    result = backend.plan(request())
    assert backend.name == 'transformers' and result.fallback == 'grounded'
    assert result.prompt_tokens > 0 and result.attempts == 2


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(ModelLoadError, match='does not exist') as err:
        TransformersChatModel(tmp_path / 'missing')
    assert str(tmp_path / 'missing') in str(err.value)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ModelLoadError, match='no config.json'):
        TransformersChatModel(tmp_path / 'empty')
    odd = _resnet_dir(tmp_path)
    with pytest.raises(ModelLoadError, match="model type 'resnet'") as err:
        TransformersChatModel(odd)
    assert str(odd) in str(err.value)


def _resnet_dir(tmp_path: Path) -> Path:
    """A model directory of a type the chat backend cannot load (an image classifier)."""
    from transformers import ResNetConfig

    odd = tmp_path / 'resnet'
    ResNetConfig(hidden_sizes=[8, 8, 8, 8], embedding_size=8).save_pretrained(odd)
    train_tokenizer().save_pretrained(odd)
    return odd


def test_cuda_asked_for_without_cuda_is_refused(tmp_path):
    import torch

    # Its own test: on a CUDA machine only this check cannot happen, not the ones above.
    if torch.cuda.is_available():
        pytest.skip('CUDA present: the missing-CUDA error cannot occur')
    with pytest.raises(ModelLoadError, match='CUDA'):
        TransformersChatModel(_resnet_dir(tmp_path), device='cuda')


def test_make_backend_errors_and_registry():
    with pytest.raises(ValueError, match='unknown planner backend'):
        make_backend('nope')
    with pytest.raises(ValueError, match='model_path'):
        make_backend('transformers')
    with pytest.raises(ValueError, match='unknown parameters for openai'):
        make_backend('openai', colour='red')
    register_backend('fixed', lambda **_: FixedPlanner())
    assert make_backend('fixed').name == 'grounded'


# ---- retry logic, pinned with scripted answers -----------------------------------------
def test_retry_succeeds_with_feedback():
    good = '[{"skill": "navigate_to", "object": "apple"}, {"skill": "pick_up", "object": "apple"}]'
    planner = ModelPlanner(Scripted(['```json\n[{"skill": "fly", "object": "apple"}]```',
                                     good]), kitchen_view(), FixedPlanner(), config())
    result = planner.plan(request())
    assert result.attempts == 2 and not result.fallback
    assert [s.skill for s in result.steps] == ['navigate_to', 'pick_up']
    assert result.errors[0].startswith('unknown_skill (step 0)')
    assert result.prompt_tokens == 200 and result.completion_tokens == 20


def test_unknown_objects_never_executed():
    bad = '[{"skill": "pick_up", "object": "unicorn"}]'
    result = ModelPlanner(Scripted([bad, bad]), kitchen_view(), FixedPlanner(),
                          config()).plan(request())
    assert result.fallback == 'grounded' and result.steps[0].skill == 'explore'
    assert all(e.startswith('unknown_object (step 0)') for e in result.errors)


def test_generator_failures_and_bad_instructions():
    result = ModelPlanner(Scripted([GenerationError('down'), GenerationError('down')]),
                          kitchen_view(), None, config()).plan(request())
    assert result.steps == [] and result.errors == [
        'generation_failed: down', 'generation_failed: down',
        'no_fallback: no fallback backend configured']
    result = ModelPlanner(Scripted([]), kitchen_view(), FixedPlanner(), config()).plan(
        PlanRequest('  '))
    assert result.errors[0].startswith('empty_instruction') and result.fallback == 'grounded'
    result = ModelPlanner(Scripted([]), kitchen_view(), FixedPlanner(), config()).plan(
        PlanRequest('x ' * 5000))
    assert result.errors[0].startswith('instruction_too_long')


# ---- openai backend against the real server process ---------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tiny_model):
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1',
               EM_TEST_SERVER_KEY=SECRET)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'memory_nodes.commands.main', 'serve-model', '--model',
         str(tiny_model), '--host', '127.0.0.1', '--port', str(port), '--api-key-env',
         'EM_TEST_SERVER_KEY'],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + '/health', timeout=1) as r:
                assert json.loads(r.read())['status'] == 'ok'
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f'serve-model did not start: {proc.stdout.read()}')
            time.sleep(0.3)
    yield url
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    assert SECRET not in out


def test_openai_backend_over_real_http(server, monkeypatch, caplog):
    monkeypatch.setenv('EM_TEST_KEY', SECRET)
    caplog.set_level(logging.DEBUG)
    direct = OpenAIChatModel(server + '/v1', 'tiny-llama', api_key_env='EM_TEST_KEY',
                             timeout_s=30, max_new_tokens=8)
    assert direct.models() == ['tiny-llama']
    gen = direct.generate([{'role': 'user', 'content': 'Put the apple in the fridge'}])
    assert gen.prompt_tokens > 0 and 0 < gen.completion_tokens <= 8
    fallback = FixedPlanner()
    backend = make_backend('openai', base_url=server + '/v1', model='tiny-llama',
                           api_key_env='EM_TEST_KEY', timeout_s=30, max_new_tokens=8,
                           memory=kitchen_view(), fallback=fallback, token_budget=3000)
    result = backend.plan(request())
    assert result.backend == 'openai' and result.fallback == 'grounded'
    assert result.attempts == 2 and len(result.errors) == 2
    assert result.prompt_tokens > 0 and result.completion_tokens > 0  # server's usage
    assert SECRET not in caplog.text


def test_openai_backend_exact_budget_with_local_tokenizer(server, tiny_model, monkeypatch):
    monkeypatch.setenv('EM_TEST_KEY', SECRET)
    backend = make_backend('openai', base_url=server + '/v1', model='tiny-llama',
                           api_key_env='EM_TEST_KEY', max_new_tokens=4,
                           tokenizer_path=str(tiny_model), memory=kitchen_view(),
                           fallback=FixedPlanner(), token_budget=2000, attempts=1)
    assert backend.prompts.counter == 'template'
    result = backend.plan(request())
    # The server counts the same templated prompt: what was sent fits the budget.
    assert 1000 < result.prompt_tokens <= 2000


def test_openai_auth_and_server_errors(server, monkeypatch):
    monkeypatch.setenv('EM_TEST_KEY', 'wrong-key')
    wrong = OpenAIChatModel(server + '/v1', api_key_env='EM_TEST_KEY', max_retries=3,
                            backoff_s=5.0)
    t0 = time.monotonic()
    with pytest.raises(GenerationError, match='HTTP 401'):
        wrong.generate([{'role': 'user', 'content': 'hi'}])
    assert time.monotonic() - t0 < 4  # 4xx is not retried
    monkeypatch.setenv('EM_TEST_KEY', SECRET)
    req = urllib.request.Request(server + '/v1/chat/completions', data=b'{"messages": 3}',
                                 headers={'Authorization': f'Bearer {SECRET}',
                                          'Content-Type': 'application/json'})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400 and 'messages' in err.value.read().decode()


def test_openai_retries_with_backoff_when_nobody_listens():
    gen = OpenAIChatModel(f'http://127.0.0.1:{free_port()}/v1', timeout_s=2, max_retries=2,
                          backoff_s=0.1)
    t0 = time.monotonic()
    with pytest.raises(GenerationError, match='failed after 3 tries'):
        gen.generate([{'role': 'user', 'content': 'hi'}])
    assert time.monotonic() - t0 >= 0.3  # 0.1 + 0.2 s of backoff
