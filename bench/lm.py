"""`make bench-lm`: the language model reading instructions into goals, and tasks done from them.

Runs `embodied-memory bench lm` (see `memory_nodes/evaluation/lm_bench.py`) on the held-out
generated instructions, the ALFRED-L files in ../shared/datasets/alfred_l/ and our Simple,
Composite and Complex suites; the full run writes the instruction-only section of
docs/results.md. `QUICK=1`: 40 held-out examples per set, one episode of three tasks per
suite and file; tool mode on 4 tasks instead of 8. Needs `embodied-memory lm make-data`
(run here when its output is missing).
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

if __name__ == '__main__':
    os.chdir(ROOT)
    if not (ROOT / 'runs/goal_reader/data/heldout_home.jsonl').is_file():
        main(['lm', 'make-data'])
    files = [os.path.relpath(alfred_l_dir() / n, ROOT) for n in ALFRED_FILES
             if (alfred_l_dir() / n).exists()]
    args = ['bench', 'lm', '--alfred-l', *files]
    args += (['--quick', '--out', 'bench/out/lm_quick'] if QUICK
             else ['--results-md', 'docs/results.md'])
    sys.exit(main(args + sys.argv[1:]))
