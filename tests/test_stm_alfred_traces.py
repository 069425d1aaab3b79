"""The ALFRED-L trace generator of the STM benchmark (bench/stm_traces.py)."""

from bench.stm_traces import alfred_l_trace, step_from_json, step_to_json
from memory_nodes.memory.traces import QueryStep, TaskStep, WriteStep
from sim.alfred_l import import_alfred_l

# ALFRED-L CompositeTasks ID 1 and SimpleTasks ID 1, copied from the files.
DOC = {
    'CompositeTasks': [{
        'FloorPlan': 1, 'ID': 1,
        'Goal Condition': 'STATE(apple, sliced): 1, INSIDE(apple, trash): 1, '
                          'ON(bread, plate): 1, INSIDE(plate, fridge): 1',
        'Instruction': 'slice the apple, throw the Tomato in the trash, place the bread '
                       'slices on a plate, put the plate in the fridge.'}],
    'SimpleTasks': [{
        'FloorPlan': 1, 'ID': 1,
        'Goal Condition': 'ON(apple, table): 1, INSIDE(tomato, sink): 1, '
                          'TOGGLEON(faucet): 1, STATE(tomato, clean): 1',
        'Instruction': 'Place the apple on the table, wash a tomato.'}],
}


def test_alfred_l_trace_touches_the_sub_goals_objects_in_order():
    tasks = import_alfred_l(DOC).tasks
    trace = alfred_l_trace(tasks)
    queries = [s.object_id for s in trace if isinstance(s, QueryStep)]
    # Checked by hand against the goal conditions (trash -> GarbageCan, table ->
    # DiningTable, sink -> SinkBasin; STATE(tomato, clean) touches the tomato again).
    assert queries == ['fp1/Apple', 'fp1/Apple', 'fp1/GarbageCan', 'fp1/Bread', 'fp1/Plate',
                       'fp1/Plate', 'fp1/Fridge',
                       'fp1/Apple', 'fp1/DiningTable', 'fp1/Tomato', 'fp1/SinkBasin',
                       'fp1/Faucet', 'fp1/Tomato']
    writes = [s.change for s in trace if isinstance(s, WriteStep)]
    assert [w.object_id for w in writes] == queries  # each query is followed by its write
    assert all(w.source == 'own_action' for w in writes)
    assert writes[0].states == {'sliced': True} and writes[0].changed == ['sliced']
    assert writes[1].receptacle == 'fp1/GarbageCan' and writes[1].changed == ['position']
    assert writes[-2].states == {'on': True}  # the faucet
    assert writes[-1].states == {'dirty': False}  # the tomato, washed
    kinds = [type(s).__name__ for s in trace]
    assert kinds[0] == 'TaskStep' and kinds.count('TaskStep') == 2
    assert 'Apple' in trace[0].labels and 'GarbageCan' in trace[0].labels
    stamps = [s.change.stamp if isinstance(s, WriteStep) else s.stamp for s in trace]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_trace_steps_survive_json():
    trace = alfred_l_trace(import_alfred_l(DOC).tasks)
    again = [step_from_json(step_to_json(s)) for s in trace]
    assert again == trace and isinstance(again[0], TaskStep)
