"""launch/*.launch.py (ros2 launch) and `embodied-memory launch` start the same nodes.

`launch` and `launch_ros` cannot be installed from PyPI, so this test provides the two
classes the launch files use (LaunchDescription, Node) as recorders, runs every launch
file's `generate_launch_description()`, and compares what it would start with the
project launcher's plan: same node names, executables/modules, parameter files and
parameters.
"""

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from conftest import ROOT

from memory_nodes.launch import launcher, stacks

LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))


class _RecordedNode:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class _RecordedDescription:
    def __init__(self, actions):
        self.actions = list(actions)


@pytest.fixture
def recording_launch(monkeypatch):
    launch_mod = types.ModuleType('launch')
    launch_mod.LaunchDescription = _RecordedDescription
    launch_ros = types.ModuleType('launch_ros')
    actions = types.ModuleType('launch_ros.actions')
    actions.Node = _RecordedNode
    launch_ros.actions = actions
    monkeypatch.setitem(sys.modules, 'launch', launch_mod)
    monkeypatch.setitem(sys.modules, 'launch_ros', launch_ros)
    monkeypatch.setitem(sys.modules, 'launch_ros.actions', actions)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_every_stack_has_a_launch_file_and_back():
    names = {p.name.removesuffix('.launch.py') for p in LAUNCH_FILES}
    assert names == set(stacks.STACKS)


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_matches_project_launcher(path, recording_launch):
    stack_name = path.name.removesuffix('.launch.py')
    description = _load(path)
    plan = launcher.plan(stack_name)
    assert [a.kwargs['name'] for a in description.actions] == [p.name for p in plan]
    specs = {s.name: s for s in stacks.get_stack(stack_name).nodes}
    for action, proc in zip(description.actions, plan):
        kw = action.kwargs
        spec = specs[proc.name]
        assert kw['package'] == 'embodied_memory'
        assert kw['executable'] == spec.executable
        assert proc.argv[1:3] == ['-m', spec.module]
        params_file, overrides = kw['parameters']
        assert params_file == proc.params_file
        assert overrides == proc.parameters
        assert f'__node:={proc.name}' in proc.argv


def test_console_scripts_and_modules_agree():
    """Each executable the launch files name is a console script pointing at its module."""
    setup_text = (ROOT / 'setup.py').read_text()
    for stack in stacks.STACKS.values():
        for spec in stack.nodes:
            assert f"'{spec.executable} = {spec.module}:main'" in setup_text, spec


def test_every_node_has_its_config_file_with_its_name():
    import yaml

    for stack in stacks.STACKS.values():
        for spec in stack.nodes:
            data = yaml.safe_load((ROOT / 'config' / spec.config).read_text())
            assert 'ros__parameters' in data[spec.name], spec.config


def test_unknown_stack_is_named_in_the_error():
    with pytest.raises(ValueError, match='unknown stack .*kitchen.*known: memory_only'):
        stacks.get_stack('kitchen')
