"""Evaluation pieces without a simulator: token counts, place hints, task labels, traces, CLI."""

from __future__ import annotations

import argparse

import pytest

from memory_nodes.domain.goals import parse_condition
from memory_nodes.domain.references import PlaceHint, place_hints
from memory_nodes.evaluation import bench_cli
from memory_nodes.evaluation.bench_runner import make_perception, replay_traces
from memory_nodes.evaluation.conditions import make_condition
from memory_nodes.evaluation.episodes import goal_types, task_labels
from memory_nodes.evaluation.tokens import (
    HistoryTokenCounter,
    count_tokens,
    memory_prompt_text,
    memory_prompt_tokens,
)
from memory_nodes.memory.state_change import StateChange
from memory_nodes.memory.traces import QueryStep, TaskStep, WriteStep
from memory_nodes.planner.memory_views import LogEntry
from sim.task_schema import Task

AREAS = ['kitchen', 'living_room', 'bedroom', 'bathroom']


def goals(*texts: str):
    return [parse_condition(t) for t in texts]


def test_history_tokens_count_each_line_once_and_match_a_full_count():
    setup = make_condition('history')
    log = setup.view.log
    counter = HistoryTokenCounter()
    for i in range(30):
        log.append(LogEntry(float(i), 'apple', (1.0, 2.0, 0.9), {'sliced': False}))
    first = memory_prompt_tokens(setup, 'Bring me the apple.', counter)
    full = count_tokens('Bring me the apple.') + count_tokens(
        '\n'.join(e.text() for e in log))
    assert first == full
    log.append(LogEntry(31.0, 'mug', (0.0, 0.0, 1.0)))
    second = memory_prompt_tokens(setup, 'Bring me the apple.', counter)
    assert second == first + count_tokens(log[-1].text())
    assert counter.lines == 31


def test_ours_counts_instruction_and_memory_context():
    setup = make_condition('ltm+stm', text_embeddings='hashing')
    text = memory_prompt_text(setup, 'Bring me the apple.')
    assert text.startswith('Bring me the apple.')
    assert memory_prompt_tokens(setup, 'Bring me the apple.') == count_tokens(text)


@pytest.mark.parametrize('instruction, goal, hint', [
    ('Wash the cloth on the toilet.', 'STATE(Cloth, clean): 1', PlaceHint(support='Toilet')),
    ('Turn on the desk lamp in the bedroom.', 'TOGGLEON(DeskLamp): 1',
     PlaceHint(room='bedroom')),
    ('Put the watch on the shelf on the bed.', 'ON(Watch, Bed): 1',
     PlaceHint(support='Shelf')),
    ('Move the remote control you put on the bed to the dining table.',
     'ON(RemoteControl, DiningTable): 1', PlaceHint(support='Bed')),
    ('Bring me the dish sponge in the sink basin.', 'HOLDING(DishSponge): 1',
     PlaceHint(support='SinkBasin')),
])
def test_place_hints(instruction, goal, hint):
    assert place_hints(instruction, goals(goal), AREAS) == {goals(goal)[0].obj: hint}


def test_destination_is_not_a_hint_and_no_phrase_no_hint():
    assert place_hints('Put the potato on the sofa.', goals('ON(Potato, Sofa): 1'), AREAS) == {}
    assert place_hints('Chill the green bottle.', goals('STATE(Bottle, cold): 1'), AREAS) == {}


def test_task_labels_include_state_tools_and_spellings():
    task = Task('t', 'Chill the bottle and put it on the counter top.',
                goals('STATE(#Bottle_1, cold): 1', 'ON(#Bottle_1, CounterTop): 1'))
    assert goal_types(task) == ('Bottle', 'CounterTop')
    labels = task_labels(task)
    for want in ('Bottle', 'bottle', 'CounterTop', 'counter top', 'counter_top', 'Fridge'):
        assert want in labels
    assert 'cold' not in labels


def test_replay_traces_hit_rates():
    def write(oid: str, t: float) -> WriteStep:
        return WriteStep(StateChange(label='apple', stamp=t, object_id=oid,
                                     position=(0.0, 0.0, 0.0), changed=['seen'],
                                     source='observation'))

    trace = [TaskStep(0.0, 'x', ('apple',)), write('a', 1.0), write('b', 2.0),
             write('c', 3.0), QueryStep(4.0, 'a', 'apple'), QueryStep(5.0, 'c', 'apple')]
    hits = replay_traces([trace], policies=('fifo',), capacities=(1, 3))
    assert hits['fifo'] == [pytest.approx(0.5), pytest.approx(1.0)]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers(dest='command'))
    return parser.parse_args(['bench', 'tasks', *argv])


def test_cli_quick_config_and_command_text():
    args = parse('--quick', '--conditions', 'none', 'ltm+stm', '--policy', 'lru')
    cfg = bench_cli.config_from_args(args)
    assert cfg.episodes == bench_cli.QUICK_EPISODES and cfg.tasks == bench_cli.QUICK_TASKS
    assert cfg.conditions == ['none', 'ltm+stm'] and cfg.policy == 'lru'
    text = bench_cli.command_text(args)
    assert text.startswith('embodied-memory bench tasks --suites simple composite')
    assert '--quick' in text and '--policy lru' in text


def test_cli_ros_without_runner_exits_with_a_message(capsys):
    assert bench_cli.main(parse('--ros'),
                          ros_module='memory_nodes.evaluation.no_such_module') == 2
    assert 'run_episode_ros' in capsys.readouterr().err


def test_yolo_without_weights_is_the_shipped_detector_and_missing_weights_are_named(tmp_path):
    from memory_nodes.perception.yolo_detector import shipped_weights

    assert make_perception('sim_segmentation', None) is None
    assert make_perception('yolo', None).detector.weights == shipped_weights()
    missing = tmp_path / 'nope.pt'
    with pytest.raises(ValueError, match=f'weights {missing} not found'):
        make_perception('yolo', str(missing))
    with pytest.raises(ValueError):
        make_perception('radar', None)


def test_task_files_load_whole_and_say_what_did_not_map():
    from memory_nodes.evaluation.bench_runner import load_suites
    from sim.ai2thor.floorplan_tasks import alfred_l_dir
    from sim.alfred_l import import_alfred_l_file

    path = alfred_l_dir() / 'simple_tasks.json'
    suites, intake = load_suites([], [str(path), str(path)])
    # Two files of one kind: two suites with distinct names, neither dropping a task.
    assert [s.name for s in suites] == ['alfred_l-simple', 'alfred_l-simple.simple_tasks']
    raw = import_alfred_l_file(path)
    for suite in suites:
        info = intake[suite.name]
        assert sum(len(ep.tasks) for ep in suite.episodes) == info.tasks == len(raw.tasks)
        assert info.ran == sum(1 for t in raw.tasks if t.task.goals)
        assert info.fully_mapped == sum(1 for t in raw.tasks if t.task.goals and not t.unmapped)
        assert [(task_id, text) for task_id, text, _ in info.unmapped] == [
            (t.task.task_id, u['text']) for t in raw.tasks for u in t.unmapped]


def test_history_view_names_places_stably_and_knows_the_map_rooms():
    from memory_nodes.planner.memory_views import HistoryView

    view = HistoryView({'kitchen': (0.0, 0.0, 4.0, 4.0), 'bedroom': (4.0, 0.0, 8.0, 4.0)})
    view.append(LogEntry(1.0, 'CounterTop', (1.0, 1.0, 0.9)))
    view.append(LogEntry(2.0, 'CounterTop', (1.2, 1.1, 0.9)))  # the same counter
    view.append(LogEntry(3.0, 'CounterTop', (3.0, 1.0, 0.9)))  # another one
    view.append(LogEntry(4.0, 'DeskLamp', (5.0, 1.0, 0.9)))
    first = view.find(label='CounterTop', top_k=10)
    assert len(first) == 2
    view.append(LogEntry(5.0, 'CounterTop', (1.1, 1.0, 0.9)))
    assert {h.id for h in view.find(label='CounterTop', top_k=10)} == {h.id for h in first}
    assert view.find(label='DeskLamp')[0].room == 'bedroom'
    assert view.find(label='DeskLamp', room='kitchen') == []
    assert view.rooms() == ['bedroom', 'kitchen']
