"""An OpenAI-compatible HTTP server for a local transformers model (`serve-model`).

Serves `POST /v1/chat/completions` (greedy, non-streaming, with `usage` token counts;
a `response_format` JSON schema constrains decoding with xgrammar, as vLLM does),
`GET /v1/models` and `GET /health` from one `TransformersChatModel`, on loopback by
default. Requests are generated one at a time (the model holds a lock); the HTTP side is a
`ThreadingHTTPServer` so health checks answer while a request generates. An optional API
key is read from an environment variable whose name is given; it is compared, never logged.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import logging
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from memory_nodes.planner.backends.transformers_backend import TransformersChatModel
from memory_nodes.planner.model_planner import GenerationError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_NEW_TOKENS_CAP = 4096


class RequestError(ValueError):
    """A malformed request (answered with HTTP 400 and this message)."""


def _decode_image(url: str) -> np.ndarray:
    if not url.startswith('data:image/'):
        raise RequestError('only data: image URLs are accepted (no fetching)')
    from PIL import Image

    payload = url.split(',', 1)[1] if ',' in url else ''
    try:
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert('RGB'))
    except Exception as err:  # noqa: BLE001 - any decoder failure is a bad request
        raise RequestError(f'cannot decode image: {err}') from err


def parse_messages(body: dict[str, Any]) -> tuple[list[dict[str, str]], np.ndarray | None]:
    """OpenAI `messages` -> plain text messages and the first image, if any."""
    raw = body.get('messages')
    if not isinstance(raw, list) or not raw:
        raise RequestError('"messages" must be a non-empty list')
    out: list[dict[str, str]] = []
    image = None
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get('role') not in ('system', 'user', 'assistant'):
            raise RequestError(f'messages[{i}] needs role system/user/assistant')
        content = m.get('content')
        if isinstance(content, list):
            texts = []
            for part in content:
                if not isinstance(part, dict):
                    raise RequestError(f'messages[{i}].content has a non-object part')
                if part.get('type') == 'text':
                    texts.append(str(part.get('text', '')))
                elif part.get('type') == 'image_url' and image is None:
                    image = _decode_image(str((part.get('image_url') or {}).get('url', '')))
            content = '\n'.join(texts)
        if not isinstance(content, str):
            raise RequestError(f'messages[{i}].content must be text')
        out.append({'role': m['role'], 'content': content})
    return out, image


def response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request's `response_format` asks for (None: free text)."""
    fmt = body.get('response_format')
    if fmt is None or (isinstance(fmt, dict) and fmt.get('type') == 'text'):
        return None
    if not isinstance(fmt, dict) or fmt.get('type') != 'json_schema' \
            or not isinstance((fmt.get('json_schema') or {}).get('schema'), dict):
        raise RequestError('"response_format" must be {"type": "json_schema", "json_schema": '
                           '{"schema": {...}}} or {"type": "text"}')
    return fmt['json_schema']['schema']


class ModelServer:
    """The HTTP server and the model it serves."""

    def __init__(self, model: TransformersChatModel, model_id: str, host: str = '127.0.0.1',
                 port: int = 8000, api_key_env: str = ''):
        self.model = model
        self.model_id = model_id
        self.api_key_env = api_key_env
        self.requests = 0
        handler = type('Handler', (_Handler,), {'server_state': self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound (port 0 picks a free one)."""
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def authorized(self, header: str) -> bool:
        """True if no key is configured or the bearer token matches it."""
        if not self.api_key_env:
            return True
        key = os.environ.get(self.api_key_env, '')
        given = header[7:] if header.startswith('Bearer ') else ''
        return bool(key) and hmac.compare_digest(given.encode(), key.encode())

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One chat completion as an OpenAI response object."""
        messages, image = parse_messages(body)
        max_tokens = body.get('max_tokens') or body.get('max_completion_tokens') or 256
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise RequestError('"max_tokens" must be a positive integer')
        gen = self.model.generate(messages, image, min(max_tokens, MAX_NEW_TOKENS_CAP),
                                  json_schema=response_schema(body))
        self.requests += 1
        finish = 'length' if gen.completion_tokens >= max_tokens else 'stop'
        return {
            'id': f'chatcmpl-{uuid.uuid4().hex[:24]}', 'object': 'chat.completion',
            'created': int(time.time()), 'model': self.model_id,
            'choices': [{'index': 0, 'finish_reason': finish,
                         'message': {'role': 'assistant', 'content': gen.text}}],
            'usage': {'prompt_tokens': gen.prompt_tokens,
                      'completion_tokens': gen.completion_tokens,
                      'total_tokens': gen.prompt_tokens + gen.completion_tokens},
        }

    def serve_forever(self) -> None:
        """Serve until `shutdown` (or Ctrl-C in the CLI)."""
        self.httpd.serve_forever(poll_interval=0.2)

    def start_background(self) -> threading.Thread:
        """Serve in a daemon thread (for embedding and tests)."""
        thread = threading.Thread(target=self.serve_forever, daemon=True, name='model-server')
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_state: ModelServer
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt: str, *args: Any) -> None:
        log.info('%s %s', self.address_string(), fmt % args)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {'error': {'message': message, 'type': kind}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server_state
        if self.path.rstrip('/') == '/health':
            self._send(200, {'status': 'ok', 'model': state.model_id})
        elif not state.authorized(self.headers.get('Authorization', '')):
            self._error(401, 'invalid or missing API key', 'authentication_error')
        elif self.path.rstrip('/') == '/v1/models':
            self._send(200, {'object': 'list', 'data': [
                {'id': state.model_id, 'object': 'model', 'owned_by': 'local'}]})
        else:
            self._error(404, f'no route {self.path}', 'not_found')

    def do_POST(self) -> None:  # noqa: N802
        state = self.server_state
        if self.path.rstrip('/') != '/v1/chat/completions':
            self._error(404, f'no route {self.path}', 'not_found')
            return
        if not state.authorized(self.headers.get('Authorization', '')):
            self._error(401, 'invalid or missing API key', 'authentication_error')
            return
        length = int(self.headers.get('Content-Length') or 0)
        if length <= 0 or length > MAX_BODY_BYTES:
            self._error(413 if length else 400, f'body must be 1..{MAX_BODY_BYTES} bytes',
                        'invalid_request_error')
            return
        try:
            body = json.loads(self.rfile.read(length).decode())
            if not isinstance(body, dict):
                raise RequestError('the body must be a JSON object')
            if body.get('stream'):
                raise RequestError('streaming is not supported')
            self._send(200, state.complete(body))
        except (RequestError, json.JSONDecodeError, UnicodeDecodeError) as err:
            self._error(400, str(err), 'invalid_request_error')
        except GenerationError as err:
            log.error('generation failed: %s', err)
            self._error(500, f'generation failed: {err}', 'server_error')
