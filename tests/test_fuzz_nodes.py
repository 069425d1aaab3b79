"""Fuzzing every node's callbacks and services (the short version of the reliability suite).

In process: each node in a private rclpy context, its callbacks and service handlers
called with hostile messages drawn by hypothesis; no exception escapes, the node still
does its job, and a rejected input leaves its state (the memory's digest) unchanged.
Over DDS: garbage published at a memory node process, which still answers afterwards.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_nodes.evaluation.reliability import fuzz as fz
from memory_nodes.evaluation.reliability import fuzz_messages as fm

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]


def _assert_clean(stats):
    for s in stats:
        assert s.inputs > 0, s
        assert (s.exceptions, s.deaths, s.changed_by_rejected) == (0, 0, 0), \
            f'{s.node} {s.target}:\n' + '\n'.join(s.examples)


@pytest.mark.parametrize('node,scale', [('memory', 0.04), ('perception', 0.05),
                                        ('planner', 0.05), ('sim_bridge', 0.05)])
def test_node_survives_fuzzed_callbacks_and_services(node, scale, tmp_path):
    counts = {t: max(8, int(n * scale)) for t, n in fz.FULL_EXAMPLES[node].items()}
    stats = fz.fuzz_nodes({node: counts}, tmp_path, check_every=25)
    _assert_clean(stats)
    assert {s.target for s in stats} == set(fz.FULL_EXAMPLES[node])
    if node == 'memory':
        # Most hostile inputs are refused, and each refusal was checked for changes.
        assert sum(s.rejected for s in stats) > sum(s.inputs for s in stats) // 4


def test_digest_tells_content_apart_and_ignores_reads(tmp_path):
    from memory_nodes.memory.config import LongTermMemoryConfig
    from memory_nodes.memory.observation import ObjectObservation
    from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
    from memory_nodes.memory.state_change import StateChange

    cfg = LongTermMemoryConfig()
    cfg.embedder.backend = 'hashing'
    memory = RobotMemory(cfg, db_path=tmp_path / 'm.db')
    empty = memory.digest()
    rng = np.random.default_rng(0)
    for stamp in (1.0, 2.0):
        memory.observe([ObjectObservation('Apple', 0.9, np.array([1.0, 1.0, 0.9])
                                          + rng.uniform(-0.03, 0.03, (40, 3)), stamp)])
    seen = memory.digest()
    assert seen != empty and len(seen) == 64
    memory.query(ObjectQuery(label='apple'))
    memory.recall('apple')
    memory.save(tmp_path / 'snap.json.gz')
    assert memory.digest() == seen
    memory.record(StateChange('Apple', 3.0, states={'sliced': True}, changed=['sliced']))
    assert memory.digest() != seen


DDS_SETTINGS = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                        suppress_health_check=list(HealthCheck))


def test_memory_node_process_survives_garbage_over_dds(tmp_path, ros_env):
    """A sample over real DDS: hostile messages on every input topic of a memory node."""
    from embodied_memory_msgs.msg import ObjectObservationArray, ObjectStateEvent
    from embodied_memory_msgs.srv import QueryObjects
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from ros_processes import NodeProcess, RosClient
    from std_msgs.msg import String

    params = {'database_path': str(tmp_path / 'memory.db'), 'text_embeddings': 'hashing',
              'reliable_sensors': True}
    memory = NodeProcess('memory_nodes.ros.memory_node', params, ros_env)
    client = RosClient('fuzz_publisher')
    try:
        memory.wait_for('memory ready')
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        pubs = {
            'observations': client.node.create_publisher(ObjectObservationArray,
                                                         'observations', reliable),
            'events': client.node.create_publisher(ObjectStateEvent, 'object_state_events',
                                                   reliable),
            'rooms': client.node.create_publisher(String, 'rooms', latched),
            'context': client.node.create_publisher(String, 'task_context', latched),
        }
        deadline = time.monotonic() + 20
        while memory.alive() and time.monotonic() < deadline and \
                pubs['observations'].get_subscription_count() == 0:
            time.sleep(0.1)
        sent = {'published': 0, 'unsendable': 0}

        def publish(topic, msg):
            try:
                pubs[topic].publish(msg)
                sent['published'] += 1
            except Exception:  # noqa: BLE001 - e.g. a lone surrogate cannot be serialized
                sent['unsendable'] += 1

        @DDS_SETTINGS
        @given(st.one_of(fm.observation_array().map(lambda m: ('observations', m)),
                         fm.state_event().map(lambda m: ('events', m)),
                         fm.string_msg().map(lambda m: ('rooms', m)),
                         fm.string_msg().map(lambda m: ('context', m))))
        def flood(item):
            publish(*item)

        flood()
        assert sent['published'] >= 30, sent
        time.sleep(1.0)
        assert memory.alive(), memory.output()
        # Still serving, and still fusing: a good object seen now is found.
        stamp = time.time()
        for i in range(3):
            pubs['observations'].publish(fz._valid_frame(stamp + i * 0.2, 'Teapot',
                                                         (2.0, 2.0, 0.9)))
            time.sleep(0.2)
        found = []
        for _attempt in range(40):
            reply = client.call(QueryObjects, 'query_objects',
                                QueryObjects.Request(label='teapot'), timeout=10.0)
            found = list(reply.objects)
            if found:
                break
            time.sleep(0.25)
        assert found, memory.output()[-3000:]
        stats = client.stats('memory_stats')
        assert stats['rejected_messages'] or stats['ltm']['input']['rejected']
        assert 'Traceback' not in memory.output()
    finally:
        client.close()
        memory.stop()
