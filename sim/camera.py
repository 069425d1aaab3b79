"""The robot's head RGB-D camera: TinyRenderer images, instance masks, K and pose in `map`.

The optical frame follows REP 103's camera convention (z forward, x right, y down).
Depth is the z-distance along the optical axis in metres (NaN where nothing was hit), so a
pixel (u, v) with depth d back-projects to K^-1 [u, v, 1]^T * d in the optical frame.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import pybullet as p

from memory_nodes.domain.ontology import VISIBLE_STATES
from sim.interface import CameraFrame, ObjectTruth

NEAR, FAR = 0.05, 20.0
#: Raw frames `HeadCamera` keeps per process (`render_cache_frames`; about 0.7 MB each at
#: 320x240, so 270 MB at most). Exploring re-renders the same views of an unchanged home
#: often: the same room again in a later task, the same first look under every memory
#: condition of an episode, and every look of two conditions that act alike.
RENDER_CACHE_FRAMES = 384


class _RenderCache:
    """Raw TinyRenderer outputs by (camera, view, scene, state of every body), LRU-bounded.

    TinyRenderer is deterministic: the same bodies with the same shapes, colours and poses
    seen through the same matrices give the same pixels, so a hit returns exactly what a
    fresh render would. The key reads every body's pose and visual shape data back from
    PyBullet (a moved, recoloured, rebuilt or removed body changes it); `scene` names the
    home the bodies were built from (mesh vertices are not readable back). Shared by every
    camera in the process, so one episode's conditions reuse each other's views.
    """

    def __init__(self) -> None:
        self.frames: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = \
            OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: tuple, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        if limit <= 0:
            return None
        raw = self.frames.get(key)
        if raw is None:
            self.misses += 1
            return None
        self.frames.move_to_end(key)
        self.hits += 1
        return raw

    def put(self, key: tuple, raw: tuple[np.ndarray, np.ndarray, np.ndarray],
            limit: int) -> None:
        if limit <= 0:
            return
        self.frames[key] = raw
        while len(self.frames) > limit:
            self.frames.popitem(last=False)


_RENDERS = _RenderCache()


def world_state(cid: int) -> tuple:
    """Every body's id, base pose and visual shapes in client `cid` (what a render shows)."""
    out = []
    for i in range(p.getNumBodies(physicsClientId=cid)):
        body = p.getBodyUniqueId(i, physicsClientId=cid)
        out.append((body, p.getBasePositionAndOrientation(body, physicsClientId=cid),
                    tuple(p.getVisualShapeData(body, physicsClientId=cid))))
    return tuple(out)


def intrinsics(width: int, height: int, vfov_deg: float) -> np.ndarray:
    """Pinhole K (3x3) for an image of `width` x `height` with vertical field of view."""
    fy = (height / 2) / math.tan(math.radians(vfov_deg) / 2)
    return np.array([[fy, 0.0, (width - 1) / 2], [0.0, fy, (height - 1) / 2],
                     [0.0, 0.0, 1.0]])


def optical_pose(x: float, y: float, z: float, yaw: float, pitch: float) -> np.ndarray:
    """4x4 pose in `map` of an optical frame at (x, y, z) looking along yaw, tilted down."""
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    z_axis = np.array([cy * cp, sy * cp, -sp])  # forward
    x_axis = np.array([sy, -cy, 0.0])  # right
    y_axis = np.cross(z_axis, x_axis)  # down
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x_axis, y_axis, z_axis, (x, y, z)
    return pose


class HeadCamera:
    """Renders CameraFrames from an optical pose with PyBullet's TinyRenderer."""

    def __init__(self, cid: int, width: int = 320, height: int = 240,
                 vfov_deg: float = 60.0, scene: str = '',
                 render_cache_frames: int = RENDER_CACHE_FRAMES) -> None:
        """A camera in PyBullet client `cid`.

        `scene` names what was built in `cid` (e.g. a digest of the home spec); frames are
        reused only within the same scene, and only with a non-empty one.
        """
        self.cid = cid
        self.scene = scene
        self.render_cache_frames = render_cache_frames if scene else 0
        self.width, self.height, self.vfov_deg = width, height, vfov_deg
        self.K = intrinsics(width, height, vfov_deg)
        self._proj = p.computeProjectionMatrixFOV(vfov_deg, width / height, NEAR, FAR,
                                                  physicsClientId=cid)
        self._lookup = np.full(1, -1, dtype=np.int32)
        self._instances: dict[int, str] = {}

    def set_instances(self, body_to_object: dict[int, str], main_body: dict[str, int]) -> None:
        """Which body belongs to which object; the instance id is the object's main body."""
        size = max(list(body_to_object) + [0]) + 2
        self._lookup = np.full(size, -1, dtype=np.int32)
        for body, object_id in body_to_object.items():
            self._lookup[body] = main_body[object_id]
        self._instances = {main_body[o]: o for o in set(body_to_object.values())}

    def _raw(self, view: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb, z-buffer, body segmentation) from `view`, rendered or from the cache."""
        limit = self.render_cache_frames
        key = None
        if limit > 0:
            key = (self.scene, self.width, self.height, tuple(self._proj), view,
                   world_state(self.cid))
            cached = _RENDERS.get(key, limit)
            if cached is not None:
                rgb, zbuf, seg = cached
                return rgb.copy(), zbuf.copy(), seg.astype(np.int32)
        _, _, rgba, zbuf, seg = p.getCameraImage(
            self.width, self.height, list(view), self._proj, renderer=p.ER_TINY_RENDERER,
            shadow=0, physicsClientId=self.cid)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3]
        zbuf = np.asarray(zbuf, dtype=np.float32).reshape(self.height, self.width)
        seg = np.asarray(seg, dtype=np.int32).reshape(self.height, self.width)
        if key is not None:
            small = seg.astype(np.int16) if seg.size and seg.min() >= -1 and \
                seg.max() < np.iinfo(np.int16).max else seg.copy()
            _RENDERS.put(key, (np.ascontiguousarray(rgb), zbuf.copy(), small), limit)
        return rgb, zbuf, seg

    def render(self, pose: np.ndarray, stamp: float) -> CameraFrame:
        """Render RGB, depth and instance segmentation from optical pose `pose` (4x4)."""
        eye = pose[:3, 3]
        target = eye + pose[:3, 2]
        up = -pose[:3, 1]
        view = p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist(),
                                   physicsClientId=self.cid)
        rgb, zbuf, seg = self._raw(tuple(view))
        depth = (FAR * NEAR / (FAR - (FAR - NEAR) * zbuf)).astype(np.float32)
        depth[seg < 0] = np.nan
        body = np.where((seg >= 0) & (seg < len(self._lookup)), seg, len(self._lookup) - 1)
        inst = self._lookup[body]
        inst[seg < 0] = -1
        present = {int(i) for i in np.unique(inst) if i >= 0}
        return CameraFrame(
            rgb=np.ascontiguousarray(rgb), depth=depth, segmentation=inst,
            instance_to_object={i: self._instances[i] for i in present},
            intrinsics=self.K.copy(), camera_to_map=pose.copy(), stamp=stamp)


def visible_instances(frame: CameraFrame, truth: Mapping[str, ObjectTruth],
                      held: str | None = None) -> dict[int, dict[str, object]]:
    """Instance id -> {'label', 'states', 'held'} for the instances in `frame`.

    `held` is the object id in the robot's gripper: a robot knows what it carries and
    masks it out, or the thing it carries would be mapped all along its path.
    """
    out = {}
    for inst, object_id in frame.instance_to_object.items():
        t = truth.get(object_id)
        if t is None:
            continue
        out[inst] = {'label': t.object_type,
                     'states': {k: v for k, v in t.states.items() if k in VISIBLE_STATES},
                     'held': object_id == held}
    return out
