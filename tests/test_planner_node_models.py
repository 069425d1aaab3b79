"""The planner node with a model backend, over real DDS: a tiny model built from a config
(it writes junk) is refused by validation, and the grounded planner finishes the task."""

import json
import threading

import pytest
from ros_processes import RosClient
from tiny_models import build_text_model

pytestmark = [pytest.mark.ros, pytest.mark.slow]


def test_transformers_backend_in_the_planner_node_falls_back_honestly(tmp_path):
    from embodied_memory_msgs.action import ExecuteTask
    from embodied_memory_msgs.srv import SimControl

    from memory_nodes.launch.launcher import Launcher, plan

    model = build_text_model(tmp_path / 'tiny-llm')
    launcher = Launcher(plan('sim_stack', {
        'sim_bridge': {'suite': 'composite', 'episode': 0},
        'memory': {'text_embeddings': 'hashing'},
        'planner': {'backend': 'transformers', 'model_path': str(model)}}), quiet=True)
    launcher.start()
    client = RosClient('model_planner_test', actions={'execute_task': ExecuteTask})
    try:
        reply = client.call(SimControl, 'sim_control', SimControl.Request(
            command='load_episode', payload_json=json.dumps(
                {'suite': 'composite', 'episode': 0})), timeout=90)
        assert reply.success, reply.message
        task = json.loads(reply.result_json)['tasks'][0]
        client.call(SimControl, 'sim_control', SimControl.Request(
            command='begin_task', payload_json=json.dumps({'task_id': task['id']})))
        action = client.actions['execute_task']
        assert action.wait_for_server(timeout_sec=90)
        goal = ExecuteTask.Goal(instruction=task['instruction'],
                                goal_conditions=['ON(RemoteControl, Bed): 1'])
        done = threading.Event()
        sent = action.send_goal_async(goal)
        sent.add_done_callback(lambda _f: done.set())
        assert done.wait(60) and sent.result().accepted
        result_future = sent.result().get_result_async()
        done = threading.Event()
        result_future.add_done_callback(lambda _f: done.set())
        assert done.wait(300)
        result = result_future.result().result
        score = json.loads(client.call(SimControl, 'sim_control', SimControl.Request(
            command='end_task')).result_json)
        assert result.prompt_tokens > 0  # the model really was prompted
        assert 'grounded' in result.error_msg  # and its junk was not executed
        why = (result.error_msg, list(result.executed_skills))
        assert result.success and score['success'], why
    finally:
        client.close()
        launcher.stop()
