"""Bags: reading and writing recordings (MCAP, rosbag2-compatible); IO only, never rclpy."""
