"""ROS 2 glue: thin rclpy nodes, message conversions, QoS, parameters, one stack client.

Nodes convert messages and call the cores (`memory`, `perception`, `planner`); nothing
below this package imports rclpy.
"""
