"""The whole sim_stack over real DDS: four node processes, an episode through the action."""

import json
import re
import threading
import time

import pytest
from ros_processes import RosClient

pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    import os

    from memory_nodes.launch.launcher import Launcher, plan

    assert os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    db = tmp_path_factory.mktemp('stack') / 'memory.db'
    launcher = Launcher(plan('sim_stack', {
        'sim_bridge': {'suite': 'composite', 'episode': 0},
        'memory': {'database_path': str(db), 'text_embeddings': 'hashing'}}), quiet=True)
    launcher.start()
    from embodied_memory_msgs.action import ExecuteTask

    client = RosClient('stack_test', actions={'execute_task': ExecuteTask})
    yield launcher, client
    client.close()
    launcher.stop()


def _control(client, command, **payload):
    from embodied_memory_msgs.srv import SimControl

    reply = client.call(SimControl, 'sim_control',
                        SimControl.Request(command=command, payload_json=json.dumps(payload)),
                        timeout=60)
    assert reply.success, reply.message
    return json.loads(reply.result_json)


def _run_task(client, instruction, goals, timeout=240):
    from embodied_memory_msgs.action import ExecuteTask

    action = client.actions['execute_task']
    assert action.wait_for_server(timeout_sec=60)
    feedback = []
    sent = action.send_goal_async(ExecuteTask.Goal(instruction=instruction,
                                                   goal_conditions=goals),
                                  feedback_callback=lambda m: feedback.append(m.feedback))
    done = threading.Event()
    sent.add_done_callback(lambda _f: done.set())
    assert done.wait(30)
    handle = sent.result()
    assert handle.accepted
    result_future = handle.get_result_async()
    done = threading.Event()
    result_future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout), 'ExecuteTask did not finish'
    return result_future.result().result, feedback


def test_episode_over_ros_succeeds_with_memory_carried_across_tasks(stack):
    _, client = stack
    info = _control(client, 'load_episode', suite='composite', episode=0)
    tasks = info['tasks'][:3]
    explorations = []
    for task in tasks:
        _control(client, 'begin_task', task_id=task['id'])
        goals = [re.sub(r'#([A-Za-z]+)_\d+', r'\1', g) for g in task['goal']]
        result, feedback = _run_task(client, task['instruction'], goals)
        score = _control(client, 'end_task')
        assert score['success'], (task, result.error_msg, list(result.executed_skills))
        assert result.success and result.error_code == result.SUCCESS
        assert feedback and feedback[-1].step_index == len(result.executed_skills)
        explorations.append(result.exploration_steps)
    # Task 3 moves what task 1 placed: memory knows where it is, no exploring.
    assert explorations[2] == 0


def test_invalid_tasks_are_refused_with_named_reasons(stack):
    _, client = stack
    result, _ = _run_task(client, '', [])
    assert result.error_code == result.INVALID_REQUEST and 'empty' in result.error_msg
    result, _ = _run_task(client, 'x', ['ON(Unicorn, Table): 1'])
    assert result.error_code == result.INVALID_REQUEST and 'Unicorn' in result.error_msg
    result, _ = _run_task(client, 'please dance a waltz', [])
    assert result.error_code == result.INVALID_REQUEST and 'dance' in result.error_msg
    result, _ = _run_task(client, 'put the apple in the fridge ' * 200, [])
    assert result.error_code == result.INVALID_REQUEST and 'characters' in result.error_msg


def test_services_answer_over_dds(stack):
    from embodied_memory_msgs.srv import ExecuteSkill, GetSceneGraph, QueryObjects

    _, client = stack
    _control(client, 'status')
    t0 = time.perf_counter()
    reply = client.call(QueryObjects, 'query_objects', QueryObjects.Request(label='fridge'))
    assert time.perf_counter() - t0 < 5
    assert reply.error_code in (reply.SUCCESS, reply.NOT_FOUND)
    graph = client.call(GetSceneGraph, 'get_scene_graph', GetSceneGraph.Request(mode=1))
    assert graph.error_code == graph.SUCCESS and graph.node_count >= 1
    bad = client.call(ExecuteSkill, 'execute_skill', ExecuteSkill.Request(skill='fly'))
    assert bad.error_code == bad.INVALID_REQUEST and 'fly' in bad.error_msg
    missing = client.call(ExecuteSkill, 'execute_skill',
                          ExecuteSkill.Request(skill='pick_up', target_label='Unicorn'))
    assert missing.error_code == missing.FAILED and missing.reason
    # look_at takes a point (a position without a label); the status reports the head tilt.
    from geometry_msgs.msg import Point

    x, y, _ = _control(client, 'status')['robot']
    look = client.call(ExecuteSkill, 'execute_skill', ExecuteSkill.Request(
        skill='look_at', target_position=Point(x=x + 1.0, y=y, z=0.2),
        target_position_known=True))
    assert look.error_code == look.SUCCESS, look.error_msg
    assert _control(client, 'status')['head_tilt'] > 0.6  # 0.44 rad is the default
    stats = client.stats('perception_stats')
    assert stats['published'] >= 1
