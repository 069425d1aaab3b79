"""Furniture nodes vs real pieces: duplicates, misses and spurious nodes per type."""

from memory_nodes.evaluation.furniture_count import count_furniture, memory_furniture
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.observation import ObjectObservation

BED_A = ('Bed', (0.0, 0.0, 0.0), (2.0, 1.6, 0.55))
BED_B = ('Bed', (5.0, 0.0, 0.0), (7.0, 1.6, 0.55))
TUB = ('BathtubBasin', (10.0, 0.0, 0.0), (11.6, 0.75, 0.55))


def test_two_nodes_on_one_bed_are_one_duplicate_and_a_missed_piece_is_counted():
    nodes = [('Bed', (0.5, 0.8, 0.3)), ('Bed', (1.5, 0.8, 0.3)), ('Bed', (6.0, 0.8, 0.3)),
             ('BathtubBasin', (20.0, 0.0, 0.3))]
    count = count_furniture(nodes, [BED_A, BED_B, TUB])
    bed, tub = count.per_type['Bed'], count.per_type['BathtubBasin']
    assert (bed.real, bed.nodes, bed.duplicates, bed.missed, bed.spurious) == (2, 3, 1, 0, 0)
    # The tub node is far from the real tub: the tub is missed and the node spurious.
    assert (tub.real, tub.nodes, tub.duplicates, tub.missed, tub.spurious) == (1, 1, 0, 1, 1)
    total = count.total()
    assert (total.real, total.nodes, total.duplicates) == (3, 4, 1)
    assert abs(count.excess_fraction() - 1 / 3) < 1e-9
    assert '4 nodes for 3 pieces' in count.summary() and 'Bed 1' in count.summary()


def test_a_node_just_outside_its_piece_still_belongs_to_it():
    count = count_furniture([('Bed', (2.2, 0.8, 0.3))], [BED_A])
    assert count.per_type['Bed'].spurious == 0 and count.per_type['Bed'].missed == 0
    count = count_furniture([('Bed', (2.6, 0.8, 0.3))], [BED_A])
    assert count.per_type['Bed'].spurious == 1 and count.per_type['Bed'].missed == 1


def test_memory_furniture_lists_confirmed_furniture_as_types():
    mem = LongTermMemory()
    for t in range(2):
        mem.integrate([ObjectObservation('dining table', 1.0,
                                         [[0, 0, 0.7], [1.4, 0.9, 0.75], [0.7, 0.4, 0.0]], t),
                       ObjectObservation('apple', 1.0, [[0, 0, 0.8], [0.05, 0.05, 0.85],
                                                        [0.02, 0.0, 0.82]], t)])
    mem.integrate([ObjectObservation('bed', 1.0, [[5, 5, 0], [7, 6.6, 0.5], [6, 6, 0.2]], 3)])
    # The apple is an object and the bed seen once is still tentative.
    assert [name for name, _ in memory_furniture(mem)] == ['DiningTable']
