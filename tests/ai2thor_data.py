"""Where the AI2-THOR and ALFRED-L test data live (outside the repository), or a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parent.parent.parent / 'shared' / 'datasets'
AI2THOR = DATASETS / 'ai2thor'
ALFRED_L = DATASETS / 'alfred_l'
OBJECTS = AI2THOR / 'floorplan1_objects.json'
BEFORE = AI2THOR / 'floorplan1_positions_before.json'
AFTER = AI2THOR / 'floorplan1_positions_after.json'
ALFRED_FILES = (ALFRED_L / 'simple_tasks.json', ALFRED_L / 'composite_tasks.json')


def need(*paths: Path) -> None:
    """Skip the calling test, naming the missing file, unless every path exists."""
    for path in paths:
        if not path.is_file():
            pytest.skip(f'dataset file missing: ../shared/datasets/{path.parent.name}/'
                        f'{path.name} (not in the repository; tests read it in place)')
