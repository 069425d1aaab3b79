"""ament-style linters as tests: ruff (pycodestyle, pyflakes, isort, pep257, ...) and flake8."""

import subprocess
import sys

from conftest import ROOT

PATHS = ['memory_nodes', 'sim', 'tests', 'bench', 'launch', 'setup.py']


def _run(*args):
    return subprocess.run([sys.executable, '-m', *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_ruff_clean():
    result = _run('ruff', 'check', '--no-cache', *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_flake8_clean():
    result = _run('flake8', *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_never_imports_rclpy():
    """The pure core stays importable and testable without ROS."""
    offenders = []
    for folder in ('memory_nodes/memory', 'memory_nodes/perception', 'memory_nodes/planner',
                   'sim'):
        for path in (ROOT / folder).rglob('*.py'):
            text = path.read_text()
            if 'import rclpy' in text or 'from rclpy' in text or '_msgs' in text.replace(
                    'embodied_memory_msgs', '_msgs'):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f'core modules importing ROS: {offenders}'
