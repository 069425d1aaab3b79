"""`ros2 launch` descriptions built from `memory_nodes.launch.stacks` (needs launch + launch_ros).

Imported only by the files in launch/, on machines with a full ROS 2 install. A stack's
arguments become launch arguments (`ros2 launch embodied_memory sim_stack.launch.py
record:=true record_path:=run.mcap`): a node with a `condition` starts only when that
argument is true, an argument with a `parameter` sets that node parameter.

The nodes get the project's Fast DDS shared-memory profile (large images on one host,
`config/fastdds_shm.xml`) through FASTDDS_DEFAULT_PROFILES_FILE, unless the shell that runs
`ros2 launch` set a profile of its own or EMBODIED_MEMORY_SHM_PROFILE=off.
"""

from __future__ import annotations

import os

from memory_nodes.launch.ros_env import profile_environment
from memory_nodes.launch.stacks import PACKAGE, config_dir, get_stack, node_parameters


def launch_description(stack_name: str):  # noqa: ANN201 - launch types are optional deps
    """A LaunchDescription starting every node of the stack with its YAML parameters."""
    from launch_ros.actions import Node

    from launch import LaunchDescription

    stack = get_stack(stack_name)
    actions = []
    profile = profile_environment(os.environ)
    if profile:
        from launch.actions import SetEnvironmentVariable

        actions += [SetEnvironmentVariable(name, value) for name, value in profile.items()]
    if stack.arguments:
        from launch.actions import DeclareLaunchArgument

        actions += [DeclareLaunchArgument(a.name, default_value=a.default,
                                          description=a.description)
                    for a in stack.arguments]
    for spec in stack.nodes:
        parameters = [str(config_dir() / spec.config), node_parameters(stack, spec)]
        from_arguments = {a.parameter[1]: a.name for a in stack.arguments
                          if a.parameter is not None and a.parameter[0] == spec.name}
        if from_arguments:
            from launch.substitutions import LaunchConfiguration
            from launch_ros.parameter_descriptions import ParameterValue

            # value_type=str: an empty path stays a string (not YAML's null).
            parameters.append({param: ParameterValue(LaunchConfiguration(arg), value_type=str)
                               for param, arg in from_arguments.items()})
        extra = {}
        if spec.condition:
            from launch.conditions import IfCondition
            from launch.substitutions import LaunchConfiguration

            extra['condition'] = IfCondition(LaunchConfiguration(spec.condition))
        actions.append(
            Node(
                package=PACKAGE,
                executable=spec.executable,
                name=spec.name,
                output='screen',
                emulate_tty=True,
                parameters=parameters,
                remappings=list(spec.remappings),
                **extra,
            )
        )
    return LaunchDescription(actions)
