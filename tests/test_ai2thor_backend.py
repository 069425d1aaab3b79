"""The AI2-THOR backend's pure mapping (no AI2-THOR needed) and its error when it cannot run.

Nothing here pretends AI2-THOR runs: the live controller is only exercised where it is
installed (see docs/ai2thor.md).
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
from ai2thor_data import OBJECTS, need

from memory_nodes.domain.skills import SkillCall, SkillTarget
from sim.ai2thor.backend import AI2ThorSimulator
from sim.ai2thor.scene_importer import import_objects
from sim.ai2thor.thor_mapping import (
    AI2ThorUnavailable,
    agent_pose,
    failure_reason,
    frame_from_event,
    scene_name,
    segmentation_ids,
    skill_action,
    teleport_action,
    truth_from_metadata,
)


def test_truth_uses_the_importers_conversion():
    need(OBJECTS)
    raw = json.loads(OBJECTS.read_text())
    truth = truth_from_metadata(raw)
    scene = import_objects(raw, 'FloorPlan1')
    assert len(truth) == 77
    for o in scene.objects:
        assert truth[o.object_id].aabb_min == o.aabb_min
        assert truth[o.object_id].aabb_max == o.aabb_max
    assert truth['Egg|-02.04|+00.81|+01.24'].parent == 'Fridge|-02.10|+00.00|+01.07'
    assert truth['Fridge|-02.10|+00.00|+01.07'].openable


def test_skills_map_to_ai2thor_actions():
    apple = SkillTarget('Apple', object_id='Apple|1')
    assert skill_action(SkillCall('pick_up', apple), 'Apple|1') == {
        'action': 'PickupObject', 'objectId': 'Apple|1'}
    put = SkillCall('put', apple, receptacle=SkillTarget('Fridge', object_id='Fridge|1'))
    assert skill_action(put, 'Apple|1', 'Fridge|1')['objectId'] == 'Fridge|1'
    assert skill_action(SkillCall('toggle_on', apple), 'X')['action'] == 'ToggleObjectOn'
    assert skill_action(SkillCall('slice', apple), 'X')['action'] == 'SliceObject'
    with pytest.raises(ValueError):
        skill_action(SkillCall('navigate_to', apple), 'X')
    assert failure_reason('Object Apple|1 is not visible') == 'out_of_reach'
    assert failure_reason('something odd') == 'action_failed'
    assert scene_name('ai2thor:FloorPlan1') == scene_name(1) == 'FloorPlan1'


def test_teleport_and_agent_pose_round_trip():
    action = teleport_action(1.0, -0.5, math.pi / 2, floor_z=0.9)
    meta = {'agent': {'position': action['position'], 'rotation': action['rotation']}}
    x, y, yaw = agent_pose(meta)
    assert (x, y) == pytest.approx((1.0, -0.5)) and yaw == pytest.approx(math.pi / 2)


class _Event:
    def __init__(self):
        self.frame = np.zeros((4, 6, 3), np.uint8)
        self.depth_frame = np.full((4, 6), 2.0, np.float32)
        self.depth_frame[0, 0] = 0.0
        self.instance_segmentation_frame = np.zeros((4, 6, 3), np.uint8)
        self.instance_segmentation_frame[1:3, 2:4] = (10, 20, 30)
        self.color_to_object_id = {(10, 20, 30): 'Apple|1', (1, 1, 1): 'Unseen|1'}
        self.metadata = {'agent': {'position': {'x': 0.0, 'y': 0.9, 'z': 0.0},
                                   'rotation': {'x': 0, 'y': 0.0, 'z': 0},
                                   'cameraHorizon': 30.0},
                         'cameraPosition': {'x': 0.0, 'y': 1.5, 'z': 0.0}}


def test_frame_from_event():
    frame = frame_from_event(_Event(), 90.0, 3.0)
    assert np.isnan(frame.depth[0, 0]) and frame.depth[1, 1] == 2.0
    assert frame.instance_to_object == {0: 'Apple|1'}
    assert (frame.segmentation == 0).sum() == 4 and (frame.segmentation == -1).sum() == 20
    assert frame.intrinsics[1, 1] == pytest.approx(2.0)  # (h / 2) / tan(45 deg)
    assert frame.camera_to_map[2, 3] == pytest.approx(1.5)
    seg, mapping = segmentation_ids(np.zeros((2, 2, 3), np.uint8), {})
    assert mapping == {} and (seg == -1).all()


@pytest.mark.skipif(importlib.util.find_spec('ai2thor') is not None,
                    reason='ai2thor is installed: the missing-package error cannot occur')
def test_clear_error_when_ai2thor_is_missing():
    with pytest.raises(AI2ThorUnavailable, match="'ai2thor' Python package"):
        AI2ThorSimulator().reset('FloorPlan1')
