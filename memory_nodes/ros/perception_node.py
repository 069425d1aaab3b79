"""The perception node: RGB-D frames -> ObjectObservationArray in `map`.

Subscribes `rgb/image_raw` (raw; or `rgb/image_raw/compressed`, JPEG/PNG, with
`rgb_transport:=compressed`), `depth/image_raw` (32FC1 m or 16UC1 mm), `camera_info` and
the camera pose, paired by stamp. With `use_tf` the pose is `map_frame` <- `camera_frame`
(default: the image's frame) at the image stamp from TF: tf2_ros when it is importable,
else the core `TfBuffer` fed from `/tf` and `/tf_static` (static and dynamic transforms,
chained and interpolated); without `use_tf`, a PoseStamped on `camera/pose`. A detector
chosen by parameter (`sim_segmentation`: the simulator's instance masks, which also needs
`segmentation/image_raw` + `segmentation/instances`; or `yolo`: an ultralytics
segmentation model from `yolo_weights`) finds objects; their masks are back-projected
with the depth image, voxel-downsampled and outlier-filtered (open3d), and published
with the source image's header stamp. The work runs off the executor in a bounded queue
that drops stale frames and counts them. Malformed frames are logged and dropped.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import Counter

import rclpy
from embodied_memory_msgs.msg import ObjectObservationArray
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger

from memory_nodes.perception.backprojection import BackprojectionConfig
from memory_nodes.perception.image_decoding import (
    colour_from_msg,
    compressed_colour_from_msg,
    depth_from_msg,
)
from memory_nodes.perception.observation_builder import ObservationBuilder, RgbdFrame
from memory_nodes.perception.sim_segmentation import (
    SimSegmentationDetector,
    instances_from_json,
)
from memory_nodes.perception.tf_tree import TfBuffer, TransformError, add_tf_message
from memory_nodes.ros import conversions as conv
from memory_nodes.ros.frame_worker import FrameWorker
from memory_nodes.ros.params import declare_config, describe
from memory_nodes.ros.qos import sensor_qos
from memory_nodes.ros.spin import run_node
from memory_nodes.ros.stamp_sync import StampSynchronizer

DETECTORS = {'sim_segmentation', 'yolo'}


@dataclasses.dataclass
class PerceptionConfig:
    """Parameters of the perception node."""

    detector: str = describe('sim_segmentation', 'sim_segmentation or yolo', choices=DETECTORS)
    yolo_weights: str = describe('', 'path to the YOLO segmentation weights (detector=yolo); '
                                 'empty: the weights shipped in models/detector')
    yolo_score_threshold: float = describe(
        -1.0, 'minimum YOLO detection score; negative: the threshold calibrated on the val '
        'homes when the weights were trained (metrics.json next to them), else 0.35',
        min=-1.0, max=1.0)
    map_frame: str = describe('map', 'frame observations are published in (REP 105)')
    use_tf: bool = describe(False, 'camera pose from TF (map_frame <- camera_frame) instead '
                            'of the camera/pose topic')
    camera_frame: str = describe('', "camera frame for the TF lookup (empty: the image's)")
    tf_topic: str = describe('/tf', 'dynamic transforms (without tf2_ros)')
    tf_static_topic: str = describe('/tf_static', 'static transforms (without tf2_ros)')
    tf_cache_time: float = describe(10.0, 'seconds of TF history kept', min=0.1)
    tf_tolerance: float = describe(0.05, 'extrapolation allowed past the TF samples (s)',
                                   min=0.0)
    tf_wait: float = describe(0.5, 'seconds a frame waits for TF to reach its stamp',
                              min=0.0)
    rgb_transport: str = describe('raw', 'colour as sensor_msgs/Image (raw) or '
                                  'CompressedImage JPEG/PNG (compressed)',
                                  choices={'raw', 'compressed'})
    min_depth: float = describe(0.15, 'nearest valid depth (m)', min=0.0)
    max_depth: float = describe(6.0, 'farthest valid depth (m)', min=0.1)
    voxel_size: float = describe(0.02, 'voxel downsampling size (m)', min=0.0)
    max_points: int = describe(1024, 'points per observation after downsampling', min=8)
    sync_tolerance: float = describe(0.02, 'stamp difference pairing one frame (s)', min=0.0)
    frame_queue: int = describe(2, 'frames waiting before the oldest is dropped', min=1)
    reliable_sensors: bool = describe(False, 'reliable QoS on camera topics (simulation)')


class PerceptionNode(Node):
    """Thin ROS wrapper around the detector + ObservationBuilder."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - rclpy Node kwargs
        super().__init__('perception', **kwargs)
        self.cfg = declare_config(self, PerceptionConfig)
        self.detector = self._make_detector()
        self.builder = ObservationBuilder(BackprojectionConfig(
            min_depth=self.cfg.min_depth, max_depth=self.cfg.max_depth,
            voxel_size=self.cfg.voxel_size, max_points=self.cfg.max_points))
        # open3d takes a second to import: pay it at start-up, not on the first frame.
        import open3d  # noqa: F401

        self.rejected: Counter = Counter()
        self.published = 0
        self._tf_lock = threading.Lock()
        self.tf_buffer = self._make_tf() if self.cfg.use_tf else None
        streams = ['rgb', 'depth', 'info']
        if self.tf_buffer is None:
            streams.append('pose')
        if self.detector.name == 'sim_segmentation':
            streams += ['seg', 'instances']
        self.sync = StampSynchronizer(streams, self._on_frame, self.cfg.sync_tolerance)
        self.worker: FrameWorker = FrameWorker(self._process, self.cfg.frame_queue,
                                               'perception', self._on_error)
        sensor = sensor_qos(self.cfg.reliable_sensors)
        self.pub = self.create_publisher(ObjectObservationArray, 'observations', sensor)
        if self.cfg.rgb_transport == 'compressed':
            self.create_subscription(CompressedImage, 'rgb/image_raw/compressed',
                                     self._stamped('rgb'), sensor)
        else:
            self.create_subscription(Image, 'rgb/image_raw', self._stamped('rgb'), sensor)
        self.create_subscription(Image, 'depth/image_raw', self._stamped('depth'), sensor)
        self.create_subscription(CameraInfo, 'camera_info', self._stamped('info'), sensor)
        if 'pose' in streams:
            self.create_subscription(PoseStamped, 'camera/pose', self._stamped('pose'), sensor)
        if 'seg' in streams:
            self.create_subscription(Image, 'segmentation/image_raw', self._stamped('seg'),
                                     sensor)
            self.create_subscription(String, 'segmentation/instances', self._on_instances,
                                     sensor)
        self.create_service(Trigger, 'perception_stats', self._on_stats)
        source = 'camera/pose' if self.tf_buffer is None else 'tf2_ros' if not isinstance(
            self.tf_buffer, TfBuffer) else f'{self.cfg.tf_topic} + {self.cfg.tf_static_topic}'
        self.get_logger().info(f'perception ready: detector {self.detector.name}, camera pose '
                               f'from {source}')

    # ---- set-up ------------------------------------------------------------------
    def _make_detector(self):  # noqa: ANN202 - a Detector
        if self.cfg.detector == 'sim_segmentation':
            return SimSegmentationDetector()
        from memory_nodes.perception.yolo_detector import YoloDetector, shipped_weights

        threshold = self.cfg.yolo_score_threshold
        detector = YoloDetector(self.cfg.yolo_weights or shipped_weights(),
                                score_threshold=threshold if threshold >= 0.0 else None)
        self.get_logger().info(f'YOLO weights {detector.weights}: score threshold '
                               f'{detector.score_threshold:.3f} ({detector.score_source})')
        return detector

    def _make_tf(self):  # noqa: ANN202 - tf2_ros.Buffer or TfBuffer
        try:
            import tf2_ros
        except ImportError:
            return self._make_core_tf()
        buffer = tf2_ros.Buffer()
        self._tf_listener = tf2_ros.TransformListener(buffer, self)
        return buffer

    def _make_core_tf(self) -> TfBuffer:
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from tf2_msgs.msg import TFMessage

        buffer = TfBuffer(self.cfg.tf_cache_time, self.cfg.tf_tolerance)
        self.create_subscription(TFMessage, self.cfg.tf_topic,
                                 lambda msg: self._on_tf(msg, False), QoSProfile(depth=100))
        self.create_subscription(TFMessage, self.cfg.tf_static_topic,
                                 lambda msg: self._on_tf(msg, True), QoSProfile(
                                     depth=100, reliability=ReliabilityPolicy.RELIABLE,
                                     durability=DurabilityPolicy.TRANSIENT_LOCAL))
        return buffer

    def _on_tf(self, msg, static: bool) -> None:  # noqa: ANN001 - tf2_msgs/TFMessage
        with self._tf_lock:
            errors = add_tf_message(self.tf_buffer, msg, static)
        for error in errors:
            self._reject('bad_transform', error)

    # ---- inputs ------------------------------------------------------------------
    def _stamped(self, stream: str):  # noqa: ANN202 - a callback
        def callback(msg) -> None:  # noqa: ANN001
            self.sync.add(stream, conv.stamp_to_seconds(msg.header.stamp), msg)
        return callback

    def _on_instances(self, msg: String) -> None:
        try:
            data = json.loads(msg.data)
            stamp = float(data['stamp'])
        except (ValueError, KeyError, TypeError) as exc:
            self._reject('bad_instances', str(exc))
            return
        self.sync.add('instances', stamp, data)

    def _on_frame(self, parts: dict) -> None:
        self.worker.submit(parts)

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        self.get_logger().warning(f'dropped frame ({reason}): {detail}',
                                  throttle_duration_sec=2.0)

    def _on_error(self, exc: BaseException) -> None:
        if not rclpy.ok(context=self.context):
            return  # shutting down: the publisher is gone, nothing to report
        self._reject('processing_error', repr(exc))

    # ---- work (worker thread) ----------------------------------------------------
    def _camera_pose(self, parts: dict, header: Header):  # noqa: ANN202 - 4x4 array
        if 'pose' in parts:
            pose = parts['pose']
            if pose.header.frame_id and pose.header.frame_id != self.cfg.map_frame:
                raise ValueError(f'camera pose in {pose.header.frame_id!r}, expected '
                                 f'{self.cfg.map_frame!r}')
            return conv.pose_to_matrix(pose.pose)
        camera = self.cfg.camera_frame or header.frame_id
        if isinstance(self.tf_buffer, TfBuffer):
            # Like tf2's message filter: a frame newer than the newest transform waits a
            # little (on the worker thread) for TF to catch up.
            deadline = time.monotonic() + self.cfg.tf_wait
            while True:
                try:
                    with self._tf_lock:
                        return self.tf_buffer.lookup(self.cfg.map_frame, camera,
                                                     conv.stamp_to_seconds(header.stamp))
                except TransformError as exc:
                    if exc.reason != 'in_the_future' or time.monotonic() > deadline:
                        raise
                time.sleep(0.01)
        t = self.tf_buffer.lookup_transform(self.cfg.map_frame, camera,
                                            rclpy.time.Time.from_msg(header.stamp))
        tr, q = t.transform.translation, t.transform.rotation
        pose = PoseStamped().pose
        pose.position.x, pose.position.y, pose.position.z = tr.x, tr.y, tr.z
        pose.orientation = q
        return conv.pose_to_matrix(pose)

    def _process(self, parts: dict) -> None:
        rgb_msg = parts['rgb']
        try:
            rgb = compressed_colour_from_msg(rgb_msg) if self.cfg.rgb_transport == \
                'compressed' else colour_from_msg(rgb_msg)
            depth = depth_from_msg(parts['depth'])
            k = conv.intrinsics_from_msg(parts['info'])
            pose = self._camera_pose(parts, rgb_msg.header)
            frame = RgbdFrame(rgb, depth, k, pose, conv.stamp_to_seconds(rgb_msg.header.stamp),
                              self.cfg.map_frame)
            frame.validate()
            extras = {}
            if 'seg' in parts:
                seg = conv.image_from_msg(parts['seg'], ('32SC1',))
                if seg.shape != depth.shape:
                    raise ValueError(f'segmentation {seg.shape} != depth {depth.shape}')
                extras = {'segmentation': seg,
                          'instances': instances_from_json(parts['instances'])}
        except TransformError as exc:
            self._reject('no_tf', str(exc))
            return
        except (ValueError, KeyError, TypeError) as exc:
            self._reject('malformed_frame', str(exc))
            return
        detections = self.detector.detect(rgb, **extras)
        observations = self.builder.build(frame, detections,
                                          getattr(self.detector, 'mask_edge_px', 0))
        out = ObjectObservationArray()
        out.header.stamp = rgb_msg.header.stamp
        out.header.frame_id = self.cfg.map_frame
        for obs in observations:
            item = conv.observation_to_msg(obs, self.cfg.max_points)
            item.header = out.header
            out.observations.append(item)
        self.pub.publish(out)
        self.published += 1

    def _on_stats(self, _request, response):  # noqa: ANN001, ANN201
        stats = {'worker': self.worker.stats(), 'published': self.published,
                 'rejected': dict(self.rejected), 'sync_matched': self.sync.matched,
                 'sync_dropped': self.sync.dropped,
                 'builder_dropped': dict(self.builder.dropped)}
        response.success, response.message = True, json.dumps(stats)
        return response

    def destroy_node(self) -> None:
        """Stop the worker before going away."""
        self.worker.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the perception node until Ctrl-C / SIGTERM."""
    run_node(PerceptionNode, args, threads=2)


if __name__ == '__main__':
    main()
