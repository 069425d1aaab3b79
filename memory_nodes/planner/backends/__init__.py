"""Planner backends by name: `make_backend('transformers' | 'openai' | ..., **params)`.

Model backends are `ModelPlanner`s around a generator; other backends (the grounded
planner) are added with `register_backend(name, factory)`. Common parameters of the model
backends: `memory` (a `MemoryView`), `fallback` (a `PlannerBackend`), `token_budget`,
`stm_top_k`, `graph_max_tokens`, `max_steps`, `max_new_tokens`, `attempts`. Backend
parameters: transformers: `model_path`, `device`, `dtype`; openai: `base_url`, `model`,
`api_key_env`, `timeout_s`, `max_retries`, `backoff_s`, `tokenizer_path`,
`structured_output`. `planner_mode='tools'` (either model backend) makes the closed-loop
`tool_mode.ToolPlanner` instead of an open-loop plan writer; its budgets are `tool_steps`,
`tool_token_budget`, `tool_loop_window`, `tool_history_turns` (see `ToolModeConfig`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memory_nodes.planner.model_planner import ModelPlanner, ModelPlannerConfig
from memory_nodes.planner.plan import PlannerBackend
from memory_nodes.planner.prompt import PromptConfig

BackendFactory = Callable[..., PlannerBackend]

_PLANNER_KEYS = ('memory', 'fallback')
_PROMPT_KEYS = ('token_budget', 'stm_top_k', 'graph_max_tokens', 'max_steps',
                'max_previous_tasks')
_RUN_KEYS = ('attempts',)
_MODE_KEYS = ('planner_mode', 'tool_steps', 'tool_token_budget', 'tool_loop_window',
              'tool_history_turns', 'ontology')
PLANNER_MODES = ('plan', 'tools')
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `make_backend(name, **params)` call `factory(**params)`."""
    if not name or not callable(factory):
        raise ValueError('register_backend needs a name and a callable factory')
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    """Names `make_backend` accepts."""
    return sorted(_REGISTRY)


def _model_planner(generator: Any, name: str, params: dict[str, Any]) -> PlannerBackend:
    mode = params.pop('planner_mode', 'plan')
    if mode not in PLANNER_MODES:
        raise ValueError(f'planner_mode must be one of {PLANNER_MODES}, got {mode!r}')
    if mode == 'tools':
        from memory_nodes.planner.tool_mode import ToolModeConfig, ToolPlanner

        cfg = ToolModeConfig(**{k[len('tool_'):].replace('steps', 'max_steps'): params.pop(k)
                                for k in _MODE_KEYS if k.startswith('tool_') and k in params},
                             **{k: params.pop(k) for k in _RUN_KEYS if k in params})
        extra = {'ontology': params.pop('ontology')} if 'ontology' in params else {}
        for unused in ('fallback',) + _PROMPT_KEYS:
            params.pop(unused, None)  # an open-loop plan's settings: not used in tool mode
        return ToolPlanner(generator, params.pop('memory', None), cfg,
                           name=f'{name}-tools', **extra)
    for key in _MODE_KEYS:
        if key in params:
            raise ValueError(f'{key} needs planner_mode="tools"')
    prompt = PromptConfig(**{k: params.pop(k) for k in _PROMPT_KEYS if k in params})
    config = ModelPlannerConfig(prompt, max_new_tokens=generator.max_new_tokens,
                                **{k: params.pop(k) for k in _RUN_KEYS if k in params})
    return ModelPlanner(generator, params.pop('memory', None), params.pop('fallback', None),
                        config, name=name)


def _split(params: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: params.pop(k) for k in keys if k in params}


def _transformers(**params: Any) -> PlannerBackend:
    from memory_nodes.planner.backends.transformers_backend import TransformersChatModel

    if not params.get('model_path'):
        raise ValueError("backend 'transformers' needs model_path (a local model directory)")
    own = _split(params, ('model_path', 'device', 'dtype', 'max_new_tokens',
                          'trust_remote_code'))
    rest = _split(params, _PLANNER_KEYS + _PROMPT_KEYS + _RUN_KEYS + _MODE_KEYS)
    if params:
        raise ValueError(f'unknown parameters for transformers: {sorted(params)}')
    return _model_planner(TransformersChatModel(**own), 'transformers', rest)


def _openai(**params: Any) -> PlannerBackend:
    from memory_nodes.planner.backends.openai_backend import OpenAIChatModel

    own = _split(params, ('base_url', 'model', 'api_key_env', 'timeout_s', 'max_retries',
                          'backoff_s', 'max_new_tokens', 'tokenizer_path', 'extra_body',
                          'structured_output'))
    rest = _split(params, _PLANNER_KEYS + _PROMPT_KEYS + _RUN_KEYS + _MODE_KEYS)
    if params:
        raise ValueError(f'unknown parameters for openai: {sorted(params)}')
    return _model_planner(OpenAIChatModel(**own), 'openai', rest)


register_backend('transformers', _transformers)
register_backend('openai', _openai)


def make_backend(name: str, **params: Any) -> PlannerBackend:
    """The backend called `name`, built from `params` (ValueError names what is wrong)."""
    if name not in _REGISTRY:
        raise ValueError(f'unknown planner backend {name!r}; known: {", ".join(backend_names())}')
    return _REGISTRY[name](**params)
