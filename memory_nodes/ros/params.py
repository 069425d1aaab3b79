"""Declare a node's parameters once, from a config dataclass with described fields.

Each field of the dataclass becomes a ROS parameter with its type, default and the
description given in `field(metadata={'description': ...})`; reading them back builds
the dataclass. Out-of-range values are refused at start-up with the parameter's name.

A field made with `nested` holds a core config dataclass (which knows nothing of ROS):
each of its fields becomes a parameter named `<prefix><path>`, nested dataclasses
joined with dots as ROS does (`ltm.fusion.voxel_size`). Fields a ROS parameter cannot
hold (dicts, None, empty sequences) keep their dataclass default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

C = TypeVar('C')
_SCALARS = (bool, int, float, str)


def describe(default: Any, description: str, **checks: Any) -> Any:
    """A dataclass field with a ROS parameter description (and optional min/max/choices)."""
    return dataclasses.field(default=default,
                             metadata={'description': description, **checks})


def param(description: str = '', name: str | None = None, **checks: Any) -> dict[str, Any]:
    """Metadata for one field of a `nested` config: description, min/max/choices.

    `name`, when given, replaces the parameter's name: it keeps a name users already set
    before the field moved into a core config.
    """
    meta: dict[str, Any] = {'description': description, **checks}
    if name is not None:
        meta['name'] = name
    return meta


def nested(factory: Callable[[], Any], prefix: str,
           params: Mapping[str, dict[str, Any]] | None = None) -> Any:
    """A dataclass field holding a core config whose fields are parameters `<prefix>path`.

    `params` maps a field's dotted path in the core config ('embedder.backend') to its
    `param(...)` metadata.
    """
    return dataclasses.field(default_factory=factory,
                             metadata={'prefix': prefix, 'params': dict(params or {})})


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare every field of `cls` as a parameter of `node`; return the filled config."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if 'prefix' in f.metadata:
            config = f.default_factory()  # type: ignore[misc]
            params = f.metadata['params']
            declared = _declare_nested(node, config, f.metadata['prefix'], '', params)
            unknown = set(params) - declared
            if unknown:  # a typo in the node's config would silently do nothing
                raise ValueError(f'{f.name}: no parameter field {sorted(unknown)}')
            values[f.name] = config
        else:
            values[f.name] = _declare(node, f.name, f.default, f.metadata)
    return cls(**values)


def _declare_nested(node: Node, config: Any, prefix: str, path: str,
                    params: Mapping[str, dict[str, Any]]) -> set[str]:
    """Declare the fields of `config` (recursively) and set them; return their paths."""
    declared: set[str] = set()
    summary = (type(config).__doc__ or '').strip().split('\n')[0]
    for f in dataclasses.fields(config):
        key = path + f.name
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            declared |= _declare_nested(node, value, prefix, key + '.', params)
        elif _is_parameter(value):
            meta = {'description': summary, **params.get(key, {})}
            setattr(config, f.name, _declare(node, meta.get('name', prefix + key), value, meta))
            declared.add(key)
    return declared


def _is_parameter(value: Any) -> bool:
    """Whether a ROS parameter can hold `value` with the same type."""
    if isinstance(value, (list, tuple)):
        # An empty list has no element type (rclpy would make it a byte array).
        return bool(value) and isinstance(value[0], _SCALARS) \
            and all(type(v) is type(value[0]) for v in value)
    return isinstance(value, _SCALARS)


def _declare(node: Node, name: str, default: Any, meta: Mapping[str, Any]) -> Any:
    """Declare one parameter, convert its value to the default's type and check it."""
    desc = ParameterDescriptor(description=meta.get('description', ''))
    value = node.declare_parameter(name, default, desc).value
    if isinstance(default, float) and isinstance(value, int):
        value = float(value)
    if isinstance(default, tuple):
        value = tuple(value)
    minimum = meta.get('min')
    if minimum is not None and value < minimum:
        raise ValueError(f'parameter {name}={value!r} is below its minimum {minimum}')
    maximum = meta.get('max')
    if maximum is not None and value > maximum:
        raise ValueError(f'parameter {name}={value!r} is above its maximum {maximum}')
    choices = meta.get('choices')
    if choices is not None and value not in choices:
        raise ValueError(f'parameter {name}={value!r} is not one of {sorted(choices)}')
    return value
