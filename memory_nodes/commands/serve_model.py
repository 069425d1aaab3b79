"""`embodied-memory serve-model --model PATH`: an OpenAI-compatible server for a local model.

`--model smollm2` serves the offline SmolLM2-135M-Instruct (converted once from its wheel
into `.models/`), `--adapter shipped` with the goal reader's fine-tuned LoRA merged in.
Any OpenAI client talks to it, e.g. the official one::

    client = openai.OpenAI(base_url='http://127.0.0.1:8000/v1', api_key='...')
    client.chat.completions.create(model='smollm2-135m-instruct', messages=[...])
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `serve-model` to the top-level parser."""
    p = subparsers.add_parser(
        'serve-model', help='serve a local transformers model over an OpenAI-compatible API')
    p.add_argument('--model', required=True,
                   help="local model directory (never downloaded), or 'smollm2' for the "
                        'offline SmolLM2-135M-Instruct prepared by make setup')
    p.add_argument('--adapter', default='',
                   help="a LoRA adapter directory to merge in, or 'shipped' for the goal "
                        "reader's fine-tuned adapter (default: none)")
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
        path, adapter = _resolve(args.model, args.adapter)
        model = TransformersChatModel(path, device=args.device, dtype=args.dtype,
                                      adapter=adapter)
    except (ModelLoadError, FileNotFoundError, RuntimeError) as err:
        print(f'serve-model: {err}')
        return 2
    model_id = args.model_id or Path(path).resolve().name + (
        f'+{Path(adapter).name}' if adapter else '')
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


def _resolve(model: str, adapter: str) -> tuple[str, str]:
    """(model directory, adapter directory or '') for the command-line words."""
    if model == 'smollm2':
        from memory_nodes.planner.language.model_files import prepare_model

        model = str(prepare_model())
    if adapter == 'shipped':
        from memory_nodes.planner.language.goal_reader import shipped_adapter

        adapter = str(shipped_adapter())
    return model, adapter
