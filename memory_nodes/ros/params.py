"""Declare a node's parameters once, from a config dataclass with described fields.

Each field of the dataclass becomes a ROS parameter with its type, default and the
description given in `field(metadata={'description': ...})`; reading them back builds
the dataclass. Out-of-range values are refused at start-up with the parameter's name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

C = TypeVar('C')


def describe(default: Any, description: str, **checks: Any) -> Any:
    """A dataclass field with a ROS parameter description (and optional min/max/choices)."""
    return dataclasses.field(default=default,
                             metadata={'description': description, **checks})


def declare_config(node: Node, cls: type[C]) -> C:
    """Declare every field of `cls` as a parameter of `node`; return the filled config."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        desc = ParameterDescriptor(description=f.metadata.get('description', ''))
        value = node.declare_parameter(f.name, f.default, desc).value
        if isinstance(f.default, float) and isinstance(value, int):
            value = float(value)
        minimum = f.metadata.get('min')
        if minimum is not None and value < minimum:
            raise ValueError(f'parameter {f.name}={value!r} is below its minimum {minimum}')
        maximum = f.metadata.get('max')
        if maximum is not None and value > maximum:
            raise ValueError(f'parameter {f.name}={value!r} is above its maximum {maximum}')
        choices = f.metadata.get('choices')
        if choices is not None and value not in choices:
            raise ValueError(f'parameter {f.name}={value!r} is not one of {sorted(choices)}')
        values[f.name] = value
    return cls(**values)
