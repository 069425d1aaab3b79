"""Home generator, HomeSpec JSON, place graph (never through walls) and top-down map."""

from __future__ import annotations

import math

import pytest

from sim.catalog import CATALOG, WORLD_ONTOLOGY
from sim.home import HomeSpec
from sim.home_generator import LayoutSpec, generate_home
from sim.place_graph import adjacency, astar, components, crosses_wall

SEEDS = range(6)


@pytest.fixture(scope='module')
def homes():
    return {s: generate_home(s) for s in SEEDS}


def test_catalog_covers_the_issue_types():
    assert len(WORLD_ONTOLOGY.object_types()) >= 30
    for t in ('Fridge', 'Cabinet', 'Drawer', 'Microwave', 'StoveBurner', 'SinkBasin', 'Faucet',
              'Toaster', 'CoffeeMachine', 'CounterTop', 'DiningTable', 'Desk', 'Shelf', 'Sofa',
              'Bed', 'GarbageCan', 'DeskLamp', 'FloorLamp', 'Apple', 'Mug', 'Knife',
              'ToiletPaper', 'CreditCard', 'Pillow', 'SoapBar', 'KeyChain'):
        assert t in CATALOG
    for spec in CATALOG.values():
        for parent in spec.kept_on:
            assert CATALOG[parent].receptacle is not None


def test_generation_is_deterministic(homes):
    for s in SEEDS:
        assert generate_home(s).to_json() == homes[s].to_json()
    assert homes[0].to_json() != homes[1].to_json()


def test_json_round_trip(homes, tmp_path):
    path = tmp_path / 'home.json'
    homes[2].save(path)
    assert HomeSpec.load(path).to_json() == homes[2].to_json()


def test_rooms_furniture_and_objects(homes):
    for home in homes.values():
        assert {r.room_type for r in home.rooms} == {'kitchen', 'living_room', 'bedroom',
                                                     'bathroom'}
        types = {f.object_type for f in home.furniture}
        for t in ('Fridge', 'SinkBasin', 'Faucet', 'StoveBurner', 'Bed', 'Sofa', 'Toilet'):
            assert t in types, (home.name, t)
        assert len(home.objects) >= 30
        ids = [t.object_id for t in home.things()]
        assert len(ids) == len(set(ids))
        for o in home.objects:
            assert o.parent in ids and o.relation in ('in', 'on')
            assert home.room_at(o.position[0], o.position[1]) == home.thing(o.parent).room


def test_required_objects_are_placed():
    home = generate_home(3, LayoutSpec(required_objects=('Pan', 'Knife', 'Laptop', 'Towel')))
    types = {o.object_type for o in home.objects}
    assert {'Pan', 'Knife', 'Laptop', 'Towel'} <= types
    with pytest.raises(ValueError, match='Fridge'):
        generate_home(3, LayoutSpec(required_objects=('Fridge',)))
    with pytest.raises(ValueError, match='garage'):
        generate_home(3, LayoutSpec(rooms=('kitchen', 'garage')))


def test_place_graph_connected_and_never_through_walls(homes):
    for home in homes.values():
        assert len(components(home)) == 1
        pos = {w.name: (w.x, w.y) for w in home.waypoints}
        for a, b in home.edges:
            assert not crosses_wall(home, pos[a], pos[b]), (home.name, a, b)
        for t in home.things():
            assert t.approach in pos


def test_astar_between_rooms(homes):
    home = homes[0]
    adj = adjacency(home)
    a = next(w for w in home.waypoints if w.room == 'kitchen')
    b = next(w for w in home.waypoints if w.room == 'bathroom')
    path, length = astar(home, a.name, b.name, adj)
    assert path[0] == a.name and path[-1] == b.name
    assert length >= math.dist((a.x, a.y), (b.x, b.y)) - 1e-9
    for u, v in zip(path, path[1:]):
        assert v in {n for n, _ in adj[u]}


def test_render_map_cli(tmp_path):
    from memory_nodes.commands.main import main
    out = tmp_path / 'map.png'
    assert main(['sim', 'render-map', '--seed', '4', '--out', str(out)]) == 0
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
