"""FloorPlan1 (AI2-THOR's first kitchen) as a built-in scene, imported from the real dump.

The dump lives outside the repository, in `../shared/datasets/ai2thor` relative to the
repository root (or a directory given explicitly, or `$EMBODIED_MEMORY_AI2THOR_DIR`). The
imported scene is cached per file; callers get a deep copy of its `HomeSpec`.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

from sim.ai2thor.scene_importer import ImportedScene, import_scene_file
from sim.home import HomeSpec

SCENE_NAME = 'ai2thor:FloorPlan1'
OBJECTS_FILE = 'floorplan1_objects.json'
BEFORE_FILE = 'floorplan1_positions_before.json'
AFTER_FILE = 'floorplan1_positions_after.json'
ENV_DIR = 'EMBODIED_MEMORY_AI2THOR_DIR'
REPO_ROOT = Path(__file__).resolve().parents[2]


class DatasetMissing(FileNotFoundError):
    """The AI2-THOR dump is not where it was looked for."""


def dataset_dir(path: str | Path | None = None) -> Path:
    """The AI2-THOR dataset directory.

    `path`, else `$EMBODIED_MEMORY_AI2THOR_DIR`, else `../shared/datasets/ai2thor` next to
    the repository.
    """
    if path is not None:
        return Path(path)
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    return REPO_ROOT.parent / 'shared' / 'datasets' / 'ai2thor'


def dataset_file(name: str, path: str | Path | None = None) -> Path:
    """A file of the dataset; raises `DatasetMissing` naming where it looked."""
    file = dataset_dir(path) / name
    if not file.is_file():
        raise DatasetMissing(f'{name} not found in {file.parent} (give the AI2-THOR dataset '
                             f'directory, or set ${ENV_DIR})')
    return file


@functools.lru_cache(maxsize=4)
def _load(file: str) -> ImportedScene:
    return import_scene_file(file, 'FloorPlan1')


def load_floorplan1(path: str | Path | None = None) -> ImportedScene:
    """The imported FloorPlan1 scene (cached; do not mutate its home, copy it)."""
    return _load(str(dataset_file(OBJECTS_FILE, path).resolve()))


def floorplan1_home(path: str | Path | None = None) -> HomeSpec:
    """A fresh copy of FloorPlan1's `HomeSpec`, ready for `PyBulletSimulator.reset`."""
    return copy.deepcopy(load_floorplan1(path).home)


#: Built-in scene names -> a function returning a fresh `HomeSpec`.
BUILTIN_SCENES = {SCENE_NAME: floorplan1_home}


def load_scene(name: str) -> HomeSpec:
    """The `HomeSpec` of a built-in scene (`ai2thor:FloorPlan1`)."""
    try:
        return BUILTIN_SCENES[name]()
    except KeyError:
        raise KeyError(f'unknown scene {name!r} (known: {", ".join(BUILTIN_SCENES)})') from None
