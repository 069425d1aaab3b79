"""Write a robot-like bag of a PyBullet home with the third-party `rosbags` library.

What a team's robot would record, not what our own nodes publish: a TF tree with the
usual robot frame names (`map -> odom -> base_footprint -> camera_link ->
camera_color_optical_frame`, static and dynamic parts, the dynamic ones sampled at another
rate than the camera so a pose at an image stamp needs interpolation), JPEG
`sensor_msgs/CompressedImage` colour, 16UC1 millimetre depth and camera info on
RealSense-style topic names, and the simulator's segmentation (32SC1 + instances JSON) on
topics of its own. At each viewpoint the robot turns slowly in place; images and TF are
computed from the same motion, so the replayed camera pose must equal the rendered one.
The bag is a rosbag2 folder with MCAP storage and the standard ROS 2 message definitions
(`rosbags` typestore), written by code that is not ours. Also returns the ground truth.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memory_nodes.domain.skills import SkillCall, SkillTarget
from memory_nodes.perception.image_decoding import encode_jpeg
from memory_nodes.perception.transforms import make_transform, matrix_to_quaternion

TOPICS = {'rgb': '/camera/color/image_raw/compressed',
          'depth': '/camera/aligned_depth_to_color/image_raw',
          'camera_info': '/camera/color/camera_info',
          'segmentation': '/sim/segmentation', 'instances': '/sim/instances'}
OPTICAL = 'camera_color_optical_frame'
#: camera_link (x forward, z up) <- optical (z forward, x right, y down).
LINK_TO_OPTICAL_Q = (-0.5, 0.5, -0.5, 0.5)
MAP_TO_ODOM = ((0.4, -0.25, 0.0), 0.15)  # (translation, yaw) of odom in map


def remap_args() -> list[str]:
    """The `--map` items that replay this bag."""
    return [f'{topic}={name}' for name, topic in TOPICS.items()]


@dataclass
class RobotBag:
    """Where the bag is and what was in front of the camera."""

    path: Path
    frames: int
    duration: float
    truth: dict[str, Any]  # object id -> ObjectTruth of the home
    pixels: Counter = field(default_factory=Counter)  # object id -> frames seen (>= px)
    camera_poses: dict[float, np.ndarray] = field(default_factory=dict)

    def seen_well(self, min_frames: int = 3) -> list[tuple[str, np.ndarray]]:
        """(label, centroid) of small objects seen well in at least `min_frames` frames."""
        return [(t.object_type, np.asarray(t.position, float)) for oid, t in self.truth.items()
                if t.kind == 'object' and self.pixels[oid] >= min_frames]


def _yaw_matrix(x: float, y: float, yaw: float, z: float = 0.0) -> np.ndarray:
    return make_transform((x, y, z), (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)))


def _stamp(ts: Any, t: float) -> Any:
    sec = int(math.floor(t))
    return ts.types['builtin_interfaces/msg/Time'](sec=sec, nanosec=int(round((t - sec) * 1e9))
                                                   % 1_000_000_000)


def write_robot_bag(out: str | Path, home: int = 2, anchors: tuple[str, ...] = (
        'CounterTop', 'DiningTable', 'Sofa'), frames_per_view: int = 8, camera_hz: float = 5.0,
        tf_hz: float = 7.0, turn_rate: float = 0.12, width: int = 320, height: int = 240,
        min_pixels: int = 150) -> RobotBag:
    """Render viewpoints near up to three anchor furniture types; write the bag at `out`."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from sim.camera import visible_instances
    from sim.pybullet_sim import PyBulletSimulator

    ts = get_typestore(Stores.ROS2_KILTED)
    T = ts.types  # noqa: N806 - message classes
    sim = PyBulletSimulator(width=width, height=height)
    try:
        sim.reset(home)
        truth = sim.ground_truth()
        out = Path(out)
        link_to_optical = make_transform((0, 0, 0), LINK_TO_OPTICAL_Q)
        map_to_odom = _yaw_matrix(*MAP_TO_ODOM[0][:2], MAP_TO_ODOM[1])
        bag = RobotBag(out, 0, 0.0, truth)
        with Writer(out, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            conns = {
                'tf': writer.add_connection('/tf', 'tf2_msgs/msg/TFMessage', typestore=ts),
                'tf_static': writer.add_connection('/tf_static', 'tf2_msgs/msg/TFMessage',
                                                   typestore=ts),
                'rgb': writer.add_connection(TOPICS['rgb'], 'sensor_msgs/msg/CompressedImage',
                                             typestore=ts),
                'depth': writer.add_connection(TOPICS['depth'], 'sensor_msgs/msg/Image',
                                               typestore=ts),
                'camera_info': writer.add_connection(TOPICS['camera_info'],
                                                     'sensor_msgs/msg/CameraInfo',
                                                     typestore=ts),
                'segmentation': writer.add_connection(TOPICS['segmentation'],
                                                      'sensor_msgs/msg/Image', typestore=ts),
                'instances': writer.add_connection(TOPICS['instances'], 'std_msgs/msg/String',
                                                   typestore=ts),
            }

            def write(name: str, t: float, msg: Any) -> None:
                writer.write(conns[name], int(round(t * 1e9)),
                             ts.serialize_cdr(msg, msg.__msgtype__))

            def header(t: float, frame: str) -> Any:
                return T['std_msgs/msg/Header'](stamp=_stamp(ts, t), frame_id=frame)

            def tf_item(t: float, parent: str, child: str, m: np.ndarray) -> Any:
                qx, qy, qz, qw = matrix_to_quaternion(m[:3, :3])
                return T['geometry_msgs/msg/TransformStamped'](
                    header=header(t, parent), child_frame_id=child,
                    transform=T['geometry_msgs/msg/Transform'](
                        translation=T['geometry_msgs/msg/Vector3'](
                            x=float(m[0, 3]), y=float(m[1, 3]), z=float(m[2, 3])),
                        rotation=T['geometry_msgs/msg/Quaternion'](x=qx, y=qy, z=qz, w=qw)))

            t0, link_in_base = 1.0, None
            wrote_static = False
            for anchor in anchors:
                target = next((o for o, th in sim.things.items()
                               if th.object_type == anchor), None)
                if target is None:
                    continue
                if not sim.execute(SkillCall('navigate_to', SkillTarget(object_id=target))
                                   ).success:
                    continue
                x, y, yaw0 = sim.robot_pose()
                span = (frames_per_view - 1) / camera_hz
                mid = t0 + span / 2

                def yaw_of(t: float, mid: float = mid, yaw0: float = yaw0) -> float:
                    return yaw0 + turn_rate * (t - mid)  # turning slowly in place

                # The camera's mount on the base, from the simulator's own camera pose.
                sim.robot.set_pose(x, y, yaw_of(t0))
                frame = sim.render()
                base = _yaw_matrix(x, y, yaw_of(t0))
                mount = np.linalg.inv(base) @ frame.camera_to_map @ np.linalg.inv(link_to_optical)
                if link_in_base is not None and not np.allclose(mount, link_in_base, atol=1e-6):
                    raise RuntimeError('the head camera mount changed between viewpoints')
                link_in_base = mount
                if not wrote_static:
                    write('tf_static', t0 - 0.5, T['tf2_msgs/msg/TFMessage'](transforms=[
                        tf_item(t0 - 0.5, 'base_footprint', 'camera_link', mount),
                        tf_item(t0 - 0.5, 'camera_link', OPTICAL, link_to_optical)]))
                    wrote_static = True
                # Dynamic TF at its own rate, from a little before to a little after.
                events: list[tuple[float, str, Any]] = []
                n_tf = int(math.ceil((span + 0.4) * tf_hz)) + 1
                for i in range(n_tf):
                    t = t0 - 0.2 + i / tf_hz + 0.013
                    odom_base = np.linalg.inv(map_to_odom) @ _yaw_matrix(x, y, yaw_of(t))
                    events.append((t, 'tf', T['tf2_msgs/msg/TFMessage'](transforms=[
                        tf_item(t, 'map', 'odom', map_to_odom),
                        tf_item(t, 'odom', 'base_footprint', odom_base)])))
                for i in range(frames_per_view):
                    t = t0 + i / camera_hz
                    sim.robot.set_pose(x, y, yaw_of(t))
                    frame = sim.render()
                    bag.camera_poses[round(t, 6)] = frame.camera_to_map
                    events += _camera_messages(ts, t, frame, visible_instances(
                        frame, truth, sim.holding()), header)
                    seg = frame.segmentation
                    for inst, oid in frame.instance_to_object.items():
                        if int((seg == inst).sum()) >= min_pixels:
                            bag.pixels[oid] += 1
                    bag.frames += 1
                for t, name, msg in sorted(events, key=lambda e: e[0]):
                    write(name, t, msg)
                t0 += span + 1.5
            bag.duration = t0 - 1.5 + 0.2
        return bag
    finally:
        sim.close()


def _camera_messages(ts: Any, t: float, frame: Any, instances: dict[int, Any],
                     header: Any) -> list[tuple[float, str, Any]]:
    T = ts.types  # noqa: N806
    h, w = frame.depth.shape
    hdr = header(t, OPTICAL)
    rgb = T['sensor_msgs/msg/CompressedImage'](
        header=hdr, format='rgb8; jpeg compressed bgr8',
        data=np.frombuffer(encode_jpeg(frame.rgb), dtype=np.uint8))
    depth = np.nan_to_num(frame.depth, nan=0.0, posinf=0.0, neginf=0.0)
    mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype('<u2')
    depth_msg = T['sensor_msgs/msg/Image'](header=hdr, height=h, width=w, encoding='16UC1',
                                           is_bigendian=0, step=w * 2,
                                           data=mm.view(np.uint8).ravel())
    seg = np.ascontiguousarray(frame.segmentation, dtype='<i4')
    seg_msg = T['sensor_msgs/msg/Image'](header=hdr, height=h, width=w, encoding='32SC1',
                                         is_bigendian=0, step=w * 4,
                                         data=seg.view(np.uint8).ravel())
    k = np.asarray(frame.intrinsics, float)
    p = np.zeros((3, 4))
    p[:3, :3] = k
    info = T['sensor_msgs/msg/CameraInfo'](
        header=hdr, height=h, width=w, distortion_model='plumb_bob', d=np.zeros(5),
        k=k.ravel(), r=np.eye(3).ravel(), p=p.ravel(), binning_x=0, binning_y=0,
        roi=T['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                                  do_rectify=False))
    text = json.dumps({'stamp': t, 'instances': {str(i): v for i, v in instances.items()}})
    return [(t, 'rgb', rgb), (t, 'depth', depth_msg), (t, 'camera_info', info),
            (t, 'segmentation', seg_msg),
            (t, 'instances', T['std_msgs/msg/String'](data=text))]
