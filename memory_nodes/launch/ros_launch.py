"""`ros2 launch` descriptions built from `memory_nodes.launch.stacks` (needs launch + launch_ros).

Imported only by the files in launch/, on machines with a full ROS 2 install.
"""

from __future__ import annotations

from memory_nodes.launch.stacks import PACKAGE, config_dir, get_stack, node_parameters


def launch_description(stack_name: str):  # noqa: ANN201 - launch types are optional deps
    """A LaunchDescription starting every node of the stack with its YAML parameters."""
    from launch_ros.actions import Node

    from launch import LaunchDescription

    stack = get_stack(stack_name)
    actions = []
    for spec in stack.nodes:
        actions.append(
            Node(
                package=PACKAGE,
                executable=spec.executable,
                name=spec.name,
                output='screen',
                emulate_tty=True,
                parameters=[str(config_dir() / spec.config), node_parameters(stack, spec)],
                remappings=list(spec.remappings),
            )
        )
    return LaunchDescription(actions)
