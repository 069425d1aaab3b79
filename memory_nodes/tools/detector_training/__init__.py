"""Training our detector: render a labelled dataset in the simulator, train, validate.

The trained weights carry their class list (`metrics.json` beside them), so the runtime
detector (`memory_nodes.perception.yolo_detector`) never needs the simulator.
"""
