"""A recording of a live sim-stack episode replays into the memory of the live run.

The ROS stack (sim bridge, perception with the camera pose from TF, memory, planner and
the recorder: five processes over Fast DDS on loopback) runs the first tasks of a Stale
episode with `record:=true`; the live memory is saved. Replaying the MCAP offline, with
nothing but the bag, must rebuild the same confirmed objects and furniture (label and
centroid within 0.15 m), and the bag must be a valid, complete MCAP.
"""

from __future__ import annotations

import pytest
from mcap.reader import make_reader

from memory_nodes.bags.replay import (
    ReplayOptions,
    confirmed_objects,
    match_confirmed,
    replay_bag,
)
from memory_nodes.evaluation.live_recording import load_memory, record_live_episode
from sim.task_schema import Episode, load_suite

pytestmark = pytest.mark.ros


def test_a_live_recording_replays_into_the_live_memory(tmp_path, ros_env, monkeypatch):
    for key in ('ROS_DOMAIN_ID', 'PYTHONPATH'):
        monkeypatch.setenv(key, ros_env[key])
    episode = load_suite('stale').episodes[0]
    episode = Episode(episode.episode_id, episode.home, episode.tasks[:2])
    live = record_live_episode(episode, tmp_path)
    assert live.tasks and all(ok for _, ok in live.tasks), live.tasks

    with live.bag.open('rb') as f:
        summary = make_reader(f, validate_crcs=True).get_summary()
    topics = {c.topic for c in summary.channels.values()}
    assert {'/tf', '/tf_static', '/rgb/image_raw', '/object_state_events',
            '/rooms'} <= topics, topics

    result = replay_bag(live.bag, ReplayOptions(out=tmp_path / 'replayed'))
    s = result.summary
    assert s['frames_used'] >= 0.95 * s['frames_in_bag'] > 0, s['frames_dropped']
    assert s['memory_inputs']['rooms']['applied'] >= 1
    live_memory = load_memory(live.memory_file)
    assert len(confirmed_objects(live_memory)) >= 20
    match = match_confirmed(live_memory, result.memory, tol_m=0.15)
    assert match >= 0.95, (match, s)
    assert (tmp_path / 'replayed' / 'memory.db').is_file()
