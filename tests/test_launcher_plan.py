"""`embodied-memory launch --dry-run`: the node commands, planned without ROS or DDS."""

import subprocess
from pathlib import Path

from conftest import ROOT


def test_dry_run_prints_the_node_commands(python, ros_env):
    out = subprocess.run([python, '-m', 'memory_nodes.commands.main', 'launch', 'sim_stack',
                          '--dry-run'],
                         cwd=ROOT, env=ros_env, capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert all('--params-file' in ln and 'use_sim_time:=true' in ln for ln in lines)
    # From a source checkout the parameter files are the repository's own.
    params = [ln.split('--params-file ')[1].split()[0] for ln in lines]
    assert all(Path(p).parent == ROOT / 'config' and Path(p).is_file() for p in params)
