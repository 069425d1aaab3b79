"""Large furniture seen in parts becomes one node; real pieces that stand apart stay apart."""

import numpy as np
import pytest

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.fusion import parse_part_sizes
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation


def surface(lo, hi, n=400, seed=0):
    """Points on the surface of the box [lo, hi], with a little depth noise."""
    rng = np.random.default_rng(seed)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    p = rng.uniform(lo, hi, (n, 3))
    axis = rng.integers(0, 3, n)
    side = rng.integers(0, 2, n)
    p[np.arange(n), axis] = np.where(side == 1, hi[axis], lo[axis])
    return p + rng.normal(0, 0.004, (n, 3))


def seen(mem, label, lo, hi, frames=3, t0=0.0, seed=0):
    """`frames` observations of the part [lo, hi] of something labelled `label`."""
    for k in range(frames):
        mem.integrate([ObjectObservation(label, 1.0, surface(lo, hi, seed=seed + k),
                                         t0 + k)])


def furniture(mem, label):
    return [n for n in mem.graph.nodes.values()
            if n.layer == 'furniture' and n.label == label]


def memory(rule_on=True):
    cfg = LongTermMemoryConfig()
    cfg.fusion.merge_furniture_parts = rule_on
    return LongTermMemory(cfg)


# A 2.0 x 1.6 m bed seen from its head end and from its foot end: only a piece fits in
# each frame, and the middle is seen from neither, so the two parts do not overlap.
HEAD = ([1.0, 1.2, 0.0], [1.85, 2.8, 0.55])
FOOT = ([2.15, 1.2, 0.0], [3.0, 2.8, 0.55])


def test_two_halves_of_a_bed_from_two_viewpoints_become_one_node():
    mem = memory()
    seen(mem, 'bed', *HEAD)
    first = furniture(mem, 'bed')[0].id
    seen(mem, 'bed', *FOOT, t0=10.0, seed=100)
    beds = furniture(mem, 'bed')
    assert len(beds) == 1
    bed = beds[0]
    # The node spans the whole bed and keeps both parts' evidence and history.
    assert bed.extent[0] == pytest.approx(2.0, abs=0.05)
    assert bed.observations == 6
    assert bed.status == 'confirmed'
    assert mem.graph.resolve(first) == bed.id
    assert mem.get(first) is bed
    merged = [e for e in mem.history(bed.id) if e.kind == 'absorbed']
    assert merged, 'the merge is recorded in the node history'


def test_without_the_rule_the_halves_stay_two_nodes():
    """The failure the rule fixes: turned off, one bed is remembered as two."""
    mem = memory(rule_on=False)
    seen(mem, 'bed', *HEAD)
    seen(mem, 'bed', *FOOT, t0=10.0, seed=100)
    assert len(furniture(mem, 'bed')) == 2


@pytest.mark.parametrize('rule_on, expected', [(True, 1), (False, 2)])
def test_one_mask_over_both_parts_merges_a_type_without_a_size(rule_on, expected):
    """A counter has no plausible size (segments stand side by side), yet one mask that
    covers two of its nodes says they are one piece."""
    mem = memory(rule_on)
    seen(mem, 'counter top', [0.0, 0.0, 0.0], [0.9, 0.6, 0.9])
    seen(mem, 'counter top', [1.5, 0.0, 0.0], [2.4, 0.6, 0.9], t0=5.0, seed=50)
    assert len(furniture(mem, 'counter top')) == 2
    seen(mem, 'counter top', [0.0, 0.0, 0.0], [2.4, 0.6, 0.9], frames=1, t0=9.0, seed=90)
    assert len(furniture(mem, 'counter top')) == expected


def test_labels_of_one_family_are_one_type():
    mem = memory()
    seen(mem, 'bathtub', [0.0, 0.0, 0.0], [0.7, 0.75, 0.55])
    seen(mem, 'bathtub basin', [0.9, 0.0, 0.0], [1.6, 0.75, 0.55], t0=5.0, seed=50)
    tubs = [n for n in mem.graph.nodes.values() if n.layer == 'furniture']
    assert len(tubs) == 1
    assert tubs[0].extent[0] == pytest.approx(1.6, abs=0.05)


def test_two_beds_in_two_rooms_stay_two_nodes():
    mem = memory()
    seen(mem, 'bed', [1.0, 1.0, 0.0], [3.0, 2.6, 0.55])
    seen(mem, 'bed', [1.0, 4.2, 0.0], [3.0, 5.8, 0.55], t0=5.0, seed=50)
    # Even seen in parts, each bed is one node and the two stay apart.
    seen(mem, 'bed', [1.0, 4.2, 0.0], [1.8, 5.8, 0.55], t0=10.0, seed=80)
    assert len(furniture(mem, 'bed')) == 2


def test_twin_beds_with_a_nightstand_between_stay_two_nodes():
    mem = memory()
    seen(mem, 'bed', [0.0, 0.0, 0.0], [1.0, 2.0, 0.55])
    seen(mem, 'bed', [1.5, 0.0, 0.0], [2.5, 2.0, 0.55], t0=5.0, seed=50)
    assert len(furniture(mem, 'bed')) == 2


def test_two_chairs_at_a_table_stay_two_nodes():
    mem = memory()
    seen(mem, 'dining table', [0.0, 0.0, 0.0], [1.4, 0.9, 0.75])
    for k, x in enumerate((0.15, 0.75)):
        seen(mem, 'chair', [x, -0.5, 0.0], [x + 0.45, -0.05, 0.9], t0=5.0 + 5 * k,
             seed=50 + 10 * k)
    assert len(furniture(mem, 'chair')) == 2
    assert len(furniture(mem, 'dining table')) == 1


def test_touching_pieces_larger_than_one_piece_stay_apart():
    """Kitchen cabinets and two desks pushed together touch, but are two pieces each."""
    mem = memory()
    seen(mem, 'cabinet', [0.0, 0.0, 0.0], [0.6, 0.55, 0.85])
    seen(mem, 'cabinet', [0.6, 0.0, 0.0], [1.2, 0.55, 0.85], t0=5.0, seed=50)
    seen(mem, 'desk', [3.0, 0.0, 0.0], [4.2, 0.6, 0.75], t0=10.0, seed=70)
    seen(mem, 'desk', [4.2, 0.0, 0.0], [5.4, 0.6, 0.75], t0=15.0, seed=90)
    assert len(furniture(mem, 'cabinet')) == 2
    assert len(furniture(mem, 'desk')) == 2


def test_part_sizes_parse_and_bad_entries_are_named():
    sizes = parse_part_sizes(('Sofa, couch = 1.0x2.8x1.2',))
    assert sizes['sofa'] == ('sofa', (2.8, 1.0, 1.2))
    assert sizes['couch'][0] == 'sofa'
    for bad in ('bed', 'bed=2x2', 'bed=2xax1', '=2x2x1', 'bed=2x0x1'):
        with pytest.raises(ValueError, match='furniture_part_sizes entry'):
            parse_part_sizes((bad,))


def test_config_from_dict_turns_the_rule_off():
    cfg = LongTermMemoryConfig.from_dict({'fusion': {'merge_furniture_parts': False}})
    assert cfg.fusion.merge_furniture_parts is False
    assert LongTermMemoryConfig().fusion.merge_furniture_parts is True


def test_an_armchair_is_furniture_however_its_label_is_spelled():
    """'ArmChair' reads 'arm chair': the listed 'armchair', not a small object."""
    mem = memory()
    seen(mem, 'ArmChair', [0.0, 0.0, 0.0], [0.85, 0.85, 0.45])
    assert len(furniture(mem, 'arm chair')) == 1
