"""Helpers for tests that run our nodes as real processes over DDS."""

import json
import subprocess
import sys
import threading
import time

from conftest import ROOT


class NodeProcess:
    """One node in its own process, its output collected for assertions."""

    def __init__(self, module, params, env, ros_args=()):
        argv = [sys.executable, '-m', module, '--ros-args']
        for key, value in params.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            argv += ['-p', f'{key}:={text}']
        argv += list(ros_args)  # e.g. ['-r', '__ns:=/robot_a']
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, ''):
            self.lines.append(line)

    def wait_for(self, text, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f'{text!r} never printed:\n{self.output()}')

    def output(self):
        return ''.join(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RosClient:
    """A test-side node with an executor on a thread, in its own context.

    `actions` (name -> action type) are made before the executor starts spinning: an rclpy
    `ActionClient` created while another thread spins the node can be seen by the executor
    half-built (`'ActionClient' object has no attribute '_lock'`), which kills the spin
    thread and every later call of the test with it.
    """

    def __init__(self, name='test_client', actions=None):
        import rclpy
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node(name, context=self.ctx)
        self.actions = {action_name: ActionClient(self.node, action_type, action_name)
                        for action_name, action_type in (actions or {}).items()}
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.ctx)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def call(self, srv_type, name, request, timeout=30.0):
        from memory_nodes.ros.service_calls import call

        client = self.node.create_client(srv_type, name)
        return call(client, request, timeout)

    def stats(self, name):
        from std_srvs.srv import Trigger

        return json.loads(self.call(Trigger, name, Trigger.Request()).message)

    def close(self):
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.ctx)
