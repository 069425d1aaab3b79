"""The simulator bridge: a PyBullet home on ROS 2, as a robot's drivers would present it.

Owns the `PyBulletSimulator` and `/clock` (simulated time). Publishes the head camera
(`rgb/image_raw` rgb8, `depth/image_raw` 32FC1 metres, `camera_info`, the optical frame's
pose in `map` on `camera/pose`, which carries the head's tilt at that frame), the base pose
(`base/pose`), the robot's TF tree as a robot's drivers publish it (`/tf`:
`map -> odom` (identity: the simulator does not drift), `odom -> base_link`,
`base_link -> head_camera_link` (head height and tilt), stamped like the image they
belong to; `/tf_static`: `head_camera_link -> head_camera_optical_frame`, the REP 103
optical rotation), so chaining them at an image's stamp gives `camera/pose`), the
simulator's instance masks for the `sim_segmentation` detector
(`segmentation/image_raw` 32SC1 + `segmentation/instances` JSON), the room annotation
(`rooms`, latched JSON) and the state changes its own skills caused
(`object_state_events`). Serves `execute_skill` (ExecuteSkill) and `sim_control`
(SimControl: load a home or an episode, begin/end a scored task). Ground truth never
leaves this node except as a task's score.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time

import numpy as np
from embodied_memory_msgs.msg import ObjectStateEvent
from embodied_memory_msgs.srv import ExecuteSkill, SimControl
from geometry_msgs.msg import Point, PoseStamped
from rclpy.clock import Clock as Clock_
from rclpy.clock import ClockType
from rclpy.node import Node
from rclpy.qos import (
    QoSProfile,
    ReliabilityPolicy,
)
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header, String
from tf2_msgs.msg import TFMessage

from memory_nodes.domain.skills import PRIMITIVE_SKILLS, SkillCall, SkillTarget
from memory_nodes.perception import transforms as tfm
from memory_nodes.ros import conversions as conv
from memory_nodes.ros.params import declare_config, describe
from memory_nodes.ros.qos import LATCHED, sensor_qos
from memory_nodes.ros.spin import run_node
from memory_nodes.ros.tf_messages import (
    TF_QOS,
    TF_STATIC_QOS,
    TF_STATIC_TOPIC,
    TF_TOPIC,
    tf_message,
    transform_stamped,
)
from sim.camera import visible_instances
from sim.episodes import apply_world_change
from sim.interface import CameraFrame
from sim.pybullet_sim import PyBulletSimulator
from sim.robot import CAMERA_FORWARD, CAMERA_HEIGHT
from sim.scoring import TaskScorer
from sim.suite_world import build_home
from sim.task_schema import load_suite

EVENTS = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


@dataclasses.dataclass
class SimBridgeConfig:
    """Parameters of the simulator bridge."""

    home_seed: int = describe(0, 'seed of the generated home loaded at start-up')
    suite: str = describe('', "task suite to load at start-up ('' = none)")
    episode: int = describe(0, 'episode of `suite` whose home is loaded at start-up', min=0)
    camera_width: int = describe(320, 'camera image width (px)', min=16)
    camera_height: int = describe(240, 'camera image height (px)', min=16)
    camera_rate_hz: float = describe(5.0, 'camera frames per second of simulated time',
                                     min=0.1)
    real_time_factor: float = describe(1.0, 'simulated seconds per wall second when idle',
                                       min=0.0)
    map_frame: str = describe('map', 'world frame (REP 105)')
    odom_frame: str = describe('odom', 'odometry frame (REP 105); map -> odom is identity')
    camera_frame: str = describe('head_camera_optical_frame', 'camera optical frame id')
    camera_link_frame: str = describe('head_camera_link',
                                      'camera body frame (x forward, z up) on the head')
    base_frame: str = describe('base_link', 'robot base frame id')
    publish_tf: bool = describe(True, 'publish the TF tree on /tf and /tf_static')
    reliable_sensors: bool = describe(False, 'reliable QoS on camera topics')


class SimBridgeNode(Node):
    """Publishes the simulated robot's sensors and executes its skills."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - rclpy Node kwargs
        super().__init__('sim_bridge', **kwargs)
        self.cfg = declare_config(self, SimBridgeConfig)
        self.sim = PyBulletSimulator(width=self.cfg.camera_width,
                                     height=self.cfg.camera_height)
        self.sim.observer = self._publish_frame
        self.lock = threading.RLock()
        self.scorer: TaskScorer | None = None
        self.task = None
        self.suite = None
        self.episode = None
        self.frames = 0
        self.last_frame_stamp = 0.0
        self.next_frame_time = 0.0
        self.rejected: dict[str, int] = {}
        sensor = sensor_qos(self.cfg.reliable_sensors)
        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self.rgb_pub = self.create_publisher(Image, 'rgb/image_raw', sensor)
        self.depth_pub = self.create_publisher(Image, 'depth/image_raw', sensor)
        self.seg_pub = self.create_publisher(Image, 'segmentation/image_raw', sensor)
        self.inst_pub = self.create_publisher(String, 'segmentation/instances', sensor)
        self.info_pub = self.create_publisher(CameraInfo, 'camera_info', sensor)
        self.cam_pose_pub = self.create_publisher(PoseStamped, 'camera/pose', sensor)
        self.base_pose_pub = self.create_publisher(PoseStamped, 'base/pose', 10)
        self.rooms_pub = self.create_publisher(String, 'rooms', LATCHED)
        self.events_pub = self.create_publisher(ObjectStateEvent, 'object_state_events', EVENTS)
        if self.cfg.publish_tf:
            self.tf_pub = self.create_publisher(TFMessage, TF_TOPIC, TF_QOS)
            self.tf_static_pub = self.create_publisher(TFMessage, TF_STATIC_TOPIC,
                                                       TF_STATIC_QOS)
            self._publish_static_tf()
        self.create_service(ExecuteSkill, 'execute_skill', self._on_execute_skill)
        self.create_service(SimControl, 'sim_control', self._on_control)
        if self.cfg.suite:
            self._load_episode(self.cfg.suite, self.cfg.episode)
        else:
            self._load_home(self.cfg.home_seed)
        self._wall = time.monotonic()
        # Wall-clock timer: this node makes simulated time, so it cannot wait on it.
        self.create_timer(1.0 / max(self.cfg.camera_rate_hz, 1.0), self._tick,
                          clock=Clock_(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f'sim bridge ready: home {self.sim.home.name}, camera '
            f'{self.cfg.camera_width}x{self.cfg.camera_height} @ {self.cfg.camera_rate_hz} Hz')

    # ---- world -------------------------------------------------------------------
    def _load_home(self, seed: int) -> dict:
        with self.lock:
            self.sim.reset(seed, seed=seed)
            return self._after_load()

    def _load_episode(self, suite: str, index: int) -> dict:
        with self.lock:
            self.suite = load_suite(suite)
            if not 0 <= index < len(self.suite.episodes):
                raise ValueError(f'suite {suite!r} has {len(self.suite.episodes)} episodes, '
                                 f'no episode {index}')
            self.episode = self.suite.episodes[index]
            self.sim.reset(build_home(self.episode.home), seed=self.episode.home.seed)
            info = self._after_load()
            info['tasks'] = [t.to_json() for t in self.episode.tasks]
            info['episode'] = self.episode.episode_id
            return info

    def _after_load(self) -> dict:
        self.scorer, self.task = None, None
        rooms = self._publish_rooms()
        self._publish_frame(self.sim.render())
        walls = [[*w.start[:2], *w.end[:2]] for w in self.sim.home.walls]
        return {'home': self.sim.home.name, 'rooms': rooms, 'walls': walls}

    def _publish_rooms(self) -> dict:
        """The room annotation (latched; again at each task, for memories that reset)."""
        rooms = {name: list(box) for name, box in self.sim.rooms().items()}
        self.rooms_pub.publish(String(data=json.dumps({'frame_id': self.cfg.map_frame,
                                                       'rooms': rooms})))
        return rooms

    # ---- sensors -----------------------------------------------------------------
    def _header(self, stamp: float, frame: str) -> Header:
        return Header(stamp=conv.seconds_to_stamp(stamp), frame_id=frame)

    def _publish_clock(self) -> None:
        self.clock_pub.publish(Clock(clock=conv.seconds_to_stamp(self.sim.time)))

    def _publish_frame(self, frame: CameraFrame) -> None:
        stamp = frame.stamp
        cam = self._header(stamp, self.cfg.camera_frame)
        self._publish_clock()
        self.rgb_pub.publish(conv.image_to_msg(frame.rgb, 'rgb8', cam))
        self.depth_pub.publish(conv.image_to_msg(frame.depth, '32FC1', cam))
        self.seg_pub.publish(conv.image_to_msg(frame.segmentation, '32SC1', cam))
        h, w = frame.depth.shape
        self.info_pub.publish(conv.camera_info_to_msg(frame.intrinsics, w, h, cam))
        pose = PoseStamped(header=self._header(stamp, self.cfg.map_frame),
                           pose=conv.matrix_to_pose(frame.camera_to_map))
        self.cam_pose_pub.publish(pose)
        instances = visible_instances(frame, self.sim.ground_truth(), self.sim.holding())
        self.inst_pub.publish(String(data=json.dumps(
            {'stamp': stamp, 'instances': {str(k): v for k, v in instances.items()}})))
        self._publish_base(stamp)
        if self.cfg.publish_tf:
            self._publish_tf(stamp)
        self.frames += 1
        self.last_frame_stamp = stamp

    def _publish_static_tf(self) -> None:
        """The fixed links (once; transient local keeps them for late joiners)."""
        link = transform_stamped(tfm.optical_in_body(), self.cfg.camera_link_frame,
                                 self.cfg.camera_frame, self.sim.time)
        self.tf_static_pub.publish(tf_message([link]))

    def _publish_tf(self, stamp: float) -> None:
        """The moving links at the image's stamp: map -> odom -> base -> head camera link."""
        x, y, yaw = self.sim.robot_pose()
        cfg = self.cfg
        self.tf_pub.publish(tf_message([
            transform_stamped(np.eye(4), cfg.map_frame, cfg.odom_frame, stamp),
            transform_stamped(tfm.planar_pose(x, y, yaw), cfg.odom_frame, cfg.base_frame,
                              stamp),
            transform_stamped(tfm.pitched_mount(CAMERA_FORWARD, CAMERA_HEIGHT,
                                                self.sim.head_tilt()),
                              cfg.base_frame, cfg.camera_link_frame, stamp)]))

    def _publish_base(self, stamp: float) -> None:
        x, y, yaw = self.sim.robot_pose()
        msg = PoseStamped(header=self._header(stamp, self.cfg.map_frame))
        msg.pose.position = Point(x=float(x), y=float(y), z=0.0)
        msg.pose.orientation.z, msg.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        self.base_pose_pub.publish(msg)

    def _tick(self) -> None:
        if not self.lock.acquire(blocking=False):
            return  # a skill is running; its own frames are being published
        try:
            now = time.monotonic()
            dt, self._wall = now - self._wall, now
            if self.cfg.real_time_factor > 0:
                self.sim.step(dt * self.cfg.real_time_factor)
            self._publish_clock()
            if self.sim.time >= self.next_frame_time - 1e-3:
                self._publish_frame(self.sim.render())
                # Keep the camera's own beat (timer jitter must not halve the rate), but
                # never queue up a backlog after a long skill.
                period = 1.0 / self.cfg.camera_rate_hz
                self.next_frame_time = max(self.next_frame_time + period,
                                           self.sim.time + 0.5 * period)
        finally:
            self.lock.release()

    # ---- skills ------------------------------------------------------------------
    @staticmethod
    def _target(label: str, known: bool, point: Point) -> SkillTarget | None:
        """The request's target; a known position without a label is a point (look_at)."""
        if not label and not known:
            return None
        position = (point.x, point.y, point.z) if known else None
        if position is not None and not all(math.isfinite(v) for v in position):
            raise ValueError(f'{label or "point"}: position is not finite')
        return SkillTarget(object_type=label or None, position=position)

    def _on_execute_skill(self, request, response):  # noqa: ANN001, ANN201 - rclpy types
        if request.skill not in PRIMITIVE_SKILLS:
            response.error_code = response.INVALID_REQUEST
            response.error_msg = f'unknown skill {request.skill!r}; known: {PRIMITIVE_SKILLS}'
            return response
        try:
            call = SkillCall(
                request.skill,
                target=self._target(request.target_label, request.target_position_known,
                                    request.target_position),
                receptacle=self._target(request.receptacle_label,
                                        request.receptacle_position_known,
                                        request.receptacle_position),
                relation=request.relation or None, area=request.area or None)
        except ValueError as exc:
            response.error_code, response.error_msg = response.INVALID_REQUEST, str(exc)
            return response
        with self.lock:
            result = self.sim.execute(call)
            if call.name != 'explore':
                self._publish_frame(self.sim.render())
            self._publish_events(result, request.target_memory_id)
            if self.scorer is not None:
                self.scorer.update(self.sim.ground_truth(), self.sim.holding())
            held = self.sim.holding()
            truth = self.sim.ground_truth().get(held) if held else None
            response.holding = truth.object_type if truth else ''
            response.last_frame_stamp = conv.seconds_to_stamp(self.last_frame_stamp)
        response.error_code = response.SUCCESS if result.success else response.FAILED
        response.reason = result.reason or ''
        response.error_msg = result.message if not result.success else ''
        response.duration = float(result.duration_s)
        response.path_length = float(result.path_length_m)
        return response

    def _publish_events(self, result, memory_id: str) -> None:  # noqa: ANN001 - SkillResult
        """The skill's changes; the acted-on object's events carry the planner's memory id."""
        truth = self.sim.ground_truth()
        acted = result.resolved_object_id
        for ev in result.events:
            parent = truth.get(ev.parent) if ev.parent else None
            mine = memory_id if ev.object_id == acted else ''
            msg = ObjectStateEvent(header=self._header(ev.stamp, self.cfg.map_frame),
                                   object_id=ev.object_id, memory_id=mine,
                                   label=ev.object_type,
                                   changed=list(ev.changed),
                                   parent_label=parent.object_type if parent else '',
                                   relation=ev.relation or '')
            msg.position = Point(x=float(ev.position[0]), y=float(ev.position[1]),
                                 z=float(ev.position[2]))
            msg.states = conv.states_to_msg(ev.states)
            self.events_pub.publish(msg)

    # ---- episode control ---------------------------------------------------------
    def _on_control(self, request, response):  # noqa: ANN001, ANN201
        try:
            payload = json.loads(request.payload_json or '{}')
            if not isinstance(payload, dict):
                raise ValueError('payload_json must be a JSON object')
            result = self._control(request.command, payload)
            response.success, response.result_json = True, json.dumps(result)
        except (ValueError, KeyError, TypeError, OSError, OverflowError) as exc:
            # OverflowError: an infinite number where an integer is wanted (seed, episode).
            response.success, response.message = False, f'{request.command}: {exc}'
        return response

    def _control(self, command: str, payload: dict) -> dict:
        if command == 'load_home':
            return self._load_home(int(payload['seed']))
        if command == 'load_episode':
            return self._load_episode(str(payload['suite']), int(payload.get('episode', 0)))
        if command == 'begin_task':
            return self._begin_task(str(payload['task_id']))
        if command == 'end_task':
            return self._end_task()
        if command == 'status':
            x, y, yaw = self.sim.robot_pose()
            return {'home': self.sim.home.name, 'time': self.sim.time, 'frames': self.frames,
                    'robot': [x, y, yaw], 'head_tilt': self.sim.head_tilt(),
                    'task': self.task.task_id if self.task else None}
        raise ValueError(f'unknown command {command!r}')

    def _begin_task(self, task_id: str) -> dict:
        if self.episode is None:
            raise ValueError('no episode loaded (load_episode first)')
        tasks = {t.task_id: t for t in self.episode.tasks}
        if task_id not in tasks:
            raise KeyError(f'task {task_id!r} is not in episode {self.episode.episode_id}')
        with self.lock:
            task = tasks[task_id]
            for change in task.world_changes:
                apply_world_change(self.sim, change)
            self.task = task
            self._publish_rooms()
            self.scorer = TaskScorer(task.goals)
            self.scorer.update(self.sim.ground_truth(), self.sim.holding())
            return {'task_id': task.task_id, 'instruction': task.instruction,
                    'goal': [g.to_text() for g in task.goals],
                    'world_changes': len(task.world_changes)}

    def _end_task(self) -> dict:
        if self.scorer is None or self.task is None:
            raise ValueError('no task in progress (begin_task first)')
        score = self.scorer.score
        out = {'task_id': self.task.task_id, 'success': score.success,
               'goal_condition_rate': score.goal_condition_rate, 'reached': score.reached,
               'total': len(score.goals),
               # Its text ('HOLDING(#Cloth_2): 1'), so a person can read what was missed.
               'failed_condition': None if score.success or score.failed_condition is None
               else score.failed_condition.to_text()}
        self.scorer, self.task = None, None
        return out

    def destroy_node(self) -> None:
        """Close the physics client."""
        self.sim.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Run the simulator bridge until Ctrl-C / SIGTERM."""
    run_node(SimBridgeNode, args, threads=1)


if __name__ == '__main__':
    main()
