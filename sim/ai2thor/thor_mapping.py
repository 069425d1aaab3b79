"""The pure half of the AI2-THOR backend: AI2-THOR data and actions <-> our interface types.

Nothing here needs AI2-THOR, so it is tested on the real FloorPlan1 dump: ground truth is
the scene importer's conversion (`truth_from_metadata`), skills map to AI2-THOR actions
(`skill_action`), frames come from events (`frame_from_event`), poses go through
`sim.ai2thor.frames`. The live part is `sim.ai2thor.backend.AI2ThorSimulator`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from memory_nodes.domain.skills import SkillCall
from sim.ai2thor.frames import (
    rep103_to_unity,
    rep103_yaw_to_unity,
    unity_to_rep103,
    unity_yaw_to_rep103,
)
from sim.ai2thor.scene_importer import convert_object, find_parent
from sim.camera import optical_pose
from sim.catalog import CATALOG, WORLD_ONTOLOGY
from sim.interface import CameraFrame, ObjectTruth

#: Our primitive skills -> AI2-THOR interaction actions (navigation is handled apart).
SKILL_ACTIONS = {'pick_up': 'PickupObject', 'put': 'PutObject', 'open': 'OpenObject',
                 'close': 'CloseObject', 'toggle_on': 'ToggleObjectOn',
                 'toggle_off': 'ToggleObjectOff', 'slice': 'SliceObject'}

#: State keys the scripted person sets -> (action when True, action when False).
STATE_ACTIONS = {'open': ('OpenObject', 'CloseObject'),
                 'toggled': ('ToggleObjectOn', 'ToggleObjectOff'),
                 'dirty': ('DirtyObject', 'CleanObject'),
                 'filled': ('FillObjectWithLiquid', 'EmptyLiquidFromObject'),
                 'used_up': ('UseUpObject', None), 'cooked': ('CookObject', None),
                 'sliced': ('SliceObject', None)}

#: AI2-THOR error message fragments -> our failure reasons.
ERROR_REASONS = (('not visible', 'out_of_reach'), ('too far', 'out_of_reach'),
                 ('not interactable', 'out_of_reach'), ('already holding', 'hand_full'),
                 ('nothing in hand', 'hand_empty'), ('not pickupable', 'not_pickupable'),
                 ('is not open', 'receptacle_closed'), ('closed', 'receptacle_closed'),
                 ('not a receptacle', 'not_a_receptacle'), ('no valid positions', 'no_space'),
                 ('not openable', 'not_openable'), ('not toggleable', 'not_toggleable'),
                 ('already', 'already_done'), ('knife', 'no_knife'))

CAMERA_HEIGHT = 1.5  # AI2-THOR's default agent camera height, metres


class AI2ThorUnavailable(RuntimeError):
    """AI2-THOR cannot run here; the message names what is missing."""


def import_controller() -> Any:
    """`ai2thor.controller.Controller`, or `AI2ThorUnavailable` naming what is missing."""
    try:
        from ai2thor.controller import Controller
    except ImportError as err:
        raise AI2ThorUnavailable(
            "the AI2-THOR backend needs the 'ai2thor' Python package (pip install "
            "ai2thor==5.0.0), an X display or Vulkan for CloudRendering, and network access "
            f'to download the Unity build on first start; missing: {err.name or err}') from err
    return Controller


# ---------------------------------------------------------------------------- pure mapping
def truth_from_metadata(objects: list[dict[str, Any]], held: str | None = None
                        ) -> dict[str, ObjectTruth]:
    """AI2-THOR `metadata['objects']` -> ground truth by objectId, with the importer's code."""
    converted = [convert_object(raw, WORLD_ONTOLOGY) for raw in objects]
    by_id = {o.object_id: o for o in converted}
    out = {}
    for raw, o in zip(objects, converted):
        parents = [by_id[p] for p in (raw.get('parentReceptacles') or []) if p in by_id]
        parent = min(parents, key=lambda t: math.prod(t.size[:2]), default=None)
        if parent is None and o.role == 'object' and o.object_id != held:
            parent = find_parent(o, converted)
        spec = CATALOG.get(o.object_type or '')
        relation = CATALOG[parent.object_type].receptacle if parent and parent.object_type \
            and parent.object_type in CATALOG else None
        out[o.object_id] = ObjectTruth(
            o.object_id, o.object_type or o.ai2thor_type,
            'object' if o.role == 'object' else 'furniture', o.centre, o.aabb_min,
            o.aabb_max, 'kitchen', dict(o.states), parent.object_id if parent else None,
            relation, pickupable=bool(raw.get('pickupable', spec and spec.pickupable)),
            receptacle=bool(raw.get('receptacle', spec and spec.is_receptacle)),
            openable=bool(raw.get('openable', spec and spec.openable)),
            toggleable=bool(raw.get('toggleable', spec and spec.toggleable)))
    return out


def skill_action(call: SkillCall, object_id: str | None,
                 receptacle_id: str | None = None) -> dict[str, Any]:
    """The AI2-THOR action dict for an interaction skill on resolved objectIds."""
    if call.name not in SKILL_ACTIONS:
        raise ValueError(f'{call.name!r} is not an interaction skill '
                         f'(known: {", ".join(SKILL_ACTIONS)})')
    if call.name == 'put':
        if receptacle_id is None:
            raise ValueError('put needs a receptacle objectId')
        return {'action': 'PutObject', 'objectId': receptacle_id, 'forceAction': False}
    if object_id is None:
        raise ValueError(f'{call.name} needs an objectId')
    return {'action': SKILL_ACTIONS[call.name], 'objectId': object_id}


def failure_reason(error_message: str) -> str:
    """Our failure reason for an AI2-THOR `errorMessage`."""
    text = (error_message or '').lower()
    for fragment, reason in ERROR_REASONS:
        if fragment in text:
            return reason
    return 'action_failed'


def teleport_action(x: float, y: float, yaw: float, floor_z: float = 0.9,
                    horizon_deg: float = 30.0) -> dict[str, Any]:
    """A `Teleport` to map pose (x, y, yaw); `floor_z` is the agent's Unity y (kept)."""
    position = rep103_to_unity((x, y, floor_z))
    return {'action': 'Teleport', 'position': position,
            'rotation': {'x': 0.0, 'y': rep103_yaw_to_unity(yaw), 'z': 0.0},
            'horizon': horizon_deg, 'standing': True}


def agent_pose(metadata: Mapping[str, Any]) -> tuple[float, float, float]:
    """The agent's base pose (x, y, yaw) in `map` from an event's metadata."""
    agent = metadata['agent']
    x, y, _ = unity_to_rep103(agent['position'])
    return x, y, unity_yaw_to_rep103(float(agent['rotation']['y']))


def intrinsics(width: int, height: int, vfov_deg: float) -> np.ndarray:
    """K for AI2-THOR's pinhole camera (`fieldOfView` is vertical, pixels square)."""
    f = (height / 2) / math.tan(math.radians(vfov_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def segmentation_ids(colours: np.ndarray, colour_to_object: Mapping[tuple, str]
                     ) -> tuple[np.ndarray, dict[int, str]]:
    """Instance colours (H, W, 3) -> int32 ids (-1 where no object) and id -> objectId."""
    packed = (colours[..., 0].astype(np.int32) << 16) | (colours[..., 1].astype(np.int32) << 8) \
        | colours[..., 2].astype(np.int32)
    seg = np.full(packed.shape, -1, dtype=np.int32)
    mapping: dict[int, str] = {}
    for colour, object_id in colour_to_object.items():
        r, g, b = (int(v) for v in tuple(colour)[:3])
        mask = packed == ((r << 16) | (g << 8) | b)
        if mask.any():
            index = len(mapping)
            seg[mask] = index
            mapping[index] = object_id
    return seg, mapping


def frame_from_event(event: Any, vfov_deg: float, stamp: float) -> CameraFrame:
    """An AI2-THOR event -> `CameraFrame` (RGB, depth in metres, instance ids, pose)."""
    rgb = np.asarray(event.frame, dtype=np.uint8)
    height, width = rgb.shape[:2]
    depth = np.asarray(event.depth_frame, dtype=np.float32).copy()
    depth[depth <= 0] = np.nan
    seg, mapping = segmentation_ids(np.asarray(event.instance_segmentation_frame),
                                    event.color_to_object_id)
    meta = event.metadata
    x, y, yaw = agent_pose(meta)
    cam = meta.get('cameraPosition')
    z = unity_to_rep103(cam)[2] if cam else CAMERA_HEIGHT
    pitch = math.radians(float(meta['agent'].get('cameraHorizon', 0.0)))
    return CameraFrame(rgb, depth, seg, mapping, intrinsics(width, height, vfov_deg),
                       optical_pose(x, y, z, yaw, pitch), stamp)


def scene_name(scene: object) -> str:
    """'FloorPlan1' from 'ai2thor:FloorPlan1', 'FloorPlan1' or 1."""
    if isinstance(scene, bool):
        raise TypeError('scene must be an AI2-THOR scene name or FloorPlan number')
    if isinstance(scene, int):
        return f'FloorPlan{scene}'
    if isinstance(scene, str):
        return scene.split(':', 1)[1] if scene.startswith('ai2thor:') else scene
    raise TypeError(f'AI2-THOR scenes are names, not {type(scene).__name__} '
                    '(a HomeSpec runs in PyBulletSimulator)')


__all__ = ['AI2ThorUnavailable', 'SKILL_ACTIONS', 'STATE_ACTIONS', 'agent_pose',
           'failure_reason', 'frame_from_event', 'import_controller', 'intrinsics',
           'scene_name', 'segmentation_ids', 'skill_action', 'teleport_action',
           'truth_from_metadata']
