"""ros2 launch embodied_memory memory_only.launch.py: the nodes of the 'memory_only' stack.

The node set lives in memory_nodes/launch/stacks.py, shared with
`embodied-memory launch memory_only`.
"""

from memory_nodes.launch.ros_launch import launch_description


def generate_launch_description():
    return launch_description('memory_only')
