"""Checks over a whole test session, kept out of conftest.py so that a test can drive them.

`MulticastCheck` fails the session when multicast left this host while it ran (DDS must
stay on loopback); `import_ros` turns a missing ROS install into an error, not a skip.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import pytest

from memory_nodes.launch.ros_env import out_multicast_packets  # noqa: F401 - re-exported

ROS_MODULES = ('rclpy', 'embodied_memory_msgs.srv', 'tf2_msgs.msg')


class MulticastCheck:
    """Counts multicast packets at session start and fails the session if any were sent.

    `count` is the counter to read (the host's by default; a test passes a fake one).
    """

    def __init__(self, count: Callable[[], int] = out_multicast_packets) -> None:
        self.count = count
        self.at_start: int | None = None

    def start(self) -> None:
        self.at_start = self.count()

    def finish(self, session: pytest.Session) -> int:
        """The packets sent since `start`; when not 0 the session's exit status fails."""
        if self.at_start is None:
            raise RuntimeError('MulticastCheck.finish called before start')
        sent = self.count() - self.at_start
        if sent == 0:
            return 0
        message = (f'MULTICAST CHECK FAILED: {sent} multicast packet(s) left the machine '
                   f'during the test run (OutMcastPkts {self.at_start} -> '
                   f'{self.at_start + sent}); DDS must stay on loopback')
        # A run that already failed keeps its own code (interrupted, usage error, ...).
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin('terminalreporter')
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        else:
            print(message, file=sys.stderr)
        return sent


def import_ros(modules: tuple[str, ...] = ROS_MODULES) -> None:
    """Import rclpy and our generated interfaces; fail (never skip) when that is impossible.

    `make setup` always installs both, so an ImportError means a broken setup.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            pytest.fail(f'{name} is not importable ({exc}): the ROS 2 setup is broken; '
                        f'run `make setup`', pytrace=False)
