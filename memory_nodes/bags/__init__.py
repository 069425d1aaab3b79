"""Bags in, memory out: writing, reading and replaying MCAP recordings (rosbag2-compatible).

IO for bags; imports the cores, never rclpy (the recorder and the publishing player live
in `ros`).
"""
