"""One client for the whole stack, like nav2's `BasicNavigator`: services, action, stats.

The demo, the ROS episode runner and the tests drive the stack through `StackClient`: it
owns an rclpy node spinning on its own thread and offers blocking calls to the sim
bridge's `sim_control`, the memory's services, the planner's ExecuteTask action and the
nodes' JSON stats. Create it after `rclpy` may be initialised in this process (it calls
`rclpy.init()` itself) and `close()` it when done.
"""

from __future__ import annotations

import json
import threading
import time


class StackClient:
    """The operator's side: drives the stack through its services and action."""

    def __init__(self, timeout: float, node_name: str = 'demo_operator') -> None:
        import rclpy
        from embodied_memory_msgs.action import ExecuteTask
        from embodied_memory_msgs.srv import (
            GetSceneGraph,
            QueryObjects,
            SaveMemory,
            SimControl,
        )
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor
        from std_srvs.srv import Trigger

        rclpy.init()
        self.node = rclpy.create_node(node_name)
        self.timeout = timeout
        self.sim = self.node.create_client(SimControl, 'sim_control')
        self.query = self.node.create_client(QueryObjects, 'query_objects')
        self.graph = self.node.create_client(GetSceneGraph, 'get_scene_graph')
        self.save = self.node.create_client(SaveMemory, 'save_memory')
        self.memory_stats = self.node.create_client(Trigger, 'memory_stats')
        self.perception_stats = self.node.create_client(Trigger, 'perception_stats')
        self.action = ActionClient(self.node, ExecuteTask, 'execute_task')
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def wait_ready(self) -> None:
        """Block until every service and the action server are up."""
        deadline = time.monotonic() + self.timeout
        for client in (self.sim, self.query, self.graph, self.save, self.memory_stats,
                       self.perception_stats):
            if not client.wait_for_service(timeout_sec=max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f'{client.srv_name} never appeared')
        if not self.action.wait_for_server(timeout_sec=max(0.1, deadline - time.monotonic())):
            raise TimeoutError('execute_task action server never appeared')

    def call(self, client, request, timeout: float | None = None):  # noqa: ANN001, ANN201
        """A blocking service call (the executor spins on its own thread)."""
        from memory_nodes.ros.service_calls import call

        return call(client, request, timeout or self.timeout)

    def control(self, command: str, **payload) -> dict:  # noqa: ANN003
        """A SimControl command; RuntimeError with the bridge's message on failure."""
        from embodied_memory_msgs.srv import SimControl

        reply = self.call(self.sim, SimControl.Request(command=command,
                                                       payload_json=json.dumps(payload)))
        if not reply.success:
            raise RuntimeError(reply.message)
        return json.loads(reply.result_json)

    def run_task(self, instruction: str, goals: list[str], on_feedback) -> object:  # noqa: ANN001
        """Send one ExecuteTask goal and wait for its result."""
        from embodied_memory_msgs.action import ExecuteTask

        goal = ExecuteTask.Goal(instruction=instruction, goal_conditions=goals)
        sent = self.action.send_goal_async(goal, feedback_callback=on_feedback)
        handle = _wait(sent, self.timeout)
        if not handle.accepted:
            raise RuntimeError('the planner refused the task')
        return wait_result(self.action, handle, 600.0).result

    def stats(self, client) -> dict:  # noqa: ANN001
        """JSON stats from a Trigger service."""
        from std_srvs.srv import Trigger

        return json.loads(self.call(client, Trigger.Request()).message)

    def close(self) -> None:
        """Stop spinning and shut rclpy down."""
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown()


class GoalLost(RuntimeError):
    """The action server went away (crashed, killed) while it ran the goal."""


def wait_result(action_client, handle, timeout: float, gone_after: float = 1.0,
                poll: float = 0.25):  # noqa: ANN001, ANN201 - rclpy action types
    """The result of an accepted goal; GoalLost when its server disappears first.

    A server killed mid-goal never answers: without this the caller would wait the whole
    `timeout`. The server counts as gone when the ROS graph has shown no server for
    `gone_after` s (DDS notices a killed process when its participant lease runs out).
    """
    future = handle.get_result_async()
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    deadline = time.monotonic() + timeout
    missing_since = None
    while not done.wait(poll):
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f'no result in {timeout} s')
        if action_client.server_is_ready():
            missing_since = None
        elif missing_since is None:
            missing_since = now
        elif now - missing_since >= gone_after:
            raise GoalLost(f'the {action_client._action_name!r} action server went away '
                           'while running the goal: the goal is lost (not finished)')
    return future.result()


def _wait(future, timeout: float):  # noqa: ANN001, ANN202
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout):
        raise TimeoutError(f'no answer in {timeout} s')
    return future.result()
