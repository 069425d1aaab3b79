"""Task benchmark: every suite under every memory condition (what `make bench-tasks` runs).

KARMA's experiment on our stack: success, goal-condition rate, exploration, time, memory
retrieval accuracy, STM hit rate and prompt tokens per suite and condition; prints the
tables, writes plots and a JSON file under bench/out/tasks/ and ends with one
`RESULT key=value ...` line. The full run also regenerates docs/results.md (the committed
results page) and adds KARMA's ALFRED-L files (../shared/datasets/alfred_l) as two more
suites when they are there. `QUICK=1` runs one episode per suite, its first three tasks,
on two worker processes (< 5 min on 2 cores) and writes its page under bench/out/ instead.

Extra arguments are passed to `embodied-memory bench tasks` (e.g. `--conditions none
ltm+stm`, `--alfred-l FILE`). The grounded planner looks objects up by label, so the LTM's
text embedder only changes the STM ranking in the token count; both modes use the model-free
hashing embedder to keep the run short (`--text-embeddings minilm` for the real one).
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


def argv() -> list[str]:
    """The bench command's arguments for this mode."""
    if QUICK:
        return ['bench', 'tasks', '--quick', '--jobs', '2', '--text-embeddings', 'hashing',
                '--out', 'bench/out/tasks_quick',
                '--results-md', 'bench/out/tasks_quick/results.md']
    full = ['bench', 'tasks', '--jobs', '2', '--floorplan1', '--text-embeddings', 'hashing',
            '--out', 'bench/out/tasks', '--results-md', 'docs/results.md']
    alfred = [os.path.relpath(alfred_l_dir() / name, ROOT) for name in ALFRED_FILES
              if (alfred_l_dir() / name).exists()]
    return full + (['--alfred-l', *alfred] if alfred else [])


if __name__ == '__main__':
    os.chdir(ROOT)
    sys.exit(main(argv() + sys.argv[1:]))
