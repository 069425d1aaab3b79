"""`embodied-memory launch`: nodes in their own processes, clean Ctrl-C, non-zero on death."""

import os
import signal
import subprocess
import time

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.ros]


def _start(python, ros_env, *extra):
    return subprocess.Popen([python, '-m', 'memory_nodes.commands.main', 'launch', 'memory_only',
                             '--param', 'memory.text_embeddings=hashing', *extra],
                            cwd=ROOT, env=ros_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(proc, text, timeout=60.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f'{text!r} never printed; output:\n{"".join(seen)}')


def test_ctrl_c_stops_every_node_cleanly(python, ros_env):
    proc = _start(python, ros_env)
    _wait_for(proc, 'memory ready')
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert 'stopped (exit 0)' in out


def test_a_dying_node_stops_the_launcher_with_an_error(python, ros_env):
    proc = _start(python, ros_env)
    _wait_for(proc, 'memory ready')
    children = subprocess.run(['pgrep', '-P', str(proc.pid)], capture_output=True, text=True)
    pids = [int(p) for p in children.stdout.split()]
    assert pids, 'launcher has no child process'
    os.kill(pids[0], signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "node 'memory' exited with code" in out


def test_bad_parameter_is_refused_by_name(python, ros_env):
    proc = _start(python, ros_env, '--param', 'memory.stm_policy=random')
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert 'stm_policy' in out
