"""ALFRED-L benchmark: KARMA's task files on our stack, counted over every task.

What `make bench-alfred` runs: the ALFRED-L files in ../shared/datasets/alfred_l/ (each
task in a home built for its FloorPlan) under `none` and `ltm+stm`, with the grounded
planner and simulator segmentation. Prints the per-file table (tasks, ran, unmapped
sub-goals, success over every task and over the fully mapped ones, GC, exploration,
KARMA's published success), the failed tasks and why, writes bench/out/alfred/alfred.png
and alfred.json, and ends with `RESULT sr_all_alfred_l-simple=... ran_...=... tasks_...=...`.
`QUICK=1`: the first episode of each file, its first three tasks. Extra arguments go to
`embodied-memory bench alfred` (e.g. `--files my_tasks.json`, `--conditions ltm+stm`);
`--files` given there replaces the default files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')

from memory_nodes.commands.main import main  # noqa: E402
from sim.ai2thor.floorplan_tasks import ALFRED_FILES, alfred_l_dir  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')


def argv(extra: list[str]) -> list[str]:
    """The bench command's arguments for this mode."""
    out = ['bench', 'alfred', '--jobs', '2', '--conditions', 'none', 'ltm+stm']
    out += ['--quick', '--out', 'bench/out/alfred_quick'] if QUICK else \
        ['--out', 'bench/out/alfred']
    if '--files' not in extra:
        files = [os.path.relpath(alfred_l_dir() / name, ROOT) for name in ALFRED_FILES
                 if (alfred_l_dir() / name).exists()]
        if not files:
            raise SystemExit(f'bench-alfred: no ALFRED-L files in {alfred_l_dir()}')
        out += ['--files', *files]
    return out + extra


if __name__ == '__main__':
    os.chdir(ROOT)
    sys.exit(main(argv(sys.argv[1:])))
