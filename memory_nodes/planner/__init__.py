"""Planner core: skills vocabulary, grounded planner, prompts and model backends (no rclpy)."""
