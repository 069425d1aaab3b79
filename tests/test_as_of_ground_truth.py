"""as_of and WhatChanged against the simulator's truth on a Stale episode.

A scripted person moves things between tasks; the robot runs the tasks in-process with
simulator segmentation. After every task the true objects are recorded; then memory is
asked, as of each of those stamps, where every object it believed in was, and what moved
between consecutive stamps (`memory_nodes.evaluation.as_of.as_of_accuracy`).
"""

import pytest

from memory_nodes.evaluation.as_of import as_of_accuracy, format_details, play_with_truth
from sim.task_schema import Episode, load_suite


@pytest.fixture(scope='module')
def stale_run():
    episode = load_suite('stale').episodes[1]
    episode = Episode(episode.episode_id, episode.home, episode.tasks[:4])
    assert any(c.op == 'move_object' for t in episode.tasks for c in t.world_changes)
    return play_with_truth(episode)


def test_as_of_and_what_changed_match_the_ground_truth(stale_run):
    correct, total, details = as_of_accuracy(stale_run.setup.memory, stale_run.truth)
    questions = {d['question'] for d in details if d['scored']}
    assert questions == {'as_of', 'changes'}, details
    print(f'as_of_accuracy={correct / total:.3f} ({correct}/{total})')
    assert correct / total >= 0.95, format_details(details)
    # A person's move the robot saw afterwards is reported as a move to the right place.
    person = {o for _, o in stale_run.truth.person_moves}
    assert any(d['question'] == 'changes' and d['object'] in person and d.get('correct')
               for d in details), format_details(details, wrong_only=False)


def test_a_wrong_belief_is_scored_wrong(stale_run):
    """The scorer is not blind: memory with the mug moved 1 m away fails those answers."""
    truth = stale_run.truth
    last = truth.snapshots[-1]
    memory = stale_run.setup.memory
    _, total, details = as_of_accuracy(memory, truth)
    version = next(v for nid, v in memory.ltm.timeline.as_of(last.stamp).items()
                   if v.layer == 'object' and any(
                       d.get('node') == nid and d['scored'] and d.get('correct')
                       and d['stamp'] == last.stamp for d in details))
    version.position = (version.position[0] + 1.0, version.position[1], version.position[2])
    version.support = None
    correct, total2, after = as_of_accuracy(memory, truth)
    assert total2 == total
    wrong = [d for d in after if d['scored'] and not d['correct']]
    assert any(d.get('node') == version.node_id for d in wrong), format_details(after)
