"""Household traces: deterministic, well-formed, replayable."""

from collections import Counter

import pytest

from memory_nodes.memory.short_term import ShortTermConfig, ShortTermMemory
from memory_nodes.memory.traces import (
    HouseholdTraceConfig,
    QueryStep,
    TaskStep,
    WriteStep,
    generate_household_trace,
    replay,
)


@pytest.fixture(scope='module')
def trace():
    return generate_household_trace(HouseholdTraceConfig(seed=3, tasks=60))


def test_same_seed_same_trace(trace):
    again = generate_household_trace(HouseholdTraceConfig(seed=3, tasks=60))
    assert again == trace
    other = generate_household_trace(HouseholdTraceConfig(seed=4, tasks=60))
    assert other != trace


def test_trace_shape(trace):
    kinds = Counter(type(s).__name__ for s in trace)
    assert kinds['TaskStep'] == 60 and kinds['QueryStep'] > 100
    assert isinstance(trace[0], TaskStep)
    stamps = [s.change.stamp if isinstance(s, WriteStep) else s.stamp for s in trace]
    assert stamps == sorted(stamps)
    sources = Counter(s.change.source for s in trace if isinstance(s, WriteStep))
    assert sources['observation'] > sources['own_action'] > 0
    queried = Counter(s.object_id for s in trace if isinstance(s, QueryStep))
    # skewed reuse: some objects are needed many times, others once
    assert queried.most_common(1)[0][1] >= 10 and min(queried.values()) == 1
    seen_only = ({s.change.object_id for s in trace if isinstance(s, WriteStep)}
                 - set(queried))
    assert len(seen_only) > 5  # background objects are only ever seen


def test_task_labels_name_queried_objects(trace):
    tasks = [s for s in trace if isinstance(s, TaskStep)]
    assert all(t.labels and t.instruction for t in tasks)


def test_replay_counts_hits(trace):
    small = replay(trace, ShortTermMemory(ShortTermConfig(capacity=5, policy='lru')))
    large = replay(trace, ShortTermMemory(ShortTermConfig(capacity=500, policy='lru')))
    assert small.queries == large.queries > 0
    assert 0 < small.hit_rate < large.hit_rate <= 1
    assert large.writes == sum(isinstance(s, WriteStep) for s in trace)


def test_bad_trace_config():
    with pytest.raises(ValueError, match='tasks'):
        generate_household_trace(HouseholdTraceConfig(tasks=0))
