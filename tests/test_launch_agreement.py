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


class _Recorded:
    """A launch action, condition or substitution: its arguments, kept for comparing."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def _evaluate(value, arguments):
    """A recorded LaunchConfiguration / ParameterValue / IfCondition under `arguments`."""
    if isinstance(value, _Recorded):
        kind = value.kwargs.get('_kind')
        if kind == 'config':
            return arguments[value.args[0]]
        if kind == 'if':
            return stacks.is_true(_evaluate(value.args[0], arguments))
        return _evaluate(value.args[0], arguments)  # ParameterValue
    return value


def _kind(kind):
    return lambda *args, **kwargs: _Recorded(*args, _kind=kind, **kwargs)


@pytest.fixture
def recording_launch(monkeypatch):
    launch_mod = types.ModuleType('launch')
    launch_mod.LaunchDescription = _RecordedDescription
    launch_actions = types.ModuleType('launch.actions')
    launch_actions.DeclareLaunchArgument = _kind('declare')
    launch_actions.SetEnvironmentVariable = _kind('setenv')
    conditions = types.ModuleType('launch.conditions')
    conditions.IfCondition = _kind('if')
    substitutions = types.ModuleType('launch.substitutions')
    substitutions.LaunchConfiguration = _kind('config')
    launch_ros = types.ModuleType('launch_ros')
    actions = types.ModuleType('launch_ros.actions')
    actions.Node = _RecordedNode
    descriptions = types.ModuleType('launch_ros.parameter_descriptions')
    descriptions.ParameterValue = _kind('value')
    launch_ros.actions = actions
    for name, module in (('launch', launch_mod), ('launch.actions', launch_actions),
                         ('launch.conditions', conditions),
                         ('launch.substitutions', substitutions), ('launch_ros', launch_ros),
                         ('launch_ros.actions', actions),
                         ('launch_ros.parameter_descriptions', descriptions)):
        monkeypatch.setitem(sys.modules, name, module)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_every_stack_has_a_launch_file_and_back():
    names = {p.name.removesuffix('.launch.py') for p in LAUNCH_FILES}
    assert names == set(stacks.STACKS)


def _argument_cases():
    """(launch file, arguments): every file with its defaults, and each true condition."""
    cases = []
    for path in LAUNCH_FILES:
        stack = stacks.get_stack(path.name.removesuffix('.launch.py'))
        cases.append((path, {}))
        if any(s.condition for s in stack.nodes):
            given = {s.condition: 'true' for s in stack.nodes if s.condition}
            given.update({a.name: 'run.mcap' for a in stack.arguments if a.parameter})
            cases.append((path, given))
    return cases


@pytest.mark.parametrize(('path', 'arguments'), _argument_cases(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_launch_file_matches_project_launcher(path, arguments, recording_launch):
    stack_name = path.name.removesuffix('.launch.py')
    description = _load(path)
    values = stacks.resolve_arguments(stacks.get_stack(stack_name), arguments)
    declared = [a for a in description.actions
                if isinstance(a, _Recorded) and a.kwargs['_kind'] == 'declare']
    assert {a.args[0]: a.kwargs['default_value'] for a in declared} == \
        {a.name: a.default for a in stacks.get_stack(stack_name).arguments}
    nodes = [a for a in description.actions if isinstance(a, _RecordedNode)
             and _evaluate(a.kwargs.get('condition', True), values)]
    plan = launcher.plan(stack_name, arguments=arguments)
    assert [a.kwargs['name'] for a in nodes] == [p.name for p in plan]
    specs = {s.name: s for s in stacks.get_stack(stack_name).nodes}
    for action, proc in zip(nodes, plan):
        kw = action.kwargs
        spec = specs[proc.name]
        assert kw['package'] == 'embodied_memory'
        assert kw['executable'] == spec.executable
        assert proc.argv[1:3] == ['-m', spec.module]
        params_file, *overrides = kw['parameters']
        assert params_file == proc.params_file
        merged = {}
        for layer in overrides:
            merged.update({k: _evaluate(v, values) for k, v in layer.items()})
        assert merged == proc.parameters
        assert f'__node:={proc.name}' in proc.argv


def test_record_argument_adds_the_recorder_with_its_path():
    assert 'recorder' not in [p.name for p in launcher.plan('sim_stack')]
    plan = launcher.plan('sim_stack', arguments={'record': 'true', 'record_path': 'a.mcap'})
    recorder = [p for p in plan if p.name == 'recorder'][0]
    assert recorder.parameters['output_path'] == 'a.mcap'
    assert recorder.parameters['use_sim_time'] is True
    assert 'output_path:=a.mcap' in recorder.argv
    with pytest.raises(ValueError, match='no argument recrod; known: record, record_path'):
        launcher.plan('sim_stack', arguments={'recrod': 'true'})
    with pytest.raises(ValueError, match='record:=maybe'):
        launcher.plan('sim_stack', arguments={'record': 'maybe'})


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


def test_ros2_launch_sets_the_shm_profile_unless_the_user_has_one(recording_launch, monkeypatch):
    """Large images on one host: `ros2 launch` gives the nodes config/fastdds_shm.xml."""
    from memory_nodes.launch import ros_env

    for name in (*ros_env.PROFILE_VARIABLES, ros_env.PROFILE_SWITCH):
        monkeypatch.delenv(name, raising=False)
    for path in LAUNCH_FILES:
        setenv = [a.args for a in _load(path).actions
                  if isinstance(a, _Recorded) and a.kwargs['_kind'] == 'setenv']
        assert setenv == [('FASTDDS_DEFAULT_PROFILES_FILE', str(ROOT / 'config' /
                                                                'fastdds_shm.xml'))], path
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '/etc/robot.xml')
    assert not [a for a in _load(LAUNCH_FILES[0]).actions
                if isinstance(a, _Recorded) and a.kwargs['_kind'] == 'setenv']
    monkeypatch.delenv('FASTDDS_DEFAULT_PROFILES_FILE')
    monkeypatch.setenv(ros_env.PROFILE_SWITCH, 'off')
    assert not [a for a in _load(LAUNCH_FILES[0]).actions
                if isinstance(a, _Recorded) and a.kwargs['_kind'] == 'setenv']
