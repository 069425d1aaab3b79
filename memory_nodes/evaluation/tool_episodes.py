"""Tool mode in the simulator: a model calls memory tools and skills, tasks are scored.

`ToolPlayer` is the `MemoryPlayer` of an episode whose tasks are carried out by a
`tool_mode.ToolPlanner` over the condition's memory, from the instruction alone (the
task's goal conditions only judge). `tool_bench` plays a small fixed task set (the first
Composite episode and the first tasks of the first Simple episode) and summarises what
the calls came to: valid call rate, success, calls per task, why loops stopped, latency
per decision and tokens per second.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from memory_nodes.evaluation.episodes import MemoryPlayer
from memory_nodes.planner.task_runner import TaskOutcome, TaskRunner
from memory_nodes.planner.tool_mode import ToolCaller, ToolModeConfig, ToolPlanner, ToolRun
from sim.task_schema import Episode, Task

#: (suite, episode index, tasks) of the fixed task set; QUICK plays fewer tasks.
TASK_SET = (('composite', 0, 5), ('simple', 0, 3))
QUICK_TASK_SET = (('composite', 0, 2), ('simple', 0, 2))


class ToolPlayer(MemoryPlayer):
    """Plays each task with a `ToolPlanner` over the condition's memory view."""

    def __init__(self, caller: ToolCaller, condition: str = 'ltm+stm',
                 config: ToolModeConfig | None = None, **kwargs: Any) -> None:
        super().__init__(condition, **kwargs)
        self.caller = caller
        self.tool_config = config or ToolModeConfig()
        #: (task, run) per task played, in order.
        self.runs: list[tuple[Task, ToolRun]] = []

    def act(self, runner: TaskRunner, task: Task, view: Any) -> TaskOutcome:
        """Let the model call tools and skills for the task's instruction."""
        from sim.catalog import WORLD_ONTOLOGY

        planner = ToolPlanner(self.caller, view, self.tool_config, WORLD_ONTOLOGY)
        out = TaskOutcome(believed_done=False)
        run = planner.run_tools(task.instruction, runner, out)
        self.runs.append((task, run))
        return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates and latencies over the played tasks (every task given is counted)."""
    calls = [c for r in rows for c in r['calls']]
    seconds = [c['seconds'] for c in calls]
    new_tokens = sum(c['new_tokens'] for c in calls)
    stops = [r['stop'].split(':')[0] for r in rows]
    n = len(rows)
    return {
        'tasks': n,
        'success': round(sum(r['success'] for r in rows) / n, 3) if n else 0.0,
        'said_done': sum(r['stop'] == 'done' for r in rows),
        'calls': len(calls),
        'valid_call_rate': round(sum(c['valid'] for c in calls) / len(calls), 3)
        if calls else 0.0,
        'steps_per_task': round(len(calls) / n, 2) if n else 0.0,
        'skills_per_task': round(sum(c['kind'] == 'skill' for c in calls) / n, 2) if n else 0,
        'loop_stops': stops.count('loop'),
        'budget_stops': stops.count('step_budget') + stops.count('token_budget'),
        'give_ups': stops.count('give_up'),
        'invalid_stops': stops.count('invalid_call'),
        'decision_p50_s': round(statistics.median(seconds), 2) if seconds else 0.0,
        'decision_p95_s': round(_percentile(seconds, 0.95), 2),
        'tokens_per_s': round(new_tokens / sum(seconds), 1) if seconds and sum(seconds) else 0,
    }


def tool_bench(caller: ToolCaller, quick: bool = False,
               config: ToolModeConfig | None = None, condition: str = 'ltm+stm',
               progress: Callable[[str], object] = print) -> dict[str, Any]:
    """Play the fixed task set in tool mode; per-task rows and the summary."""
    from sim.episodes import run_episode
    from sim.pybullet_sim import PyBulletSimulator
    from sim.task_schema import load_suite

    sim = PyBulletSimulator()
    rows: list[dict[str, Any]] = []
    t0 = time.monotonic()
    try:
        for suite_name, index, n_tasks in (QUICK_TASK_SET if quick else TASK_SET):
            episode = load_suite(suite_name).episodes[index]
            episode = Episode(episode.episode_id, episode.home, episode.tasks[:n_tasks])
            player = ToolPlayer(caller, condition, config, text_embeddings='hashing')
            record = run_episode(sim, episode, player)
            for (task, run), scored in zip(player.runs, record.tasks):
                rows.append({
                    'suite': suite_name, 'task': task.task_id,
                    'instruction': task.instruction, 'success': bool(scored.success),
                    'stop': run.stop, 'prompt_tokens': run.prompt_tokens,
                    'calls': [{'text': c.text, 'valid': c.valid, 'kind': c.kind,
                               'result': c.result[:160], 'seconds': round(c.seconds, 3),
                               'new_tokens': c.new_tokens} for c in run.calls]})
                progress(f'tools {suite_name} {task.task_id}: success={int(scored.success)} '
                         f'calls={len(run.calls)} stop={run.stop} :: '
                         + ' '.join(c.text for c in run.calls)[:300])
    finally:
        sim.close()
    return {'summary': summarise(rows), 'condition': condition, 'tasks': rows,
            'config': vars(config or ToolModeConfig()),
            'minutes': round((time.monotonic() - t0) / 60, 1)}
