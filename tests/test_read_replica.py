"""The read replica answers every read exactly as the memory it copies, without its lock.

`RobotMemory(read_replica=True)` (the memory node's default) serves queries, scene-graph
exports, past views and changes from a copy kept in step at every commit. Random
sequences of real memory operations on a real SQLite file (fused frames, state changes,
merges, removals, absences, rooms, poses, relabels, retention, save/load, reset) must
leave the copy equal to the memory after every commit; a read must finish while fusion
holds the memory's lock; readers and a writer running at once raise nothing.
"""

import json
import tempfile
import threading
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_export_incremental import LABELS, OPS, ROOMS, apply, config, observation

from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory


def normal(text: str) -> dict:
    """A graph dump with its lists in a fixed order (the copy may order edges otherwise)."""
    data = json.loads(text)
    data['nodes'] = sorted(data['nodes'], key=lambda n: n['id'])
    data['edges'] = sorted(data['edges'])
    data['history'] = sorted(data['history'], key=lambda e: e['seq'])
    return data


def live_and_copy(memory: RobotMemory, read):
    """`read(memory)` answered by the memory itself (under its lock) and by the replica."""
    replica = memory.replica
    memory.replica = None
    try:
        live = read(memory)
    finally:
        memory.replica = replica
    return live, read(memory)


def hits(found) -> list:
    return [(h.node.id, h.node.label, h.node.status, round(h.score, 9), h.support,
             [round(float(v), 6) for v in h.node.position], dict(h.node.states))
            for h in found]


QUERIES = [ObjectQuery(label=lbl) for lbl in LABELS] + \
    [ObjectQuery(room=r) for r in ROOMS] + \
    [ObjectQuery(text='something to drink from'), ObjectQuery(text='a red fruit', top_k=3),
     ObjectQuery(near_point=(0.6, 0.6, 0.8), radius=1.0),
     ObjectQuery(near_point=(1.0, 0.0, 0.8), top_k=4),
     ObjectQuery(relation='on', relation_target='table'), ObjectQuery()]


def check(memory: RobotMemory) -> None:
    with memory.lock:
        memory.ltm._commit()  # noqa: SLF001 - reads see commits; flush an uncommitted edit
    live, copy = live_and_copy(memory, lambda m: m.graph_json())
    assert normal(copy) == normal(live)
    for q in QUERIES:
        live, copy = live_and_copy(memory, lambda m, q=q: hits(m.query(q)))
        assert copy == live, q
    latest = memory.ltm.timeline.latest
    if np.isfinite(latest):
        for back in (0.0, 1.5, 4.0):
            t = latest - back
            if memory.ltm.timeline.horizon is not None and t < memory.ltm.timeline.horizon:
                continue
            live, copy = live_and_copy(
                memory, lambda m, t=t: normal(m.scene_graph_json(as_of=t)[0]))
            assert copy == live
            live, copy = live_and_copy(
                memory, lambda m, t=t: hits(m.query(ObjectQuery(label='mug'), as_of=t)))
            assert copy == live
        since = memory.ltm.timeline.horizon or 0.0
        live, copy = live_and_copy(memory, lambda m: [c.to_dict() for c in m.changes(since)])
        assert copy == live
    for budget, focus in ((60, []), (400, ['mug']), (1200, ['kitchen'])):
        live, copy = live_and_copy(
            memory, lambda m, b=budget, f=focus: m.collapsed_export(b, f)[0].text)
        assert copy == live


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=10))
def test_replica_reads_equal_the_memory_after_every_commit(ops):
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        memory = RobotMemory(config(), db_path=tmp / 'memory.db', read_replica=True)
        try:
            check(memory)
            for step, op in enumerate(ops):
                apply(memory, op, 1.0 + step, tmp)
                check(memory)
        finally:
            memory.close()


def seen_home(memory: RobotMemory, frames: int = 3) -> None:
    for t in range(frames):
        memory.observe([observation(i, LABELS[i % len(LABELS)], float(t), seed=i)
                        for i in range(12)])


def test_a_read_finishes_while_fusion_holds_the_memory_lock():
    memory = RobotMemory(config(), read_replica=True)
    seen_home(memory)
    answers = []
    with memory.lock:  # what fusion holds for a whole frame
        reader = threading.Thread(target=lambda: answers.append(
            (memory.query(ObjectQuery(label='mug')), memory.graph_json(),
             memory.collapsed_export(400, ['mug'])[0].text)))
        reader.start()
        reader.join(timeout=10.0)
        assert not reader.is_alive(), 'a read waited for the memory lock'
    (found, text, collapsed), = answers
    assert found and all(h.node.label == 'mug' for h in found)
    assert len(json.loads(text)['nodes']) == len(memory.ltm.graph.nodes)
    assert 'mug' in collapsed
    # Without a replica the same read does wait (what the memory node did before).
    plain = RobotMemory(config())
    seen_home(plain)
    with plain.lock:
        reader = threading.Thread(target=lambda: plain.query(ObjectQuery(label='mug')))
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive()
    reader.join()


def test_readers_and_a_writer_at_once_raise_nothing():
    memory = RobotMemory(config(), read_replica=True)
    seen_home(memory, 2)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            try:
                memory.query(ObjectQuery(label=LABELS[k % len(LABELS)]))
                memory.query(ObjectQuery(near_point=(0.6, 0.6, 0.8), radius=1.0))
                memory.graph_json()
                memory.collapsed_export(300, ['mug'])
                latest = memory.ltm.timeline.latest
                memory.query(ObjectQuery(label='mug'), as_of=latest - 0.5)
            except BaseException as exc:  # noqa: BLE001 - the test reports any
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for t in range(2, 40):
        memory.observe([observation((i + t) % 16, LABELS[i % len(LABELS)], float(t),
                                    seed=i + t, shift=0.3 * (i == t % 5))
                        for i in range(10)])
        if t % 10 == 0:
            with memory.lock:
                memory.ltm.apply_retention()
    stop.set()
    for r in readers:
        r.join()
    assert not errors, errors[:3]
    assert memory.replica.applied > 30 and memory.replica.rebuilt >= 2
    live, copy = live_and_copy(memory, lambda m: normal(m.graph_json()))
    assert copy == live
