"""Architecture, checked: import-linter contracts (.importlinter) and the simulator boundary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name('lint-imports'))

#: The only places under memory_nodes/ that may use the simulator.
SIM_USERS = ('memory_nodes/ros/sim_bridge_node.py', 'memory_nodes/evaluation/',
             'memory_nodes/tools/detector_training/',
             'memory_nodes/tools/goal_reader_training/')


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([LINT_IMPORTS, '--config', str(cwd / '.importlinter'),
                           '--no-cache'], cwd=cwd, env=env, capture_output=True, text=True)


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert 'broken' in result.stdout and ' 0 broken' in result.stdout


def test_a_broken_contract_fails(tmp_path):
    """The contracts bite: a planner module importing the simulator breaks the build."""
    for name in ('memory_nodes', 'sim'):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns('__pycache__', 'tasks', 'assets'))
    shutil.copy(ROOT / '.importlinter', tmp_path / '.importlinter')
    (tmp_path / 'memory_nodes' / 'planner' / 'shortcut.py').write_text(
        '"""A shortcut a robot cannot take."""\nfrom sim.catalog import CATALOG  # noqa\n')
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert 'memory_nodes.planner.shortcut -> sim.catalog' in result.stdout
    assert 'BROKEN' in result.stdout


def test_only_the_bridge_evaluation_and_dataset_tools_import_the_simulator():
    """What `grep -rn "from sim\\|import sim" memory_nodes/` may find."""
    pattern = re.compile(r'^\s*(from sim[. ]|import sim\b)', re.M)
    offenders = []
    for path in sorted((ROOT / 'memory_nodes').rglob('*.py')):
        rel = path.relative_to(ROOT).as_posix()
        if pattern.search(path.read_text()) and not rel.startswith(SIM_USERS):
            offenders.append(rel)
    assert not offenders, f'robot-side modules importing the simulator: {offenders}'
