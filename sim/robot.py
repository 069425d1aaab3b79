"""The mobile robot: a kinematic base that drives along place-graph paths, a tilting head camera.

The base is moved kinematically between waypoints (the place graph guarantees the
segments avoid walls and furniture); time is charged by distance and turning at fixed
speeds. The hand is a point in front of the base where a grasped object is held. The head
tilts (pitch below horizontal, within `TILT_MIN`..`TILT_MAX`) to look into low drawers and
cabinets; it is robot state, `CAMERA_PITCH` until a skill tilts it.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p

from sim.camera import optical_pose
from sim.geometry import rotate, wrap_angle
from sim.world_builder import quat

LINEAR_SPEED = 0.6  # m/s
TURN_SPEED = 1.5  # rad/s
CAMERA_HEIGHT = 1.25
CAMERA_FORWARD = 0.12
CAMERA_PITCH = math.radians(25.0)  # the head's default tilt below horizontal
TILT_MIN = math.radians(-10.0)  # head joint limits, radians below horizontal (up < 0)
TILT_MAX = math.radians(60.0)
HAND_OFFSET = (0.38, 0.0, 1.0)  # x forward, y left, z up from the base origin
REACH = 1.35  # metres from the base centre to what the hand can touch


class Robot:
    """Kinematic mobile base with a head camera and a one-object hand."""

    def __init__(self, cid: int) -> None:
        self.cid = cid
        self.x = self.y = self.yaw = 0.0
        self.waypoint: str | None = None
        self.tilt = CAMERA_PITCH
        col = -1
        vis_base = p.createVisualShape(p.GEOM_CYLINDER, radius=0.22, length=0.35,
                                       rgbaColor=(0.25, 0.25, 0.3, 1), physicsClientId=cid)
        vis_head = p.createVisualShape(p.GEOM_BOX, halfExtents=(0.08, 0.12, 0.06),
                                       rgbaColor=(0.9, 0.9, 0.95, 1), physicsClientId=cid)
        self.body = p.createMultiBody(
            0.0, col, vis_base, (0, 0, 0.175), physicsClientId=cid,
            linkMasses=[0.0], linkCollisionShapeIndices=[-1], linkVisualShapeIndices=[vis_head],
            linkPositions=[(0.0, 0.0, CAMERA_HEIGHT - 0.175)], linkOrientations=[(0, 0, 0, 1)],
            linkInertialFramePositions=[(0, 0, 0)], linkInertialFrameOrientations=[(0, 0, 0, 1)],
            linkParentIndices=[0], linkJointTypes=[p.JOINT_FIXED], linkJointAxis=[(0, 0, 1)])

    def set_pose(self, x: float, y: float, yaw: float) -> None:
        """Place the base at (x, y) facing `yaw`."""
        self.x, self.y, self.yaw = x, y, wrap_angle(yaw)
        p.resetBasePositionAndOrientation(self.body, (x, y, 0.175), quat(self.yaw),
                                          physicsClientId=self.cid)

    def pose(self) -> tuple[float, float, float]:
        """(x, y, yaw) in `map`."""
        return self.x, self.y, self.yaw

    def face(self, x: float, y: float) -> float:
        """Turn towards (x, y); returns the angle turned (radians, absolute)."""
        if math.hypot(x - self.x, y - self.y) < 1e-6:
            return 0.0
        target = math.atan2(y - self.y, x - self.x)
        turn = abs(wrap_angle(target - self.yaw))
        self.set_pose(self.x, self.y, target)
        return turn

    def set_tilt(self, tilt: float) -> float:
        """Tilt the head to `tilt` radians below horizontal; returns the angle moved.

        Raises ValueError naming the value when it is outside the joint limits.
        """
        if not TILT_MIN - 1e-9 <= tilt <= TILT_MAX + 1e-9:  # also false for NaN
            raise ValueError(
                f'head tilt {tilt!r} rad ({math.degrees(tilt):.1f} deg) is outside the '
                f'joint limits {math.degrees(TILT_MIN):.0f}..{math.degrees(TILT_MAX):.0f} deg')
        moved, self.tilt = abs(tilt - self.tilt), float(tilt)
        return moved

    def hand_position(self) -> tuple[float, float, float]:
        """Where a held object's centre is, in `map`."""
        dx, dy = rotate(self.yaw, HAND_OFFSET[0], HAND_OFFSET[1])
        return self.x + dx, self.y + dy, HAND_OFFSET[2]

    def camera_pose(self) -> np.ndarray:
        """4x4 optical-frame pose of the head camera in `map`."""
        dx, dy = rotate(self.yaw, CAMERA_FORWARD, 0.0)
        return optical_pose(self.x + dx, self.y + dy, CAMERA_HEIGHT, self.yaw, self.tilt)

    def distance_to(self, x: float, y: float) -> float:
        """Horizontal distance from the base centre to (x, y)."""
        return math.hypot(x - self.x, y - self.y)
