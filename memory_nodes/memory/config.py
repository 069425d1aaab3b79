"""One configuration dataclass per long-term memory component, with sane defaults.

Distances in metres, times in seconds. Nodes fill these from ROS parameters or YAML via
`LongTermMemoryConfig.from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from memory_nodes.memory.embeddings import EmbedderConfig

# Labels that are furniture or receptacles rather than small movable objects.
DEFAULT_FURNITURE = (
    'table', 'dining table', 'coffee table', 'side table', 'desk', 'counter', 'countertop',
    'kitchen counter', 'fridge', 'refrigerator', 'cabinet', 'drawer', 'shelf', 'bookshelf',
    'sofa', 'couch', 'bed', 'sink', 'stove', 'stove burner', 'oven', 'microwave',
    'dresser', 'nightstand', 'chair', 'armchair', 'tv stand', 'bathtub', 'toilet',
    'trash can', 'garbage can', 'dishwasher', 'washing machine', 'wardrobe',
    'counter top', 'sink basin', 'bathtub basin', 'coffee machine', 'toaster', 'faucet',
    'desk lamp', 'floor lamp', 'television', 'towel holder', 'shelving unit', 'stool',
    'tvstand',
)
# Furniture whose inside holds things (`in` relations), as opposed to only a top (`on`).
DEFAULT_CONTAINERS = (
    'fridge', 'refrigerator', 'cabinet', 'drawer', 'microwave', 'oven', 'sink', 'bathtub',
    'trash can', 'garbage can', 'dishwasher', 'washing machine', 'wardrobe', 'box', 'bowl',
    'pot', 'pan', 'cup', 'mug', 'basket', 'sink basin', 'bathtub basin',
)

# Real pieces come larger than the simulator's (a king bed is 2.0 x 2.0 m): the bounds
# stay below two pieces side by side (two beds, two desks) but above any single one.
DEFAULT_FURNITURE_PART_SIZES = (
    'bed=2.3x2.1x1.4',
    'dining table=2.6x1.2x1.1',
    'coffee table=1.5x0.9x0.7',
    'desk=2.0x0.9x1.2',
    'sofa,couch=2.8x1.2x1.2',
    'bathtub,bathtub basin=2.0x1.0x0.9',
    'tv stand,tvstand=2.2x0.6x0.9',
    'dresser=1.8x0.7x1.4',
    'fridge,refrigerator=1.1x0.95x2.2',
    'television,tv=2.0x0.4x1.4',
)


@dataclass
class InputCheckConfig:
    """What counts as bad input and how it is repaired or rejected."""

    accepted_frames: tuple[str, ...] = ('map',)
    max_points: int = 4096
    min_points: int = 3
    min_score: float = 0.0
    max_abs_coordinate: float = 1000.0
    max_stamp_lag: float = 30.0
    vocabulary: tuple[str, ...] = ()
    reject_unknown_labels: bool = False
    embedding_dim: int = 384
    #: Longer labels are refused: no detector writes 200 characters for one class name.
    max_label_chars: int = 128


#: Look-alike classes a learned detector swaps (measured ones come from its profile).
DEFAULT_CONFUSABLE_LABELS: tuple[str, ...] = (
    'RemoteControl,CellPhone', 'Apple,Tomato', 'Fork,Spoon,Knife,ButterKnife',
)


@dataclass
class FusionConfig:
    """Association and cloud merging of observations into object nodes."""

    voxel_size: float = 0.025
    max_points_per_node: int = 384
    search_margin: float = 0.3
    min_geometric_overlap: float = 0.15
    strong_geometric_overlap: float = 0.45
    min_semantic_similarity: float = 0.75
    geometric_weight: float = 0.6
    min_observations: int = 2
    denoise_every: int = 8
    dbscan_eps: float = 0.06
    dbscan_min_points: int = 4
    duplicate_check_every: int = 1
    duplicate_overlap: float = 0.3
    duplicate_centroid_distance: float = 0.12
    furniture_labels: tuple[str, ...] = DEFAULT_FURNITURE
    furniture_min_size: float = 0.9
    #: Large furniture is seen in parts (only a piece of a bed fits in one frame) and
    #: parts that barely overlap make two nodes. With this rule two furniture nodes of
    #: the same type (equal labels, or labels of one `furniture_part_sizes` family) are
    #: merged when one observation's cloud overlaps both (one mask saw them as one
    #: piece), or, for a type with a plausible size, when the box around both -- touching,
    #: overlapping or apart -- is no larger than one piece of that type can be.
    merge_furniture_parts: bool = True
    #: Of two nodes merged into one, the smaller id survives (instead of the better
    #: observed one): set when robots share one memory, so their copies agree.
    keep_smaller_id: bool = False
    #: Plausible largest single pieces, 'label[,label...]=LxSxH' in metres: L and S the
    #: longer and shorter horizontal side, H the height; the labels of one entry are one
    #: type. Types without an entry merge parts only through the one-mask evidence:
    #: kitchen cabinets, counter segments and drawers stand side by side, touching.
    furniture_part_sizes: tuple[str, ...] = DEFAULT_FURNITURE_PART_SIZES
    tentative_timeout: float = 600.0
    seed: int = 0
    #: A node's label is the vote of its label histogram (the label with the most summed
    #: detection score over its views; its share is `SceneNode.label_share`). Off: a
    #: node keeps the label it was created with.
    vote_labels: bool = True
    #: Label groups a detector confuses ('RemoteControl,CellPhone'): an observation with
    #: one label associates with a node of another of its group as if the labels had
    #: `confusable_similarity` (geometry still decides first). Pairs measured for the
    #: detector (`LongTermMemoryConfig.detector_profile`) are added.
    confusable_labels: tuple[str, ...] = DEFAULT_CONFUSABLE_LABELS
    confusable_similarity: float = 0.8
    #: With a detector profile, a label query with no confirmed node of that label offers
    #: nodes whose label vote gave it at least this share, then nodes of labels the
    #: detector confuses with it (`LongTermMemory.lookalikes`).
    lookalike_min_share: float = 0.2
    #: Confirmation needs detection strength, not only a count: the scores of a node's
    #: observations must sum to this much (with `min_observations`). Two oracle masks
    #: (score 1) confirm; a weak detection (0.3) needs five views. 0: the count alone.
    confirm_evidence: float = 1.5


@dataclass
class RelationConfig:
    """Geometric rules for `on`, `in` and `near` edges."""

    container_labels: tuple[str, ...] = DEFAULT_CONTAINERS
    on_height_tolerance: float = 0.06
    on_xy_margin: float = 0.03
    in_margin: float = 0.02
    near_distance: float = 1.0
    max_near_edges: int = 4
    support_search_radius: float = 2.5


@dataclass
class AbsenceConfig:
    """Absence evidence from the camera frustum and depth image."""

    decay: float = 0.6
    recover: float = 0.25
    absent_threshold: float = 0.3
    occlusion_margin: float = 0.08
    sample_points: int = 16
    min_visible_fraction: float = 0.5
    image_border: int = 4
    # Only where a detector could have seen the object is a miss evidence of absence:
    # within `max_distance` m of the camera and at least `min_projected_px` pixels big.
    max_distance: float = 3.5
    min_projected_px: float = 14.0
    #: A miss with a surface still there counts as much as the detector's measured recall
    #: for that class at that distance (`LongTermMemoryConfig.detector_profile`): the
    #: decay is `decay ** recall`. Seeing through the spot is not a detector's miss and
    #: keeps the full decay. Off, or for a class without a measured recall: `decay ** 0.5`.
    weight_by_recall: bool = True


@dataclass
class RoomConfig:
    """Room assignment and place (navigable area) nodes."""

    place_spacing: float = 1.0
    trajectory_length: int = 200
    cluster_distance: float = 3.0
    default_room: str = 'unknown'


@dataclass
class PersistenceConfig:
    """SQLite storage; `synchronous` NORMAL in WAL mode survives a process kill."""

    synchronous: str = 'NORMAL'
    history_per_node: int = 64
    #: Seconds between WAL checkpoints, run on a background thread with its own
    #: connection so that a frame's commit never pays for one; 0: SQLite's automatic
    #: checkpoints inside commits (every ~1000 pages).
    checkpoint_interval_s: float = 1.0
    #: Largest the database file may grow, MB (0: no limit besides the disk). A write
    #: that would pass it fails like a full disk: logged, kept pending, retried.
    max_size_mb: float = 0.0


@dataclass
class TimelineConfig:
    """The believed state over time (`as_of`, `changes`) and how long it is kept.

    A new version is kept when a node's label, status, room, support or states change,
    or when it moved more than `move_threshold` m. Retention (applied every
    `retention_every` commits, to the timeline and to the stored change history): keep
    `max_age_s` seconds before the newest stamp (0: forever) and at most
    `max_versions_per_node` versions per node (0: no limit); the stored change history
    keeps `history_per_node` rows per node as the in-memory one does.

    The cached past view (`LongTermMemory.past`) is moved from one stamp to another
    by restoring the nodes that differ, unless more than `past_rebuild_fraction` of its
    nodes do: then it is built anew.
    """

    enabled: bool = True
    move_threshold: float = 0.10
    max_age_s: float = 7 * 24 * 3600.0
    max_versions_per_node: int = 1000
    retention_every: int = 500
    past_rebuild_fraction: float = 0.25


@dataclass
class ExportConfig:
    """Collapsed export for planners."""

    chars_per_token: float = 4.0
    max_expanded_per_room: int = 40


@dataclass
class LongTermMemoryConfig:
    """All long-term memory settings in one place."""

    input: InputCheckConfig = field(default_factory=InputCheckConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    relations: RelationConfig = field(default_factory=RelationConfig)
    absence: AbsenceConfig = field(default_factory=AbsenceConfig)
    rooms: RoomConfig = field(default_factory=RoomConfig)
    persistence: PersistenceConfig = field(default_factory=PersistenceConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    index_cell: float = 1.0
    #: The detector's measured recall and confusions (memory/detector_profile.py): '' for
    #: none (an oracle), 'shipped' for the weights in models/detector, or a path to a
    #: metrics.json with a `calibration` entry.
    detector_profile: str = ''

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LongTermMemoryConfig:
        """Build a config from nested dicts (YAML / ROS parameters); unknown keys raise."""
        return _fill(cls(), data)


def _fill(obj: Any, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(obj)}
    for key, value in data.items():
        if key not in names:
            raise KeyError(f'unknown config key {key!r} for {type(obj).__name__}')
        current = getattr(obj, key)
        if is_dataclass(current) and isinstance(value, dict):
            _fill(current, value)
        elif isinstance(current, tuple):
            setattr(obj, key, tuple(value))
        else:
            setattr(obj, key, value)
    return obj
