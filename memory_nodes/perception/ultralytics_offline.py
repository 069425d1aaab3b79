"""Import ultralytics so that it never reaches for the network.

No hub, no asset downloads here: `YOLO_OFFLINE=1` makes ultralytics' online check false,
its settings live in a project config dir (not the user's), and the plotting font it
would download (Arial.ttf) is a copy of matplotlib's bundled DejaVuSans.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

#: Where ultralytics keeps its settings and fonts unless YOLO_CONFIG_DIR is set.
DEFAULT_CONFIG_DIR = Path.home() / '.cache' / 'embodied_memory' / 'ultralytics'


def import_ultralytics() -> Any:
    """The `ultralytics` module, configured offline (call before any other import of it)."""
    os.environ['YOLO_OFFLINE'] = '1'
    os.environ.setdefault('YOLO_VERBOSE', 'False')
    if 'YOLO_CONFIG_DIR' not in os.environ:
        DEFAULT_CONFIG_DIR.mkdir(parents=True, exist_ok=True)
        os.environ['YOLO_CONFIG_DIR'] = str(DEFAULT_CONFIG_DIR)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    import ultralytics
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    _place_fonts(Path(USER_CONFIG_DIR))
    # Unknown keys in other ultralytics versions' settings schemas are not worth failing on.
    with contextlib.suppress(KeyError, TypeError, ValueError):
        SETTINGS.update({'sync': False, 'hub': False, 'wandb': False, 'mlflow': False,
                         'comet': False, 'clearml': False, 'dvc': False, 'neptune': False,
                         'raytune': False, 'tensorboard': False})
    return ultralytics


def _place_fonts(config_dir: Path) -> None:
    """Copy matplotlib's DejaVuSans to the names ultralytics would download."""
    import matplotlib

    src = Path(matplotlib.get_data_path()) / 'fonts' / 'ttf' / 'DejaVuSans.ttf'
    if not src.exists():
        return
    config_dir.mkdir(parents=True, exist_ok=True)
    for name in ('Arial.ttf', 'Arial.Unicode.ttf'):
        dst = config_dir / name
        if not dst.exists():
            shutil.copyfile(src, dst)
