"""What a recording of the stack holds by default, shared by the recorder and its command."""

from __future__ import annotations

#: The camera (colour, depth, info, pose), the base pose, TF, the simulator's
#: segmentation, state events and rooms, and the memory's outputs (scene-graph deltas,
#: markers). Relative names resolve in the recorder's namespace.
DEFAULT_TOPICS = (
    'rgb/image_raw', 'depth/image_raw', 'camera_info', 'camera/pose', 'base/pose',
    '/tf', '/tf_static', 'segmentation/image_raw', 'segmentation/instances',
    'object_state_events', 'rooms', 'scene_graph/deltas', 'scene_graph/markers',
)
#: Topics recorded reliable + transient local whatever their publishers offer (tf2's
#: static broadcaster latches; a recorder started late must still get the static tree).
ALWAYS_LATCHED = ('/tf_static',)
