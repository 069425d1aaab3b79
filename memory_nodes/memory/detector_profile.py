"""What the memory knows about its detector: recall by class and distance, confusions.

A learned detector misses small objects far away and swaps look-alike classes (a remote
for a phone, an apple for a tomato). Fusion uses the confusions to keep one node for one
thing seen under two labels; absence evidence uses the recall so that a miss of a class the
detector rarely finds at that range hardly counts against the object being there.

The profile is measured, never guessed: `embodied-memory perception calibrate` runs the
detector on rendered views of held-out homes against their ground truth and writes it as
the `calibration` entry of the weights' `metrics.json` (see docs/perception.md). An
oracle (the simulator's masks) has no profile: recall 1 and no confusions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from memory_nodes.domain.labels import label_key

#: `detector_profile: shipped` names the profile of the weights shipped in the repository.
SHIPPED = 'shipped'


def shipped_profile_path() -> Path:
    """`metrics.json` of the shipped detector weights (`models/detector/`)."""
    return Path(__file__).resolve().parents[2] / 'models' / 'detector' / 'metrics.json'


@dataclass(frozen=True)
class DetectorProfile:
    """Recall per class and distance bin, and the label pairs the detector confuses."""

    #: Upper edges (m) of the distance bins; one more bin lies beyond the last edge.
    distance_bins: tuple[float, ...] = ()
    #: label key -> recall per bin (len(distance_bins) + 1 values in [0, 1]).
    recall_by_bin: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: Unordered label-key pairs the detector confuses.
    confusions: frozenset[frozenset[str]] = frozenset()

    def recall(self, label: str, distance: float) -> float | None:
        """The detector's recall for `label` at `distance` m (None: not measured)."""
        values = self.recall_by_bin.get(label_key(label))
        if not values:
            return None
        k = sum(1 for edge in self.distance_bins if distance >= edge)
        return values[min(k, len(values) - 1)]

    def confusable(self, a: str, b: str) -> bool:
        """Whether the detector was measured to give one of these labels for the other."""
        ka, kb = label_key(a), label_key(b)
        return ka != kb and frozenset((ka, kb)) in self.confusions

    @classmethod
    def from_dict(cls, data: dict, min_confusion: float = 0.05) -> DetectorProfile:
        """From a `calibration` record; confusions rarer than `min_confusion` are ignored.

        A ValueError names the entry that does not read.
        """
        if not isinstance(data, dict):
            raise ValueError(f'detector profile must be a JSON object, got {type(data).__name__}')
        try:
            bins = tuple(float(b) for b in data.get('distance_bins_m', ()))
        except (TypeError, ValueError):
            raise ValueError('detector profile: distance_bins_m must be numbers') from None
        if list(bins) != sorted(bins) or any(b <= 0 for b in bins):
            raise ValueError(f'detector profile: distance_bins_m must rise and be > 0, '
                             f'got {list(bins)}')
        recall: dict[str, tuple[float, ...]] = {}
        for label, values in dict(data.get('recall', {})).items():
            try:
                row = tuple(float(v) for v in values)
            except (TypeError, ValueError):
                raise ValueError(f'detector profile: recall of {label!r} must be numbers') \
                    from None
            if len(row) != len(bins) + 1 or not all(0.0 <= v <= 1.0 for v in row):
                raise ValueError(f'detector profile: recall of {label!r} needs '
                                 f'{len(bins) + 1} values in [0, 1], got {list(row)}')
            recall[label_key(label)] = row
        pairs = set()
        for entry in data.get('confusions', ()):
            try:
                a, b, rate = entry
                rate = float(rate)
            except (TypeError, ValueError):
                raise ValueError(f'detector profile: confusion {entry!r} is not '
                                 '[label, label, rate]') from None
            if rate >= min_confusion and label_key(a) != label_key(b):
                pairs.add(frozenset((label_key(a), label_key(b))))
        return cls(bins, recall, frozenset(pairs))


def confusion_groups(entries: Iterable[str]) -> frozenset[frozenset[str]]:
    """'Fork,Spoon,Knife' entries -> every unordered label-key pair within each group."""
    pairs = set()
    for entry in entries:
        keys = [label_key(x) for x in str(entry).split(',') if label_key(x)]
        if len(keys) < 2:
            raise ValueError(f'confusable_labels entry {entry!r}: name two or more labels '
                             "separated by commas ('RemoteControl,CellPhone')")
        pairs |= {frozenset((a, b)) for a in keys for b in keys if a != b}
    return frozenset(pairs)


def load_detector_profile(source: str | Path) -> DetectorProfile | None:
    """The profile named by a `detector_profile` setting: '' (none), 'shipped' or a path.

    A path is a `metrics.json` with a `calibration` entry, or a profile JSON itself. A
    missing or unreadable file raises a ValueError naming it. A file is parsed once per
    version (past views of the memory build a memory of the same config again and again).
    """
    text = str(source).strip()
    if not text:
        return None
    path = shipped_profile_path() if text == SHIPPED else Path(text)
    try:
        version = path.stat().st_mtime_ns
    except OSError as exc:
        raise ValueError(f'detector profile {path}: cannot read ({exc.strerror or exc})') \
            from None
    return _parsed_profile(str(path), version)


@functools.lru_cache(maxsize=8)
def _parsed_profile(name: str, version: int) -> DetectorProfile:
    """The profile in file `name` as of modification time `version`."""
    path = Path(name)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f'detector profile {path}: cannot read ({exc.strerror or exc})') \
            from None
    except ValueError as exc:
        raise ValueError(f'detector profile {path}: not JSON ({exc})') from None
    if isinstance(data, dict) and 'calibration' in data:
        data = data['calibration']
    elif isinstance(data, dict) and 'recall' not in data:
        raise ValueError(f'detector profile {path}: no calibration in it (run '
                         '`embodied-memory perception calibrate`)')
    try:
        return DetectorProfile.from_dict(data)
    except ValueError as exc:
        raise ValueError(f'{exc} (in {path})') from None
