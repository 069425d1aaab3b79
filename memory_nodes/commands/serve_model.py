"""`embodied-memory serve-model --model PATH`: an OpenAI-compatible server for a local model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `serve-model` to the top-level parser."""
    p = subparsers.add_parser(
        'serve-model', help='serve a local transformers model over an OpenAI-compatible API')
    p.add_argument('--model', required=True, help='local model directory (never downloaded)')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to bind (default loopback; anything else exposes the model)')
    p.add_argument('--port', type=int, default=8000, help='TCP port (0 picks a free one)')
    p.add_argument('--model-id', default='', help='id in /v1/models (default: directory name)')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--dtype', default='auto', help='auto, float32, float16 or bfloat16')
    p.add_argument('--api-key-env', default='',
                   help='name of an environment variable holding the required API key')
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from memory_nodes.planner.backends.transformers_backend import (
        ModelLoadError,
        TransformersChatModel,
    )
    from memory_nodes.planner.model_server import ModelServer

    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    try:
        model = TransformersChatModel(args.model, device=args.device, dtype=args.dtype)
    except ModelLoadError as err:
        print(f'serve-model: {err}')
        return 2
    model_id = args.model_id or Path(args.model).resolve().name
    server = ModelServer(model, model_id, args.host, args.port, args.api_key_env)
    host, port = server.address
    if host not in ('127.0.0.1', '::1', 'localhost'):
        print(f'serve-model: WARNING: listening on {host}, reachable beyond this machine')
    print(f'serving {model_id} ({model.model_type}) at http://{host}:{port}/v1', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print('serve-model: stopped')
    finally:
        server.httpd.server_close()
    return 0
