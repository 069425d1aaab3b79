"""Pure memory core: scene graph, fusion, short-term buffer, retrieval and persistence.

Nothing here imports rclpy or message types; nodes convert at the boundary.
"""
