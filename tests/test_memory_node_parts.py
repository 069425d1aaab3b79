"""Parts the memory node delegates to: room annotations, room footprints (no ROS needed).

The last tests declare a nested node config on a stand-in node: rclpy must be
importable, but no context or DDS is started.
"""

import json
import types

import numpy as np
import pytest

from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.rooms import (
    ROOM_CEILING_Z,
    ROOM_FLOOR_Z,
    RoomAnnotation,
    footprint_box,
    parse_room_annotation,
)


def _annotation(rooms, frame_id='map'):
    return json.dumps({'frame_id': frame_id, 'rooms': rooms})


def test_room_annotation_is_parsed_to_footprints():
    parsed = parse_room_annotation(_annotation({'kitchen': [0, 0, 4.5, 3],
                                                'hall': [4.5, 0.0, 6.0, 3.0]}))
    assert parsed == RoomAnnotation('map', {'kitchen': (0.0, 0.0, 4.5, 3.0),
                                            'hall': (4.5, 0.0, 6.0, 3.0)})
    assert all(isinstance(v, float) for v in parsed.rooms['kitchen'])


def test_room_annotation_without_frame_id_and_without_rooms_is_accepted():
    assert parse_room_annotation('{"rooms": {}}') == RoomAnnotation('', {})


@pytest.mark.parametrize('text,message', [
    ('not json', 'not JSON'),
    ('[1, 2]', '"rooms" object'),
    ('{"frame_id": "map"}', '"rooms" object'),
    ('{"rooms": [[0, 0, 1, 1]]}', '"rooms" object'),
    (_annotation({'kitchen': [0, 0, 1]}), "room 'kitchen': expected"),
    (_annotation({'kitchen': [0, 0, 1, 1, 2]}), "room 'kitchen': expected"),
    (_annotation({'kitchen': 'abcd'}), "room 'kitchen': expected"),
    (_annotation({'kitchen': [0, 0, 'x', 1]}), "room 'kitchen': expected"),
    (_annotation({'kitchen': [0, 0, None, 1]}), "room 'kitchen': expected"),
    (_annotation({'kitchen': [0, 0, 1, 1]}, frame_id=3), 'frame_id must be a string'),
])
def test_malformed_room_annotation_is_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_room_annotation(text)


def test_non_finite_room_box_is_refused():
    # json.dumps writes Infinity/NaN, which json.loads reads back as floats.
    for bad in (float('inf'), float('nan')):
        with pytest.raises(ValueError, match="room 'kitchen' has a non-finite box"):
            parse_room_annotation(_annotation({'kitchen': [0, 0, bad, 1]}))


def test_footprint_box_spans_one_storey():
    lo, hi = footprint_box((1, 2, 3.5, 4))
    assert lo == (1.0, 2.0, ROOM_FLOOR_Z) and hi == (3.5, 4.0, ROOM_CEILING_Z)
    assert (ROOM_FLOOR_Z, ROOM_CEILING_Z) == (-0.1, 3.0)


def test_define_room_footprint_is_define_room_over_the_storey():
    by_footprint, by_box = LongTermMemory(), LongTermMemory()
    by_footprint.define_room_footprint('Kitchen', (0.0, 0.0, 4.0, 3.0))
    by_box.define_room('Kitchen', (0.0, 0.0, -0.1), (4.0, 3.0, 3.0))
    for mem in (by_footprint, by_box):
        lo, hi = mem.rooms.bounds['kitchen']
        assert np.allclose(lo, (0.0, 0.0, -0.1)) and np.allclose(hi, (4.0, 3.0, 3.0))
    rooms = [n for n in by_footprint.graph.nodes.values() if n.layer == 'room']
    assert [n.label for n in rooms] == ['kitchen']
    assert np.allclose(rooms[0].position, (2.0, 1.5, 1.45))


class _StandInNode:
    """Answers declare_parameter like rclpy: the override if one was given, else the default."""

    def __init__(self, **overrides):
        self.overrides = overrides
        self.declared = {}

    def declare_parameter(self, name, default, descriptor):
        assert name not in self.declared, f'{name} declared twice'
        self.declared[name] = descriptor.description
        return types.SimpleNamespace(value=self.overrides.get(name, default))


@pytest.mark.ros
def test_memory_node_config_nests_the_core_configs():
    from memory_nodes.ros.memory_node import MemoryNodeConfig
    from memory_nodes.ros.params import declare_config

    node = _StandInNode(stm_capacity=4, text_embeddings='hashing',
                        **{'ltm.fusion.voxel_size': 0.05, 'ltm.index_cell': 2,
                           'ltm.input.accepted_frames': ['map', 'odom']})
    cfg = declare_config(node, MemoryNodeConfig)
    assert (cfg.stm.capacity, cfg.stm.policy) == (4, 'robot_aware')
    assert cfg.ltm.embedder.backend == 'hashing'
    assert cfg.ltm.fusion.voxel_size == 0.05
    assert cfg.ltm.index_cell == 2.0 and isinstance(cfg.ltm.index_cell, float)
    assert cfg.ltm.input.accepted_frames == ('map', 'odom')
    # The names users already set keep working; the rest follow ROS's dotted nesting.
    assert {'stm_capacity', 'stm_policy', 'stm_from_observations', 'text_embeddings',
            'publish_period', 'ltm.rooms.default_room'} <= set(node.declared)
    assert 'ltm.embedder.backend' not in node.declared
    # Fields a parameter cannot hold keep their defaults instead of being declared.
    assert not {'stm_policy_params', 'ltm.embedder.model_path',
                'ltm.input.vocabulary'} & set(node.declared)
    assert node.declared['stm_capacity'] == 'short-term memory capacity (entries)'
    assert node.declared['ltm.fusion.voxel_size'].startswith('Association and cloud')


@pytest.mark.ros
@pytest.mark.parametrize('overrides,message', [
    ({'stm_policy': 'random'}, 'stm_policy'),
    ({'stm_capacity': 0}, 'stm_capacity=0 is below its minimum 1'),
    ({'text_embeddings': 'word2vec'}, 'text_embeddings'),
])
def test_nested_parameters_are_checked_by_name(overrides, message):
    from memory_nodes.ros.memory_node import MemoryNodeConfig
    from memory_nodes.ros.params import declare_config

    with pytest.raises(ValueError, match=message):
        declare_config(_StandInNode(**overrides), MemoryNodeConfig)


@pytest.mark.ros
def test_a_misspelt_nested_parameter_field_is_refused():
    import dataclasses

    from memory_nodes.memory.short_term import ShortTermConfig
    from memory_nodes.ros.params import declare_config, nested, param

    @dataclasses.dataclass
    class Config:
        stm: ShortTermConfig = nested(ShortTermConfig, 'stm.', {'capacty': param(min=1)})

    with pytest.raises(ValueError, match='capacty'):
        declare_config(_StandInNode(), Config)
