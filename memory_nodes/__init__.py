"""embodied_memory: long- and short-term memory, planning and simulation for household robots.

The core subpackages (`memory`, `perception`, `planner`) never import rclpy; the ROS 2
glue lives in `nodes` and `conversions`.
"""

__version__ = '0.1.0'
