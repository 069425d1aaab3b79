"""Transform math, message definitions and the MCAP writer without DDS: real files, readers."""

import math

import numpy as np
import pytest
import yaml

from memory_nodes.bags.bag_info import BagError, read_bag_info
from memory_nodes.bags.definitions import (
    SEPARATOR,
    DefinitionNotFound,
    MessageDefinitions,
    field_types,
    msg_text_from_fields,
)
from memory_nodes.bags.mcap_writer import (
    BagWriter,
    QosOffer,
    header_stamp_ns,
    qos_profiles_yaml,
)
from memory_nodes.perception import transforms as tfm


# ---- transforms -------------------------------------------------------------------------
def _random_rotation(rng):
    q = rng.normal(size=4)
    return tfm.normalized(q)


def test_quaternion_matrix_round_trip_including_half_turns():
    rng = np.random.default_rng(3)
    rotations = [_random_rotation(rng) for _ in range(50)]
    rotations += [(1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0),
                  tfm.axis_angle((1, 1, 0), math.pi - 1e-9)]
    for q in rotations:
        m = tfm.quaternion_to_matrix(q)
        assert np.allclose(m @ m.T, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0)
        back = tfm.matrix_to_quaternion(m)
        assert np.allclose(tfm.quaternion_to_matrix(back), m, atol=1e-9)
        assert back[3] >= 0


def test_compose_invert_and_multiply_agree():
    rng = np.random.default_rng(4)
    a = tfm.make_transform(rng.normal(size=3), _random_rotation(rng))
    b = tfm.make_transform(rng.normal(size=3), _random_rotation(rng))
    assert np.allclose(tfm.compose(a, tfm.invert(a)), np.eye(4))
    ab = tfm.compose(a, b)
    q = tfm.quaternion_multiply(tfm.transform_parts(a)[1], tfm.transform_parts(b)[1])
    assert np.allclose(tfm.quaternion_to_matrix(q), ab[:3, :3])
    point = np.array([0.3, -1.0, 2.0, 1.0])
    assert np.allclose(ab @ point, a @ (b @ point))


def test_optical_frame_is_rep_103():
    """z forward (the body's x), x right (-y), y down (-z)."""
    r = tfm.optical_in_body()[:3, :3]
    assert np.allclose(r[:, 2], [1, 0, 0])
    assert np.allclose(r[:, 0], [0, -1, 0])
    assert np.allclose(r[:, 1], [0, 0, -1])


def test_base_mount_and_optical_chain_is_the_simulators_camera_pose():
    from sim.camera import optical_pose
    from sim.robot import CAMERA_FORWARD, CAMERA_HEIGHT

    for x, y, yaw, tilt in [(0, 0, 0, 0), (1.3, -2.1, 2.5, 0.7), (-4, 3, -3.0, -0.17)]:
        chain = tfm.compose(tfm.planar_pose(x, y, yaw),
                            tfm.pitched_mount(CAMERA_FORWARD, CAMERA_HEIGHT, tilt),
                            tfm.optical_in_body())
        expected = optical_pose(x + CAMERA_FORWARD * math.cos(yaw),
                                y + CAMERA_FORWARD * math.sin(yaw), CAMERA_HEIGHT, yaw, tilt)
        assert np.abs(chain - expected).max() < 1e-12


def test_interpolation_and_slerp():
    a = tfm.planar_pose(0, 0, 0.0)
    b = tfm.planar_pose(2, 0, 1.0)
    mid = tfm.interpolate(a, b, 0.5)
    assert np.allclose(mid, tfm.planar_pose(1, 0, 0.5))
    assert np.allclose(tfm.slerp((0, 0, 0, 1), (0, 0, 1, 0), 1.0), (0, 0, 1, 0))
    # The short way round: q and -q are the same rotation.
    q = tfm.slerp(tfm.yaw_quaternion(0.1), tuple(-v for v in tfm.yaw_quaternion(0.3)), 0.5)
    assert np.allclose(tfm.quaternion_to_matrix(q), tfm.quaternion_to_matrix(
        tfm.yaw_quaternion(0.2)))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='zero length'):
        tfm.quaternion_to_matrix((0, 0, 0, 0))
    with pytest.raises(ValueError, match='not finite'):
        tfm.normalized((math.nan, 0, 0, 1))
    with pytest.raises(ValueError, match='translation'):
        tfm.make_transform((0, 0), (0, 0, 0, 1))


# ---- message definitions ----------------------------------------------------------------
def test_tf_message_definition_is_rosbag2s_concatenation():
    defs = MessageDefinitions()
    schema = defs.schema('tf2_msgs/msg/TFMessage')
    assert schema.encoding == 'ros2msg' and schema.name == 'tf2_msgs/msg/TFMessage'
    blocks = schema.text.split('\n' + SEPARATOR + '\n')
    assert blocks[0] == 'geometry_msgs/TransformStamped[] transforms\n'
    names = [b.split('\n', 1)[0] for b in blocks[1:]]
    # depth first, each type once, a type's dependencies sorted
    assert names == ['MSG: geometry_msgs/TransformStamped', 'MSG: geometry_msgs/Transform',
                     'MSG: geometry_msgs/Quaternion', 'MSG: geometry_msgs/Vector3',
                     'MSG: std_msgs/Header', 'MSG: builtin_interfaces/Time']
    header_file = next(p / 'share/std_msgs/msg/Header.msg' for p in defs.prefixes
                       if (p / 'share/std_msgs/msg/Header.msg').is_file())
    assert blocks[5] == 'MSG: std_msgs/Header\n' + header_file.read_text()


def test_field_types_skip_comments_constants_and_primitives():
    text = ('# a comment naming geometry_msgs/Pose\n'
            'uint8 KIND=3  # constant\n'
            'string<=10 short_name\n'
            'float64[9] k\n'
            'Header header\n'
            'Point32[] points\n'
            'geometry_msgs/Pose[<=4] poses  # comment\n')
    assert field_types(text, 'sensor_msgs') == {
        'std_msgs/Header', 'sensor_msgs/Point32', 'geometry_msgs/Pose'}


def test_text_from_a_generated_class_decodes_like_the_file(tmp_path):
    """The fallback for types without .msg files gives a schema mcap_ros2 can decode."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import CameraInfo

    text = msg_text_from_fields(CameraInfo.get_fields_and_field_types())
    assert 'float64[9] k' in text and 'float64[] d' in text
    assert 'sensor_msgs/RegionOfInterest roi' in text

    def fallback(name):
        return text if name == 'sensor_msgs/msg/CameraInfo' else None

    # An install with the dependencies' .msg files but not CameraInfo.msg.
    installed = MessageDefinitions()
    prefix = tmp_path / 'prefix'
    for name in ('std_msgs/msg/Header', 'builtin_interfaces/msg/Time',
                 'sensor_msgs/msg/RegionOfInterest'):
        target = prefix / 'share' / f'{name}.msg'
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(installed.definition_file(name).read_text())
    defs = MessageDefinitions(prefixes=[prefix], fallback=fallback)
    schema = defs.schema('sensor_msgs/msg/CameraInfo')
    assert schema.encoding == 'ros2msg' and schema.text.startswith(text)
    assert 'MSG: sensor_msgs/RegionOfInterest\n' in schema.text
    msg = CameraInfo(width=640, height=480, distortion_model='plumb_bob', d=[0.1, 0.2])
    msg.k[0] = 500.0
    msg.roi.width = 7
    path = tmp_path / 'info.mcap'
    with BagWriter(path, compression='lz4') as bag:
        bag.add_topic('/camera_info', schema, [QosOffer()])
        bag.write('/camera_info', serialize_message(msg), 42)
    with open(path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()], validate_crcs=True)
        ((_, _, _, decoded),) = list(reader.iter_decoded_messages())
    assert (decoded.width, decoded.height, decoded.k[0], list(decoded.d)) == \
        (640, 480, 500.0, [0.1, 0.2])
    assert decoded.roi.width == 7


def test_missing_definitions_are_named(tmp_path):
    defs = MessageDefinitions(prefixes=[tmp_path])
    with pytest.raises(DefinitionNotFound, match='no Thing.msg for my_msgs/msg/Thing'):
        defs.schema('my_msgs/msg/Thing')
    with pytest.raises(ValueError, match='not pkg/Type'):
        defs.schema('Thing')
    # .msg missing, .idl present: a ros2idl schema, as rosbag2 falls back.
    idl = tmp_path / 'share/my_msgs/msg'
    idl.mkdir(parents=True)
    (idl / 'Thing.idl').write_text('module my_msgs { module msg { struct Thing { '
                                   'int32 a; }; }; };\n')
    schema = defs.schema('my_msgs/msg/Thing')
    assert schema.encoding == 'ros2idl'
    assert schema.text.startswith(SEPARATOR + '\nIDL: my_msgs/msg/Thing\n')


# ---- writer -----------------------------------------------------------------------------
def test_qos_metadata_is_rosbag2s_yaml():
    text = qos_profiles_yaml([QosOffer(depth=1, durability='transient_local'),
                              QosOffer(reliability='best_effort', deadline_ns=1_500_000_000)])
    parsed = yaml.safe_load(text)
    assert parsed[0]['durability'] == 'transient_local' and parsed[0]['depth'] == 1
    assert parsed[0]['deadline'] == {'sec': 9223372036, 'nsec': 854775807}
    assert parsed[1]['reliability'] == 'best_effort'
    assert parsed[1]['deadline'] == {'sec': 1, 'nsec': 500_000_000}
    assert parsed[1]['avoid_ros_namespace_conventions'] is False
    assert set(parsed[0]) == {'history', 'depth', 'reliability', 'durability', 'deadline',
                              'lifespan', 'liveliness', 'liveliness_lease_duration',
                              'avoid_ros_namespace_conventions'}


def test_header_stamp_from_cdr_both_endians():
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header

    data = serialize_message(Header(frame_id='x'))
    h = Header()
    h.stamp.sec, h.stamp.nanosec = 12, 345
    data = serialize_message(h)
    assert header_stamp_ns(data) == 12_000_000_345
    big = bytes([0, 0, 0, 0]) + (12).to_bytes(4, 'big') + (345).to_bytes(4, 'big')
    assert header_stamp_ns(big) == 12_000_000_345
    assert header_stamp_ns(b'\x00\x01') is None


def test_writer_counts_sequences_and_refuses_unknown_topics(tmp_path):
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    defs = MessageDefinitions()
    path = tmp_path / 'sub' / 'strings.mcap'
    bag = BagWriter(path, compression='none')
    bag.add_topic('/a', defs.schema('std_msgs/msg/String'), [QosOffer()])
    bag.add_topic('/b', defs.schema('std_msgs/msg/String'), [QosOffer()])
    for i in range(5):
        bag.write('/a', serialize_message(String(data=str(i))), 1000 + i)
    bag.write('/b', serialize_message(String(data='b')), 2000)
    with pytest.raises(KeyError, match='/c: not registered'):
        bag.write('/c', b'', 0)
    bag.close()
    bag.close()  # idempotent
    info = read_bag_info(path, validate=True)
    assert {t: i.count for t, i in info.topics.items()} == {'/a': 5, '/b': 1}
    assert (info.start_ns, info.end_ns) == (1000, 2000)
    assert 'std_msgs/msg/String' in info.describe()
    with pytest.raises(BagError, match='no such file'):
        read_bag_info(tmp_path / 'missing.mcap')
    with pytest.raises(ValueError, match='compression'):
        BagWriter(tmp_path / 'x.mcap', compression='bz2')
