"""Process launch: the node sets (stacks), the pip-install launcher, ROS environment defaults.

`stacks` is the one source of truth for both `ros2 launch` (launch/*.launch.py, through
`ros_launch`) and the project's own `embodied-memory launch`.
"""
