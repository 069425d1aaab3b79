"""`make demo` / `embodied-memory demo`: a household episode end to end over ROS 2.

Launches `sim_stack` (sim bridge, perception, memory, planner: four processes), loads a
Composite episode (several tasks in one home, memory carried across tasks), and for each
task asks the planner through the ExecuteTask action, printing every skill as feedback
arrives and the task's score from the simulator. At the end: a summary (success, skills,
exploration, memory size, fusion and query latency, dropped frames), the saved memory
file, and a PNG of the scene graph over the floor plan.

`--planner lm` runs the same stack with the planner's instructions read by the offline
fine-tuned language model: each task is sent as its instruction alone (no goal
conditions; the simulator still scores against the task's goals), and the demo prints
what the model read before the skills. `--say "..."` (repeatable) sends a person's own
instructions, read by the model, in the episode's home; nobody wrote goal conditions for
them, so they are reported by the planner's account (done, refused, failed and why), not
scored. `--detector yolo` replaces the simulator's masks with the learned detector (the
weights shipped in models/detector, RGB only) and tells the memory its measured recall and
confusions: the whole map is then built from what a camera-only robot would see.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from memory_nodes.launch.ros_env import apply_loopback_defaults


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float('nan')


def _type_only(goal: str) -> str:
    """'INSIDE(#Apple_1, Fridge): 1' -> 'INSIDE(Apple, Fridge): 1' (memory has no sim ids)."""
    from memory_nodes.domain.goals import parse_condition
    from memory_nodes.planner.task_runner import strip_instances

    return strip_instances(parse_condition(goal)).to_text()


def _warm_recall(client, instruction: str) -> None:  # noqa: ANN001 - a StackClient
    """Ask memory one recall before the first task, with time to load its text embedder.

    The model's memory context recalls recent entries; the memory node loads its embedding
    model on the first recall, which can take longer than the planner waits for memory.
    """
    from embodied_memory_msgs.srv import RecallStates

    recall = client.node.create_client(RecallStates, 'recall_states')
    try:
        client.call(recall, RecallStates.Request(instruction=instruction, top_k=1), 180.0)
    except (TimeoutError, RuntimeError) as exc:
        print(f'[demo] memory did not answer a first recall: {exc}', flush=True)
    finally:
        client.node.destroy_client(recall)


def _print_feedback(msg, read: list[str]) -> None:  # noqa: ANN001 - an ExecuteTask feedback
    """One feedback line: what the instruction was read into, or a skill."""
    fb = msg.feedback
    if fb.status == 'goals_read':
        read.append(fb.current_skill)
        print(f'       read: {fb.current_skill}', flush=True)
    else:
        print(f'       {fb.step_index:>3}. {fb.current_skill}', flush=True)


def _why_failed(score: dict, result) -> str:  # noqa: ANN001 - ExecuteTask.Result
    """Why a task failed, for the person watching: what the scorer missed, what the planner says.

    The planner may believe it done (it brought the wrong cloth): then only the scorer's
    first unreached sub-goal says what went wrong.
    """
    missed = score.get('failed_condition') or 'a sub-goal'
    if result.success:
        planner = 'believed it done' + (f' ({result.error_msg})' if result.error_msg else '')
    else:
        planner = result.error_msg or 'stopped without a reason'
    return f'not reached: {missed} (sub-goal {score["reached"] + 1}/{score["total"]}); ' \
           f'planner: {planner}'


PLANNERS = ('grounded', 'lm')
DETECTORS = ('sim_segmentation', 'yolo')


def run_demo(suite: str = 'composite', episode: int = 0, tasks: int = 0,
             out_dir: str = 'demo_out', timeout: float = 90.0, planner: str = 'grounded',
             say: list[str] | None = None, detector: str = 'sim_segmentation') -> int:
    """Run the demo episode; 0 when every scored task succeeded.

    `planner`: 'grounded' (the task's goal conditions are sent) or 'lm' (only the
    instruction; the language model reads it into goals). `say`: a person's own
    instructions, sent after the episode's first `tasks` tasks (none unless `tasks` is
    given) and read by the language model; reported, not scored.
    """
    if planner not in PLANNERS:
        raise ValueError(f'planner must be one of {", ".join(PLANNERS)}, got {planner!r}')
    if detector not in DETECTORS:
        raise ValueError(f'detector must be one of {", ".join(DETECTORS)}, got {detector!r}')
    said = list(say or [])
    from_words = planner == 'lm' or bool(said)
    apply_loopback_defaults()
    from memory_nodes.evaluation.scene_graph_plot import FloorPlan, plot_scene_graph
    from memory_nodes.launch.launcher import Launcher, plan
    from memory_nodes.ros.stack_client import StackClient

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    db = out / 'memory.db'
    for stale in (db, Path(f'{db}-wal'), Path(f'{db}-shm')):
        stale.unlink(missing_ok=True)
    t_start = time.perf_counter()
    print(f'[demo] launching sim_stack (sim bridge, perception, memory, planner) for '
          f'{suite} episode {episode} ...', flush=True)
    params: dict[str, dict[str, object]] = {
        'sim_bridge': {'suite': suite, 'episode': episode},
        'memory': {'database_path': str(db)}}
    if detector == 'yolo':
        from memory_nodes.perception.yolo_detector import shipped_weights

        weights = shipped_weights()
        if not weights.is_file():
            raise FileNotFoundError(f'the shipped detector weights are missing: {weights}')
        params['perception'] = {'detector': 'yolo'}
        params['memory']['ltm.detector_profile'] = 'shipped'
        print(f'[demo] perception: the learned detector ({weights.name}, shipped; RGB only, '
              'no simulator masks), the memory told its measured recall', flush=True)
    if from_words:
        params['planner'] = {'instruction_reader': 'language_model'}
        print('[demo] planner: instructions only, read by the fine-tuned language model '
              '(goal conditions are not sent; the simulator scores against them)', flush=True)
    launcher = Launcher(plan('sim_stack', params), quiet=True)
    launcher.start()
    client = None
    code = 1
    try:
        client = StackClient(timeout * 3 if from_words else timeout)  # + the model's load
        client.wait_ready()
        info = client.control('load_episode', suite=suite, episode=episode)
        task_list = info['tasks'][:tasks] if tasks or said else info['tasks']
        print(f'[demo] home {info["home"]}: rooms {", ".join(sorted(info["rooms"]))}; '
              f'{len(task_list)} tasks, memory starts empty', flush=True)
        rows = []
        for i, task in enumerate(task_list, 1):
            begun = client.control('begin_task', task_id=task['id'])
            goals = [_type_only(g) for g in task['goal']]
            print(f'\n[demo] task {i}/{len(task_list)} {task["id"]}: {task["instruction"]}'
                  + (f'  ({begun["world_changes"]} change(s) made behind the robot\'s back)'
                     if begun['world_changes'] else ''), flush=True)
            print(f'       goal: {", ".join(goals)}'
                  + ('  (scored only: not sent)' if from_words else ''), flush=True)
            read: list[str] = []
            if from_words and i == 1:
                _warm_recall(client, task['instruction'])
            t0 = time.perf_counter()
            result = client.run_task(task['instruction'], [] if from_words else goals,
                                     lambda msg, seen=read: _print_feedback(msg, seen))
            if from_words and not read:
                print(f'       read: nothing ({result.error_msg})', flush=True)
            score = client.control('end_task')
            rows.append((task, result, score, time.perf_counter() - t0))
            verdict = 'SUCCESS' if score['success'] else 'FAILED'
            print(f'       -> {verdict} (goal conditions {score["reached"]}/{score["total"]}, '
                  f'{len(result.executed_skills)} skills, {result.exploration_steps} '
                  f'exploration(s), {result.replans} re-plan(s), '
                  f'{time.perf_counter() - t0:.1f} s)'
                  + ('' if score['success'] else f'; {_why_failed(score, result)}'), flush=True)
        heard: list[bool] = []  # per said instruction: done by the planner's account
        for i, text in enumerate(said, 1):
            print(f'\n[demo] you said ({i}/{len(said)}): {text}', flush=True)
            read = []
            if i == 1 and not rows:
                _warm_recall(client, text)
            t0 = time.perf_counter()
            result = client.run_task(text, [], lambda msg, seen=read: _print_feedback(msg, seen))
            if not read:
                print(f'       read: nothing ({result.error_msg})', flush=True)
            heard.append(bool(result.success))
            outcome = 'DONE' if result.success else ERROR_NAMES.get(result.error_code, 'FAILED')
            print(f"       -> {outcome} by the planner's account (not scored: no goal "
                  f'conditions were written for it; {len(result.executed_skills)} skills, '
                  f'{time.perf_counter() - t0:.1f} s)'
                  + (f'; {result.error_msg}' if result.error_msg else ''), flush=True)
        code = _summary(client, rows, out, suite, episode, plot_scene_graph,
                        FloorPlan.from_json(info), t_start, heard, detector)
    finally:
        if client is not None:
            client.close()
        launcher.stop()
        print('[demo] stack stopped', flush=True)
    return code


#: ExecuteTask error codes as a person reads them.
ERROR_NAMES = {1: 'REFUSED', 2: 'PLANNING FAILED', 3: 'EXECUTION FAILED', 4: 'CANCELED'}


def _summary(client, rows, out, suite, episode, plot, floor_plan, t_start,  # noqa: ANN001
             heard: list[bool] | None = None, detector: str = 'sim_segmentation') -> int:
    from embodied_memory_msgs.srv import GetSceneGraph, QueryObjects, SaveMemory

    ok = sum(1 for _, _, s, _ in rows if s['success'])
    skills = sum(len(r.executed_skills) for _, r, _, _ in rows)
    explorations = sum(r.exploration_steps for _, r, _, _ in rows)
    path = sum(r.path_length for _, r, _, _ in rows)
    mem = client.stats(client.memory_stats)
    per = client.stats(client.perception_stats)
    query_ms = []
    for label in ('apple', 'fridge', 'countertop', 'mug', 'sofa') * 10:
        t0 = time.perf_counter()
        client.call(client.query, QueryObjects.Request(label=label))
        query_ms.append((time.perf_counter() - t0) * 1000.0)
    saved = client.call(client.save, SaveMemory.Request(path=str(out / 'memory.json.gz')))
    full = client.call(client.graph, GetSceneGraph.Request(mode=1))
    graph = json.loads(full.json)
    png = plot(graph, out / 'scene_graph.png', floor_plan,
               title=f'{suite} episode {episode}: memory after {len(rows)} tasks')
    ltm = mem['ltm']
    worker = per['worker']
    print('\n[demo] summary')
    if rows or not heard:
        print(f'  success            {ok}/{len(rows)} tasks')
    if heard:
        print(f'  you said           {len(heard)} instruction(s): {sum(heard)} done, '
              f"{len(heard) - sum(heard)} refused or failed (the planner's account; "
              'not scored)')
    print(f'  skills             {skills} ({explorations} exploration steps, {path:.1f} m driven)')
    print(f'  memory             {ltm["nodes"]} scene-graph nodes '
          f'({ltm["layers"].get("object", 0)} objects, '
          f'{ltm["layers"].get("furniture", 0)} furniture), {mem["stm_size"]} short-term '
          'entries')
    print(f'  fusion             p50 {ltm["fusion_ms_p50"]:.1f} ms, '
          f'p95 {ltm["fusion_ms_p95"]:.1f} ms per frame')
    print(f'  QueryObjects       p50 {_percentile(query_ms, 50):.1f} ms, p99 '
          f'{_percentile(query_ms, 99):.1f} ms round trip over DDS')
    rejected = per.get('rejected', {})
    why = ', '.join(f'{n} {reason}' for reason, n in sorted(rejected.items()))
    print(f'  detector           {detector}')
    print(f'  perception         {worker["processed"]} frames, {worker["dropped"]} dropped '
          f'({100 * worker["drop_rate"]:.1f}%), {sum(rejected.values())} rejected'
          + (f' ({why})' if why else ''))
    print(f'  saved memory       {saved.path} ({saved.node_count} nodes); SQLite: '
          f'{out / "memory.db"}')
    print(f'  scene graph PNG    {png}')
    print(f'  wall time          {time.perf_counter() - t_start:.0f} s')
    return 0 if ok == len(rows) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo` to the command line."""
    d = subparsers.add_parser('demo', help='a household episode end to end over ROS 2 '
                                           '(what `make demo` runs)')
    d.add_argument('--suite', default='composite')
    d.add_argument('--episode', type=int, default=0)
    d.add_argument('--tasks', type=int, default=0, help='only the first N tasks (0 = all)')
    d.add_argument('--out', default='demo_out', help='folder for the memory and the PNG')
    d.add_argument('--planner', default='grounded', choices=PLANNERS,
                   help="grounded: send each task's goal conditions (default); lm: send the "
                        'instruction alone, read by the fine-tuned language model')
    d.add_argument('--say', action='append', default=[], metavar='INSTRUCTION',
                   help="your own instruction, read by the language model in the episode's "
                        'home after its first --tasks tasks (none unless --tasks is given); '
                        'repeat for several; reported by the planner, not scored')
    d.add_argument('--detector', default='sim_segmentation', choices=DETECTORS,
                   help="sim_segmentation: the simulator's masks (default); yolo: the learned "
                        'detector shipped in models/detector')
    d.set_defaults(func=lambda a: run_demo(a.suite, a.episode, a.tasks, a.out,
                                           planner=a.planner, say=a.say, detector=a.detector))


if __name__ == '__main__':
    sys.exit(run_demo())
