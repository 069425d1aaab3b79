"""Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp, our server).

Standard library only (`urllib`). The API key is read from an environment variable whose
NAME is configured (the key itself is never a parameter and never logged); requests time
out; connection errors, timeouts, 429 and 5xx are retried with exponential backoff, other
4xx fail at once. Token counts come from the server's `usage`; the prompt budget uses a
local tokenizer when `tokenizer_path` is given, else the builder's estimate.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np

from memory_nodes.planner.model_planner import Generation, GenerationError

log = logging.getLogger(__name__)

RETRY_STATUS = (408, 409, 429, 500, 502, 503, 504)
#: How a JSON schema is asked of the server: OpenAI's `response_format` (OpenAI, vLLM,
#: SGLang, llama.cpp's server), vLLM's older `guided_json`, or not at all.
STRUCTURED_OUTPUT = ('response_format', 'guided_json', 'none')


def image_data_url(image: np.ndarray) -> str:
    """An RGB uint8 image as a PNG data URL (for `image_url` content parts)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format='PNG')
    return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode('ascii')


class OpenAIChatModel:
    """Chat completions over HTTP; implements `model_planner.TextGenerator`."""

    name = 'openai'

    def __init__(self, base_url: str = 'http://127.0.0.1:8000/v1', model: str = 'default',
                 api_key_env: str = 'OPENAI_API_KEY', timeout_s: float = 60.0,
                 max_retries: int = 3, backoff_s: float = 0.5, max_new_tokens: int = 384,
                 tokenizer_path: str = '', extra_body: dict[str, Any] | None = None,
                 structured_output: str = 'response_format'):
        if not base_url.startswith(('http://', 'https://')):
            raise ValueError(f'base_url must start with http:// or https://, got {base_url!r}')
        if timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise ValueError('timeout_s must be > 0, max_retries and backoff_s >= 0')
        self.base_url = base_url.rstrip('/')
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_new_tokens = max_new_tokens
        self.extra_body = dict(extra_body or {})
        if structured_output not in STRUCTURED_OUTPUT:
            raise ValueError(f'structured_output must be one of {STRUCTURED_OUTPUT}, got '
                             f'{structured_output!r}')
        self.structured_output = structured_output
        self._tokenizer: Any = None
        if tokenizer_path:
            os.environ['HF_HUB_OFFLINE'] = '1'
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(tokenizer_path,
                                                            local_files_only=True)

    def _key(self) -> str:
        return os.environ.get(self.api_key_env, '') if self.api_key_env else ''

    def _headers(self) -> dict[str, str]:
        headers = {'Content-Type': 'application/json'}
        key = self._key()
        if key:
            headers['Authorization'] = f'Bearer {key}'
        return headers

    def _redact(self, text: str) -> str:
        """`text` without the API key (a server or proxy may echo the request's headers)."""
        key = self._key()
        return text.replace(key, '[API key]') if len(key) >= 4 else text

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        url = self.base_url + path
        last = ''
        for attempt in range(self.max_retries + 1):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.info('openai backend: retry %d/%d in %.2f s after %s', attempt,
                         self.max_retries, delay, last)
                time.sleep(delay)
            req = urllib.request.Request(url, data=data, headers=self._headers(),
                                         method='POST')
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode())
            except urllib.error.HTTPError as err:
                detail = self._redact(err.read().decode(errors='replace'))[:300]
                last = f'HTTP {err.code}: {detail}'
                if err.code not in RETRY_STATUS:
                    raise GenerationError(f'{url} answered {last}') from err
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                last = self._redact(f'{type(err).__name__}: {getattr(err, "reason", err)}')
            except json.JSONDecodeError as err:
                raise GenerationError(f'{url} returned invalid JSON: {err}') from err
        raise GenerationError(f'{url} failed after {self.max_retries + 1} tries: {last}')

    def generate(self, messages: list[dict[str, Any]], image: np.ndarray | None = None,
                 max_new_tokens: int | None = None,
                 json_schema: dict[str, Any] | None = None) -> Generation:
        """One chat completion (temperature 0); raises `GenerationError` on failure.

        With `json_schema`, the server is asked for JSON matching it the way
        `structured_output` says; whether it complies is the server's business (callers
        validate what comes back).
        """
        msgs: list[dict[str, Any]] = [dict(m) for m in messages]
        if image is not None:
            msgs[-1]['content'] = [{'type': 'image_url',
                                    'image_url': {'url': image_data_url(image)}},
                                   {'type': 'text', 'text': msgs[-1]['content']}]
        body = {'model': self.model, 'messages': msgs, 'temperature': 0.0,
                'max_tokens': max_new_tokens or self.max_new_tokens, **self.extra_body}
        if json_schema is not None and self.structured_output == 'response_format':
            body['response_format'] = {'type': 'json_schema', 'json_schema': {
                'name': 'call', 'schema': json_schema, 'strict': True}}
        elif json_schema is not None and self.structured_output == 'guided_json':
            body['guided_json'] = json_schema
        t0 = time.monotonic()
        reply = self._post('/chat/completions', body)
        try:
            text = reply['choices'][0]['message']['content'] or ''
        except (KeyError, IndexError, TypeError) as err:
            raise GenerationError(
                f'unexpected reply shape: {self._redact(str(reply))[:200]}') from err
        usage = reply.get('usage') or {}
        return Generation(text, int(usage.get('prompt_tokens', 0)),
                          int(usage.get('completion_tokens', 0)), time.monotonic() - t0)

    def models(self) -> list[str]:
        """Model ids the server offers (GET /models)."""
        req = urllib.request.Request(self.base_url + '/models', headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return [m['id'] for m in json.loads(resp.read().decode()).get('data', [])]
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise GenerationError(f'{self.base_url}/models failed: {err}') from err

    def token_counter(self) -> Callable[[str], int] | None:
        """The local tokenizer's counter when `tokenizer_path` was given, else None."""
        if self._tokenizer is None:
            return None
        tok = self._tokenizer
        return lambda text: len(tok(text, add_special_tokens=False)['input_ids'])

    def message_counter(self) -> Callable[[list[dict[str, Any]]], int] | None:
        """Exact templated counts when the local tokenizer has a chat template."""
        tok = self._tokenizer
        if tok is None or not getattr(tok, 'chat_template', None):
            return None
        return lambda msgs: len(tok(tok.apply_chat_template(
            msgs, add_generation_prompt=True, tokenize=False),
            add_special_tokens=False)['input_ids'])
