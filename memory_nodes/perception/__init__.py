"""Perception core: detectors, depth back-projection and camera geometry (no rclpy)."""
