"""Bags in, memory out: reading MCAP bags and replaying them through perception and memory.

IO for bags; imports the cores, never rclpy (the publishing player lives in `ros`).
"""
