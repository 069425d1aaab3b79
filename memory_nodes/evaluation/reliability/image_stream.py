"""Camera-sized image streams between two processes: a publisher and a counting subscriber.

`python -m memory_nodes.evaluation.reliability.image_stream pub|sub ...` is one side of
the transport measurement (`transport.py` starts both). The publisher sends what an RGB-D
camera driver sends, frame set by frame set at a fixed rate: `rgb/image_raw` (rgb8),
`depth/image_raw` (32FC1) and `camera_info`; with `--segmentation` also the simulator's
`segmentation/image_raw` (32SC1), `segmentation/instances` and `camera/pose`, so that the
perception node can pair whole frames. The frame number is written into the first 8 bytes
of each image (two pixels) and the send time into the stamp.

Protocol on stdout (one JSON object a line): the subscriber prints {"ready": true} once its
subscriptions exist, {"matched": true} once every one of them has matched a publisher, and
its counts when SIGINT arrives; the publisher waits until every image publisher has a
subscriber, prints {"matched": true}, waits for a line on stdin (`--wait-go`: the
subscriber's side of discovery is done too), sends, and prints what it sent. Frames sent
before both sides matched would be lost to discovery, not to the transport.
"""

from __future__ import annotations

import argparse
import array
import json
import sys
import time

import numpy as np

#: Image topics, their encodings and bytes per pixel.
COLOUR = ('rgb/image_raw', 'rgb8', 3)
DEPTH = ('depth/image_raw', '32FC1', 4)
SEGMENTATION = ('segmentation/image_raw', '32SC1', 4)


def _qos(reliable: bool):  # noqa: ANN202 - rclpy QoSProfile
    from memory_nodes.ros.qos import sensor_qos

    return sensor_qos(reliable)


def _image(topic: tuple[str, str, int], width: int, height: int):  # noqa: ANN202 - Image
    from sensor_msgs.msg import Image

    _, encoding, size = topic
    msg = Image(width=width, height=height, encoding=encoding, step=width * size)
    msg.header.frame_id = 'camera_optical_frame'
    if encoding == '32FC1':
        pixels = np.full((height, width), 1.5, np.float32)  # a wall 1.5 m away
    elif encoding == '32SC1':
        pixels = np.zeros((height, width), np.int32)  # no instance anywhere
    else:
        pixels = np.random.default_rng(0).integers(0, 255, (height, width, size), np.uint8)
    msg.data = array.array('B', pixels.tobytes())
    return msg


def _stamp(msg, seconds: float) -> None:  # noqa: ANN001 - any stamped message
    msg.header.stamp.sec = int(seconds)
    msg.header.stamp.nanosec = int(round((seconds - int(seconds)) * 1e9)) % 1_000_000_000


def publish(width: int, height: int, rate: float, frames: int, reliable: bool,
            segmentation: bool, discovery_timeout: float, wait_go: bool = False) -> dict:
    """Send `frames` frame sets at `rate` Hz once every image topic has a subscriber."""
    import rclpy
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    rclpy.init()
    node = rclpy.create_node('image_stream_publisher')
    qos = _qos(reliable)
    topics = [COLOUR, DEPTH] + ([SEGMENTATION] if segmentation else [])
    images = [(node.create_publisher(Image, t[0], qos), _image(t, width, height))
              for t in topics]
    info_pub = node.create_publisher(CameraInfo, 'camera_info', qos)
    info = CameraInfo(width=width, height=height, distortion_model='plumb_bob')
    info.header.frame_id = 'camera_optical_frame'
    f = 0.8 * width
    info.k = [f, 0.0, width / 2.0, 0.0, f, height / 2.0, 0.0, 0.0, 1.0]
    info.p = [f, 0.0, width / 2.0, 0.0, 0.0, f, height / 2.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    extra = []
    if segmentation:
        pose = PoseStamped()
        pose.header.frame_id = 'map'
        pose.pose.position.z = 1.0
        pose.pose.orientation.w = 1.0
        extra = [(node.create_publisher(PoseStamped, 'camera/pose', qos), pose)]
        instances = node.create_publisher(String, 'segmentation/instances', qos)
    try:
        deadline = time.monotonic() + discovery_timeout
        while any(p.get_subscription_count() == 0 for p, _ in images):
            if time.monotonic() > deadline:
                missing = [t[0] for (p, _), t in zip(images, topics)
                           if p.get_subscription_count() == 0]
                raise TimeoutError(f'no subscriber on {missing} after {discovery_timeout} s')
            time.sleep(0.05)
        print(json.dumps({'matched': True}), flush=True)
        if wait_go:
            sys.stdin.readline()
        else:
            time.sleep(0.5)  # the subscriber's side of the match
        start = time.monotonic()
        sent = 0
        for seq in range(frames):
            wait = start + seq / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            now = time.time()
            for pub, msg in images:
                msg.data[0:8] = array.array('B', seq.to_bytes(8, 'little'))
                _stamp(msg, now)
                pub.publish(msg)
            _stamp(info, now)
            info_pub.publish(info)
            for pub, msg in extra:
                _stamp(msg, now)
                pub.publish(msg)
            if segmentation:
                instances.publish(String(data=json.dumps({'stamp': float(info.header.stamp.sec)
                                                          + info.header.stamp.nanosec * 1e-9,
                                                          'instances': {}})))
            sent += 1
        elapsed = time.monotonic() - start
        return {'published': sent, 'seconds': round(elapsed, 3),
                'rate_hz': round(sent / elapsed, 2) if elapsed > 0 else 0.0,
                'topics': [t[0] for t in topics]}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def subscribe(reliable: bool, segmentation: bool) -> dict:
    """Count the distinct frames heard per image topic until SIGINT; latency from the stamp."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('image_stream_subscriber')
    qos = _qos(reliable)
    topics = [COLOUR, DEPTH] + ([SEGMENTATION] if segmentation else [])
    seen: dict[str, set[int]] = {t[0]: set() for t in topics}
    latency: list[float] = []
    bad: list[str] = []

    def on_image(topic: str):  # noqa: ANN202 - a callback
        def callback(msg: Image) -> None:
            if len(msg.data) != msg.step * msg.height:
                bad.append(f'{topic}: {len(msg.data)} bytes, expected {msg.step * msg.height}')
                return
            seen[topic].add(int.from_bytes(bytes(msg.data[0:8]), 'little'))
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            latency.append(1000.0 * (time.time() - stamp))
        return callback

    subscriptions = [node.create_subscription(Image, topic[0], on_image(topic[0]), qos)
                     for topic in topics]

    def report_match() -> None:
        if all(s.get_publisher_count() > 0 for s in subscriptions):
            print(json.dumps({'matched': True}), flush=True)
            timer.cancel()

    timer = node.create_timer(0.05, report_match)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    print(json.dumps({'ready': True}), flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    ms = np.array(latency) if latency else np.array([float('nan')])
    complete = set.intersection(*seen.values())
    return {'received': {k: len(v) for k, v in seen.items()}, 'complete_sets': len(complete),
            'seen': {k: sorted(v) for k, v in seen.items()},
            'latency_ms_p50': round(float(np.percentile(ms, 50)), 2),
            'latency_ms_p95': round(float(np.percentile(ms, 95)), 2), 'malformed': bad[:5]}


def main(argv: list[str] | None = None) -> int:
    """`pub` or `sub`, with the stream's size, rate and QoS."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('role', choices=('pub', 'sub'))
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--rate', type=float, default=5.0)
    parser.add_argument('--frames', type=int, default=50)
    parser.add_argument('--reliable', action='store_true')
    parser.add_argument('--segmentation', action='store_true')
    parser.add_argument('--discovery-timeout', type=float, default=30.0)
    parser.add_argument('--wait-go', action='store_true',
                        help='after matching, wait for a line on stdin before sending')
    args = parser.parse_args(argv)
    if args.role == 'pub':
        result = publish(args.width, args.height, args.rate, args.frames, args.reliable,
                         args.segmentation, args.discovery_timeout, args.wait_go)
    else:
        result = subscribe(args.reliable, args.segmentation)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
