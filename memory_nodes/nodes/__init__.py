"""Thin rclpy nodes: convert messages, call the cores, publish results."""
