"""`embodied-memory serve-model` as a real process, driven by the official `openai` client.

The server serves the offline SmolLM2-135M-Instruct (`--model smollm2`, prepared by `make
setup`) on 127.0.0.1 with a free port and an API key; the client lists the models, gets a
real completion, and gets the right exceptions for a wrong key and a malformed request.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[1]
KEY = 'test-key-not-a-secret'


@pytest.fixture(scope='module')
def server():
    env = dict(os.environ, EM_TEST_SERVE_KEY=KEY, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, '-m', 'memory_nodes.commands.main', 'serve-model', '--model',
         'smollm2', '--host', '127.0.0.1', '--port', '0', '--api-key-env',
         'EM_TEST_SERVE_KEY'], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    url = ''
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            found = re.search(r'serving (\S+) \(.*\) at (http://127\.0\.0\.1:\d+/v1)', line)
            if found:
                url = found.group(2)
                break
        assert url, 'serve-model printed no URL:\n' + ''.join(lines)
        yield found.group(1), url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_the_official_client_lists_and_completes(server):
    model_id, url = server
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=120)
    assert [m.id for m in client.models.list()] == [model_id]
    assert model_id == 'smollm2-135m-instruct'
    reply = client.chat.completions.create(
        model=model_id, max_tokens=8,
        messages=[{'role': 'system', 'content': 'You are a household robot.'},
                  {'role': 'user', 'content': 'Say hello.'}])
    choice = reply.choices[0]
    assert choice.message.role == 'assistant' and choice.message.content.strip()
    assert 0 < reply.usage.completion_tokens <= 8 and reply.usage.prompt_tokens > 5
    assert choice.finish_reason in ('stop', 'length')


def test_wrong_key_and_malformed_requests_raise_the_clients_errors(server):
    model_id, url = server
    wrong = openai.OpenAI(base_url=url, api_key='not-the-key', max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError, match='role system/user/assistant'):
        client.chat.completions.create(model=model_id, max_tokens=4,
                                       messages=[{'role': 'robot', 'content': 'hi'}])
    with pytest.raises(openai.BadRequestError, match='non-empty list'):
        client.chat.completions.create(model=model_id, max_tokens=4, messages=[])
    with pytest.raises(openai.BadRequestError, match='max_tokens'):
        client.chat.completions.create(model=model_id, max_tokens=-3,
                                       messages=[{'role': 'user', 'content': 'hi'}])
    # The server still answers after the bad requests.
    assert [m.id for m in client.models.list()] == [model_id]
