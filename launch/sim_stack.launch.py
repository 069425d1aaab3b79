"""ros2 launch embodied_memory sim_stack.launch.py: the nodes of the 'sim_stack' stack.

The node set lives in memory_nodes/launch/stacks.py, shared with
`embodied-memory launch sim_stack`.
"""

from memory_nodes.launch.ros_launch import launch_description


def generate_launch_description():
    return launch_description('sim_stack')
