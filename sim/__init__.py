"""PyBullet household simulator, skills, goal checking and long-horizon task suites (no rclpy)."""
