"""The node sets of this project: the one source of truth for both ways of launching.

`launch/*.launch.py` (for `ros2 launch` on a robot with a full ROS 2 install) and the
project's own launcher (`embodied-memory launch`, for pip installs where `launch` and
`launch_ros` do not exist) both read `STACKS`, so the two can never drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = 'embodied_memory'


@dataclass(frozen=True)
class NodeSpec:
    """One node of a stack: its ROS name, how to run it, and its parameter file."""

    name: str
    executable: str  # console script installed in lib/embodied_memory (for ros2 launch)
    module: str  # `python -m <module>` entry (for the project's own launcher)
    config: str  # file in config/ holding `<name>: ros__parameters:`
    remappings: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: A launch argument that must be true for this node to start ('' = always starts).
    condition: str = ''


@dataclass(frozen=True)
class LaunchArgument:
    """A `name:=value` argument of a stack (`ros2 launch ... record:=true`).

    `parameter`, when given, is (node, parameter) that receives the argument's value.
    """

    name: str
    default: str
    description: str
    parameter: tuple[str, str] | None = None


MEMORY = NodeSpec('memory', 'memory_node', 'memory_nodes.ros.memory_node', 'memory.yaml')
PERCEPTION = NodeSpec(
    'perception', 'perception_node', 'memory_nodes.ros.perception_node', 'perception.yaml'
)
PLANNER = NodeSpec('planner', 'planner_node', 'memory_nodes.ros.planner_node', 'planner.yaml')
SIM_BRIDGE = NodeSpec(
    'sim_bridge', 'sim_bridge_node', 'memory_nodes.ros.sim_bridge_node', 'sim_bridge.yaml'
)
RECORDER = NodeSpec('recorder', 'recorder_node', 'memory_nodes.ros.recorder_node',
                    'recorder.yaml', condition='record')
#: `record:=true record_path:=FILE.mcap`: record the stack's topics while it runs.
RECORD_ARGUMENTS = (
    LaunchArgument('record', 'false', 'also start the recorder (MCAP of the stack topics)'),
    LaunchArgument('record_path', '', "the recording's file ('' = recording_<time>.mcap)",
                   parameter=('recorder', 'output_path')),
)


#: The robot stack's detector: `detector:=yolo yolo_weights:=FILE detector_profile:=FILE`.
ROBOT_DETECTOR_ARGUMENTS = (
    LaunchArgument('detector', 'yolo', 'yolo (learned, RGB only) or sim_segmentation',
                   parameter=('perception', 'detector')),
    LaunchArgument('yolo_weights', '', "YOLO weights ('' = the shipped models/detector)",
                   parameter=('perception', 'yolo_weights')),
    LaunchArgument('detector_profile', 'shipped', "the detector's measured recall and "
                   "confusions for the memory: 'shipped', a metrics.json, or '' for none",
                   parameter=('memory', 'ltm.detector_profile')),
)


@dataclass(frozen=True)
class Stack:
    """A named set of nodes started together."""

    name: str
    nodes: tuple[NodeSpec, ...]
    use_sim_time: bool
    description: str
    #: Per-node parameters this stack sets on top of the YAML files.
    parameters: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    #: `name:=value` arguments (conditions of nodes, values of parameters).
    arguments: tuple[LaunchArgument, ...] = ()


STACKS: dict[str, Stack] = {
    s.name: s
    for s in (
        Stack(
            'sim_stack',
            (SIM_BRIDGE, PERCEPTION, MEMORY, PLANNER, RECORDER),
            use_sim_time=True,
            description='PyBullet home + perception + memory + planner, on simulated time',
            # The simulated camera delivers bursts (every view of an explore at once) and
            # the planner waits for memory to fuse them: queue them instead of dropping.
            # The camera pose comes from the bridge's TF tree, as on a robot; a burst can
            # queue frames for longer than tf2's usual 10 s of TF history.
            parameters=(('sim_bridge', (('reliable_sensors', True),)),
                        ('perception', (('frame_queue', 64), ('reliable_sensors', True),
                                        ('use_tf', True), ('tf_cache_time', 300.0))),
                        ('memory', (('frame_queue', 64), ('reliable_sensors', True)))),
            arguments=RECORD_ARGUMENTS,
        ),
        Stack(
            'robot_stack',
            (PERCEPTION, MEMORY, PLANNER),
            use_sim_time=False,
            description="perception + memory + planner on a real robot's camera topics",
            # A robot's drivers and localization publish TF, never our camera/pose topic.
            parameters=(('perception', (('use_tf', True),)),),
            # No simulator publishes masks on a robot: by default the learned detector, with
            # the weights shipped in models/detector, and the memory told their measured
            # recall and confusions (ROBOT_DETECTOR_ARGUMENTS).
            arguments=ROBOT_DETECTOR_ARGUMENTS,
        ),
        Stack(
            'memory_only',
            (MEMORY,),
            use_sim_time=False,
            description='the memory node alone (queries, save/load)',
        ),
    )
}


def get_stack(name: str) -> Stack:
    """The stack called `name`; a ValueError naming the known stacks otherwise."""
    try:
        return STACKS[name]
    except KeyError:
        raise ValueError(f'unknown stack {name!r}; known: {", ".join(sorted(STACKS))}') from None


def config_dir() -> Path:
    """Where the YAML parameter files are: $EMBODIED_MEMORY_CONFIG, the source tree, or share/."""
    override = os.environ.get('EMBODIED_MEMORY_CONFIG')
    if override:
        return Path(override)
    source = Path(__file__).resolve().parents[2] / 'config'  # memory_nodes/launch/ -> root
    if source.is_dir():
        return source
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(PACKAGE)) / 'config'


def node_parameters(stack: Stack, spec: NodeSpec) -> dict[str, object]:
    """Parameters set on top of the YAML file for `spec` in `stack`."""
    extra = dict(dict(stack.parameters).get(spec.name, ()))
    return {'use_sim_time': stack.use_sim_time, **extra}


def is_true(value: str) -> bool:
    """A launch argument's truth, as `launch`'s IfCondition reads it; ValueError otherwise."""
    text = str(value).strip().lower()
    if text in ('true', '1'):
        return True
    if text in ('false', '0'):
        return False
    raise ValueError(f'{value!r} is not a boolean (true/false/1/0)')


def resolve_arguments(stack: Stack, given: dict[str, str] | None = None) -> dict[str, str]:
    """The stack's argument values: defaults, then `given`; unknown names are refused."""
    known = {a.name: a.default for a in stack.arguments}
    unknown = sorted(set(given or {}) - set(known))
    if unknown:
        raise ValueError(f'stack {stack.name!r} has no argument {", ".join(unknown)}; known: '
                         f'{", ".join(sorted(known)) or "none"}')
    values = {**known, **(given or {})}
    for spec in stack.nodes:
        if spec.condition:
            try:
                is_true(values[spec.condition])
            except ValueError as exc:
                raise ValueError(f'{spec.condition}:={values[spec.condition]}: {exc}') from None
    return values


def started_nodes(stack: Stack, values: dict[str, str]) -> list[NodeSpec]:
    """The nodes that start with these argument values."""
    return [s for s in stack.nodes if not s.condition or is_true(values[s.condition])]


def argument_parameters(stack: Stack, spec: NodeSpec, values: dict[str, str]
                        ) -> dict[str, object]:
    """Parameters of `spec` set from argument values (e.g. record_path -> output_path)."""
    return {a.parameter[1]: values[a.name] for a in stack.arguments
            if a.parameter is not None and a.parameter[0] == spec.name}
