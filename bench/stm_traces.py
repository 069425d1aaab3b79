"""Short-term memory traces that our household generator did not make.

Two trace sets for `bench/stm.py`, next to the household traces:

* `alfred_l_traces()`: the object-use sequences implied by KARMA's ALFRED-L task files.
  The files only list sub-goals, so the trace is what those sub-goals make a robot do, in
  file order and nothing more: per sub-goal, the planner looks up each object the
  sub-goal names (a `QueryStep`) and the robot's action on it lands as an 'own_action'
  `WriteStep`. No sightings, no people and no popularity are invented;
* `episode_traces()`: STM traces recorded from simulator episodes of the composite suite
  (the `ltm+stm` condition, as `memory_nodes.evaluation.episodes.run_episode` records
  them), saved to bench/data/stm_episode_traces.json.gz by running this module:

      PYTHONPATH=. python bench/stm_traces.py record --episodes 5 \\
          --suites composite complex stale

  and read back by `episode_traces()`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory_nodes.memory.state_change import StateChange  # noqa: E402
from memory_nodes.memory.traces import QueryStep, TaskStep, TraceStep, WriteStep  # noqa: E402
from memory_nodes.planner.task_context import task_labels  # noqa: E402

EPISODE_TRACES = Path(__file__).resolve().parent / 'data' / 'stm_episode_traces.json.gz'
# Seconds between steps of an ALFRED-L trace: longer than the STM's 2 s duplicate window,
# so a repeated action on an object is a merge (a use), as it would be on a robot.
_STEP_S = 5.0


# --- ALFRED-L -------------------------------------------------------------------------

def alfred_l_tasks(files: Iterable[str | Path] | None = None) -> list[Any]:
    """Every ALFRED-L task of `files` (default: the shared simple + composite files)."""
    from sim.ai2thor.floorplan_tasks import ALFRED_FILES, alfred_l_dir
    from sim.alfred_l import import_alfred_l_file

    if files is None:
        files = [alfred_l_dir() / name for name in ALFRED_FILES]
    out = []
    for path in files:
        out += import_alfred_l_file(path).tasks
    return out


def _touched(goal: Any) -> list[str]:
    """Object types a sub-goal touches, in order (ON/INSIDE: the object, then where)."""
    names = [goal.obj]
    if goal.kind in ('ON', 'INSIDE') and goal.target:
        names.append(goal.target)
    return [n for n in names if n]


def alfred_l_trace(tasks: Iterable[Any]) -> list[TraceStep]:
    """One trace of `tasks` (`sim.alfred_l.ImportedTask`s) in order, objects per FloorPlan.

    Object ids are `fp<FloorPlan>/<type>`: an AI2-THOR FloorPlan holds one instance per
    type these tasks name, so the apple of two FloorPlan 1 tasks is the same apple. For
    each mapped sub-goal, for each object it touches in order: a query, then the robot's
    write (`changed` = the sub-goal's effect on that object). Sub-goals the importer could
    not map are not in the trace (`alfred_l_counts` reports how many).
    """
    steps: list[TraceStep] = []
    t = 0.0
    states: dict[str, dict[str, bool]] = {}
    for item in tasks:
        fp = item.raw.get('FloorPlan')
        goals = list(item.task.goals)
        t += _STEP_S
        steps.append(TaskStep(t, item.task.instruction, task_labels(goals)))
        for goal in goals:
            touched = _touched(goal)
            for i, kind in enumerate(touched):
                oid = f'fp{fp}/{kind}'
                t += _STEP_S
                steps.append(QueryStep(t, oid, kind))
                state = states.setdefault(oid, {})
                if goal.kind == 'STATE' and i == 0:
                    state[str(goal.target)] = goal.state_value
                    changed = [str(goal.target)]
                elif goal.kind in ('TOGGLEON', 'TOGGLEOFF'):  # SWITCHON etc. parse to these
                    state['on'] = goal.kind == 'TOGGLEON'
                    changed = ['on']
                elif i == 0:
                    changed = ['position']  # ON/INSIDE/HOLDING: the object is carried
                else:
                    changed = []  # the receptacle is used, not changed
                t += _STEP_S
                steps.append(WriteStep(StateChange(
                    label=kind, stamp=t, object_id=oid, room=item.room, states=dict(state),
                    changed=changed, source='own_action',
                    receptacle=f'fp{fp}/{touched[1]}' if i == 0 and len(touched) > 1
                    else None)))
    return steps


def alfred_l_counts(tasks: Iterable[Any]) -> tuple[int, int]:
    """(sub-goals in the trace, sub-goals the importer could not map) over `tasks`."""
    tasks = list(tasks)
    return (sum(len(t.task.goals) for t in tasks), sum(len(t.unmapped) for t in tasks))


def alfred_l_traces(files: Iterable[str | Path] | None = None) -> list[list[TraceStep]]:
    """One trace per ALFRED-L file (simple, composite), tasks in file order."""
    from sim.ai2thor.floorplan_tasks import ALFRED_FILES, alfred_l_dir

    if files is None:
        files = [alfred_l_dir() / name for name in ALFRED_FILES]
    return [alfred_l_trace(alfred_l_tasks([path])) for path in files]


# --- recorded episodes ----------------------------------------------------------------

def step_to_json(step: TraceStep) -> dict[str, Any]:
    """A trace step as plain JSON."""
    if isinstance(step, WriteStep):
        change = asdict(step.change)
        if change['position'] is not None:
            change['position'] = list(change['position'])
        return {'write': change}
    if isinstance(step, QueryStep):
        return {'query': {'stamp': step.stamp, 'object_id': step.object_id,
                          'label': step.label}}
    return {'task': {'stamp': step.stamp, 'instruction': step.instruction,
                     'labels': list(step.labels)}}


def step_from_json(data: dict[str, Any]) -> TraceStep:
    """The inverse of `step_to_json`."""
    if 'write' in data:
        change = dict(data['write'])
        if change.get('position') is not None:
            change['position'] = tuple(change['position'])
        return WriteStep(StateChange(**change))
    if 'query' in data:
        return QueryStep(**data['query'])
    task = data['task']
    return TaskStep(task['stamp'], task['instruction'], tuple(task['labels']))


def episode_traces(path: Path = EPISODE_TRACES) -> list[list[TraceStep]]:
    """The recorded episode traces (see the module docstring for how they were made)."""
    with gzip.open(path, 'rt') as src:
        doc = json.load(src)
    return [[step_from_json(s) for s in trace['steps']] for trace in doc['traces']]


def record(episodes: int, suites: Iterable[str] = ('composite',),
           path: Path = EPISODE_TRACES) -> None:
    """Run the first `episodes` episodes of each suite under ltm+stm; save their traces."""
    from memory_nodes.evaluation.episodes import run_episode
    from sim.pybullet_sim import PyBulletSimulator
    from sim.task_schema import load_suite

    suites = list(suites)
    sim = PyBulletSimulator(width=64, height=48)
    traces = []
    for suite in suites:
        for episode in load_suite(suite).episodes[:episodes]:
            t0 = time.perf_counter()
            trace: list[TraceStep] = []
            report = run_episode(sim, episode, 'ltm+stm', trace=trace,
                                 text_embeddings='hashing')
            print(f'[record] {episode.episode_id}: {len(trace)} steps, '
                  f'{sum(isinstance(s, QueryStep) for s in trace)} queries, '
                  f'{time.perf_counter() - t0:.0f} s', flush=True)
            traces.append({'suite': suite, 'episode': episode.episode_id,
                           'tasks': len(report.tasks),
                           'steps': [step_to_json(s) for s in trace]})
    doc = {'command': 'PYTHONPATH=. python bench/stm_traces.py record '
                      f'--episodes {episodes} --suites {" ".join(suites)}',
           'condition': 'ltm+stm', 'simulator': 'PyBulletSimulator(width=64, height=48)',
           'text_embeddings': 'hashing', 'traces': traces}
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, 'wt') as out:
        json.dump(doc, out, separators=(',', ':'))
    print(f'[record] wrote {path}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    rec = sub.add_parser('record', help='record episode traces to bench/data')
    rec.add_argument('--episodes', type=int, default=2)
    rec.add_argument('--suites', nargs='+', default=['composite'])
    args = parser.parse_args(argv)
    record(args.episodes, args.suites)


if __name__ == '__main__':
    main()
