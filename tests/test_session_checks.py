"""The session-wide checks bite: multicast fails a whole run, a missing ROS install errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from session_checks import import_ros, out_multicast_packets

TESTS = Path(__file__).resolve().parent

# The hooks of tests/conftest.py itself, on a multicast counter that counts `COUNTS`.
INNER_CONFTEST = """
import importlib.util
import sys

sys.path.insert(0, {tests!r})
spec = importlib.util.spec_from_file_location('project_conftest', {conftest!r})
project = importlib.util.module_from_spec(spec)
spec.loader.exec_module(project)
COUNTS = iter({counts!r})
project.MULTICAST.count = lambda: next(COUNTS)
project.ROS_MODULES = {ros_modules!r}
pytest_sessionstart = project.pytest_sessionstart
pytest_sessionfinish = project.pytest_sessionfinish
pytest_runtest_setup = project.pytest_runtest_setup
"""


def _run_inner(tmp_path: Path, counts: list[int], test_body: str, mark: str = '',
               ros_modules: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    (tmp_path / 'pytest.ini').write_text('[pytest]\nmarkers =\n    ros: needs ROS\n')
    (tmp_path / 'conftest.py').write_text(INNER_CONFTEST.format(
        tests=str(TESTS), conftest=str(TESTS / 'conftest.py'), counts=counts,
        ros_modules=ros_modules))
    (tmp_path / 'test_inner.py').write_text(
        f'import pytest\n\n\n{mark}\ndef test_inner():\n    {test_body}\n')
    return subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                           'test_inner.py'], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_a_session_without_multicast_passes(tmp_path):
    result = _run_inner(tmp_path, [40, 40], 'pass')
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'MULTICAST' not in result.stdout + result.stderr


def test_multicast_during_the_session_fails_it_with_a_message(tmp_path):
    result = _run_inner(tmp_path, [40, 43], 'pass')
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert '1 passed' in result.stdout  # the tests passed: the hook alone failed the run
    assert ('MULTICAST CHECK FAILED: 3 multicast packet(s) left the machine during the '
            'test run (OutMcastPkts 40 -> 43)') in result.stdout


def test_a_failed_session_keeps_failing_and_still_reports_multicast(tmp_path):
    result = _run_inner(tmp_path, [0, 1], 'assert False')
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert '1 failed' in result.stdout
    assert 'MULTICAST CHECK FAILED: 1 multicast packet(s)' in result.stdout


def test_a_ros_test_without_ros_errors_instead_of_skipping(tmp_path):
    result = _run_inner(tmp_path, [5, 5], 'pass', mark='@pytest.mark.ros',
                        ros_modules=('no_such_ros_pkg',))
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert '1 error' in result.stdout and 'skipped' not in result.stdout
    assert 'no_such_ros_pkg is not importable' in result.stdout
    assert 'run `make setup`' in result.stdout


def test_out_multicast_packets_reads_ipext(tmp_path):
    netstat = tmp_path / 'netstat'
    netstat.write_text('TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n'
                       'IpExt: InNoRoutes OutMcastPkts InBcastPkts\nIpExt: 0 1234 7\n')
    assert out_multicast_packets(netstat) == 1234
    netstat.write_text('TcpExt: SyncookiesSent\nTcpExt: 0\n')
    with pytest.raises(RuntimeError, match='OutMcastPkts not found'):
        out_multicast_packets(netstat)


def test_out_multicast_packets_reads_this_host():
    assert out_multicast_packets() >= 0


def test_a_missing_ros_module_fails_the_test_instead_of_skipping_it():
    with pytest.raises(pytest.fail.Exception, match=r'no_such_ros_pkg.*make setup'):
        import_ros(('no_such_ros_pkg',))
    import_ros()  # make setup installed rclpy and built embodied_memory_msgs
