"""Run an episode through the ROS 2 nodes instead of the in-process cores (`--ros`).

Launches `sim_stack` (sim bridge, perception, memory, planner: four processes over Fast
DDS on loopback), loads the episode into the bridge, and for each task: begins it on the
bridge (world changes applied, scoring started), sends it to the planner's ExecuteTask
action and ends it (the score). The planner, memory and perception are the same cores as
in-process, so the same episode gives the same outcome; what the action result does not
carry (memory lookup accuracy, STM hits, prompt tokens) is reported as zero.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from memory_nodes.planner.task_runner import strip_instances
from sim.episodes import EpisodeRecord, TaskRecord, charge_unmapped, unplayable_record
from sim.task_schema import Episode, Suite, save_suite

#: `stm` (the buffer across tasks, the scene graph cleared per task) and `history` need the
#: in-process runner: the memory node has no service that clears only the scene graph.
ROS_CONDITIONS = ('ltm+stm', 'ltm', 'none')


def run_episode_ros(sim: object, episode: Episode, condition: str, *,
                    stm_policy: str = 'robot_aware', stm_capacity: int = 10,
                    on_task: Callable[[TaskRecord], object] | None = None,
                    text_embeddings: str = 'minilm', **_ignored: object) -> EpisodeRecord:
    """Like `episodes.run_memory_episode`, through the nodes; `sim` is unused.

    Its own loop, not `sim.episodes.run_episode` with a player: the bridge node owns the
    simulator (its own, not `sim`), applies the world changes and scores (begin_task /
    end_task), so there is no simulator or scorer here to hand a `TaskPlayer`. It fills the
    same `TaskRecord`, with zeros where the action result says nothing.
    """
    if condition not in ROS_CONDITIONS:
        raise ValueError(f'over ROS the conditions are {ROS_CONDITIONS}; {condition!r} '
                         'needs the in-process runner')
    from memory_nodes.launch.launcher import Launcher, plan
    from memory_nodes.launch.ros_env import apply_loopback_defaults
    from memory_nodes.ros.stack_client import StackClient

    apply_loopback_defaults()
    tmp = Path(tempfile.mkdtemp(prefix='ros_episode_'))
    suite_file = tmp / 'episode.json'
    save_suite(Suite('ros_episode', [episode]), suite_file)
    view = 'ltm+stm' if condition == 'none' else condition
    launcher = Launcher(plan('sim_stack', {
        'sim_bridge': {'suite': str(suite_file), 'episode': 0},
        'memory': {'stm_policy': stm_policy, 'stm_capacity': stm_capacity,
                   'text_embeddings': text_embeddings},
        'planner': {'memory_condition': view}}), quiet=True)
    launcher.start()
    client = None
    report = EpisodeRecord(episode.episode_id, condition)
    try:
        client = StackClient(timeout=120.0)
        client.wait_ready()
        client.control('load_episode', suite=str(suite_file), episode=0)
        for task in episode.tasks:
            if not task.goals:
                report.tasks.append(unplayable_record(task))
                if on_task is not None:
                    on_task(report.tasks[-1])
                continue
            if condition == 'none':
                from std_srvs.srv import Trigger

                client.call(client.node.create_client(Trigger, 'reset_memory'),
                            Trigger.Request())
            client.control('begin_task', task_id=task.task_id)
            goals = [strip_instances(g).to_text() for g in task.goals]
            t0 = time.perf_counter()
            result = client.run_task(task.instruction, goals, lambda _m: None)
            score = client.control('end_task')
            skills = list(result.executed_skills)
            tr = TaskRecord(
                task_id=task.task_id, instruction=task.instruction, success=score['success'],
                goal_condition_rate=score['goal_condition_rate'], reached=score['reached'],
                total=score['total'], skills=len(skills),
                failed_skills=sum('->' in s for s in skills), replans=result.replans,
                explorations=result.exploration_steps, stale_hits=0,
                path_length_m=float(result.path_length), robot_time_s=0.0,
                wall_time_s=time.perf_counter() - t0, lookups=0, lookups_correct=0,
                stm_hits=0, stm_needed=0, prompt_tokens=int(result.prompt_tokens),
                believed_done=bool(result.success), error=result.error_msg,
                skill_log=skills, failed_condition=score['failed_condition'])
            report.tasks.append(charge_unmapped(task, tr))
            if on_task is not None:
                on_task(tr)
        stats = client.stats(client.memory_stats)
        report.memory_nodes = int(stats['ltm']['nodes'])
        report.frames = int(stats['ltm']['frames'])
    finally:
        if client is not None:
            client.close()
        launcher.stop()
    return report
