"""ros2 launch embodied_memory robot_stack.launch.py: the nodes of the 'robot_stack' stack.

The node set lives in memory_nodes/launch/stacks.py, shared with
`embodied-memory launch robot_stack`.
"""

from memory_nodes.launch.ros_launch import launch_description


def generate_launch_description():
    return launch_description('robot_stack')
