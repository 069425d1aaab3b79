"""The household ontology: the object types of the homes this robot works in.

Type names are AI2-THOR's, so ALFRED and ALFRED-L tasks name them directly. Each row says
what a type affords, the rooms it is found in (most typical first) and the receptacles it
is usually kept on or in; `SYNONYMS` maps the free words people use to these types. The
simulator draws these types (its appearance table lives in `sim/`); a robot's planner and
perception read the same rows, built once into `HOUSEHOLD`.
"""

from __future__ import annotations

from memory_nodes.domain.ontology import ObjectType, Ontology


def _f(object_type: str, rooms, **kw) -> ObjectType:  # noqa: ANN001
    return ObjectType(object_type, 'furniture', rooms=tuple(rooms), **kw)


def _o(object_type: str, rooms, kept_on, **kw) -> ObjectType:  # noqa: ANN001
    return ObjectType(object_type, 'object', pickupable=True, rooms=tuple(rooms),
                      kept_on=tuple(kept_on), **kw)


K, L, B, W = 'kitchen', 'living_room', 'bedroom', 'bathroom'

_KITCHEN_SURF = ('CounterTop', 'DiningTable')
_LIVING_SURF = ('CoffeeTable', 'SideTable', 'Sofa', 'Shelf', 'TVStand', 'DiningTable')
_BED_SURF = ('Desk', 'Bed', 'SideTable', 'Dresser', 'Shelf')
_BATH_SURF = ('CounterTop', 'Toilet', 'Shelf')

_FURNITURE = (
    _f('Fridge', [K], receptacle='in', openable=True, categories=('appliance',)),
    _f('Cabinet', [K, W], receptacle='in', openable=True, categories=('storage',)),
    _f('Drawer', [K, B], receptacle='in', openable=True, categories=('storage',)),
    _f('Microwave', [K], receptacle='in', openable=True, toggleable=True,
       categories=('appliance',)),
    _f('StoveBurner', [K], receptacle='on', toggleable=True, categories=('appliance',)),
    _f('SinkBasin', [K, W], receptacle='in', categories=('sink',)),
    _f('Faucet', [K, W], toggleable=True, categories=('sink',)),
    _f('Toaster', [K], receptacle='in', toggleable=True, categories=('appliance',)),
    _f('CoffeeMachine', [K], receptacle='on', toggleable=True, categories=('appliance',)),
    _f('CounterTop', [K, W], receptacle='on', categories=('surface',)),
    _f('DiningTable', [K, L], receptacle='on', categories=('surface', 'table')),
    _f('CoffeeTable', [L], receptacle='on', categories=('surface', 'table')),
    _f('SideTable', [L, B], receptacle='on', categories=('surface', 'table')),
    _f('Desk', [B], receptacle='on', categories=('surface', 'table')),
    _f('Shelf', [L, B, W], receptacle='on', categories=('surface', 'storage')),
    _f('TVStand', [L], receptacle='on', categories=('surface',)),
    _f('Dresser', [B], receptacle='on', categories=('surface', 'storage')),
    _f('Sofa', [L], receptacle='on', categories=('seat',)),
    _f('ArmChair', [L], receptacle='on', categories=('seat',)),
    _f('Bed', [B], receptacle='on', categories=('bed',)),
    _f('GarbageCan', [K, L, B, W], receptacle='in', categories=('trash',)),
    _f('DeskLamp', [B, L], toggleable=True, categories=('light',)),
    _f('FloorLamp', [L, B], toggleable=True, categories=('light',)),
    _f('Television', [L], toggleable=True, categories=('electronics',)),
    _f('Toilet', [W], receptacle='on', categories=('bathroom',)),
    _f('BathtubBasin', [W], receptacle='in', categories=('bathroom',)),
    _f('TowelHolder', [W], receptacle='on', categories=('bathroom',)),
)

# Every type ALFRED cleans (rinsed in a sink basin under a running faucet) can be dirty,
# food included: see `ALFRED_CLEANABLE`.
_OBJECTS = (
    _o('Apple', [K], _KITCHEN_SURF + ('Fridge',), sliceable=True, cookable=True,
       can_be_dirty=True, categories=('food', 'fruit')),
    _o('Tomato', [K], _KITCHEN_SURF + ('Fridge',), sliceable=True, cookable=True,
       can_be_dirty=True, categories=('food', 'vegetable')),
    _o('Bread', [K], _KITCHEN_SURF, sliceable=True, cookable=True, categories=('food',)),
    # AI2-THOR's Egg is sliceable: slicing cracks it (ALFRED-L's "peel the egg").
    _o('Egg', [K], _KITCHEN_SURF + ('Fridge',), sliceable=True, cookable=True,
       can_be_dirty=True, categories=('food',)),
    _o('Potato', [K], _KITCHEN_SURF + ('Fridge',), sliceable=True, cookable=True,
       can_be_dirty=True, categories=('food', 'vegetable')),
    _o('Lettuce', [K], _KITCHEN_SURF + ('Fridge',), sliceable=True, can_be_dirty=True,
       categories=('food', 'vegetable')),
    _o('Mug', [K, L], _KITCHEN_SURF + ('Cabinet',), receptacle='in', can_be_dirty=True,
       fillable=True, categories=('container', 'kitchenware')),
    _o('Cup', [K], _KITCHEN_SURF + ('Cabinet',), receptacle='in', can_be_dirty=True,
       fillable=True, categories=('container', 'kitchenware')),
    _o('Bowl', [K], _KITCHEN_SURF + ('Cabinet',), receptacle='in', can_be_dirty=True,
       fillable=True, categories=('container', 'kitchenware')),
    _o('Plate', [K], _KITCHEN_SURF + ('Cabinet',), receptacle='on', can_be_dirty=True,
       categories=('container', 'kitchenware')),
    _o('Pan', [K], ('CounterTop', 'StoveBurner'), receptacle='in', can_be_dirty=True,
       categories=('container', 'cookware')),
    _o('Pot', [K], ('CounterTop', 'StoveBurner'), receptacle='in', can_be_dirty=True,
       fillable=True, categories=('container', 'cookware')),
    _o('Kettle', [K], ('CounterTop', 'StoveBurner'), can_be_dirty=True, fillable=True,
       categories=('container', 'cookware')),
    _o('Knife', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',
       'cutter')),
    _o('ButterKnife', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',
       'cutter')),
    _o('Spatula', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',)),
    _o('Ladle', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',)),
    _o('Spoon', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',)),
    _o('Fork', [K], _KITCHEN_SURF + ('Drawer',), can_be_dirty=True, categories=('utensil',)),
    _o('Bottle', [K], _KITCHEN_SURF + ('Fridge',), fillable=True, categories=('container',
       'drink')),
    _o('WineBottle', [K, L], _KITCHEN_SURF + ('Fridge',), fillable=True, categories=('container',
       'drink')),
    _o('SaltShaker', [K], _KITCHEN_SURF + ('Cabinet',), categories=('condiment',)),
    _o('PepperShaker', [K], _KITCHEN_SURF + ('Cabinet',), categories=('condiment',)),
    _o('DishSponge', [K, W], ('CounterTop', 'SinkBasin'), can_be_dirty=True,
       categories=('cleaning',)),
    _o('Book', [L, B], _LIVING_SURF + _BED_SURF, openable=True, categories=('reading',)),
    _o('Newspaper', [L], _LIVING_SURF, categories=('reading',)),
    _o('Pen', [B, L], _BED_SURF + ('Drawer',), categories=('stationery',)),
    _o('Pencil', [B], _BED_SURF + ('Drawer',), categories=('stationery',)),
    _o('RemoteControl', [L], _LIVING_SURF, categories=('electronics',)),
    _o('CellPhone', [L, B], _LIVING_SURF + _BED_SURF, toggleable=True,
       categories=('electronics',)),
    _o('Laptop', [L, B], ('Desk', 'CoffeeTable', 'Bed', 'Sofa', 'DiningTable'), openable=True,
       toggleable=True, categories=('electronics',)),
    _o('Watch', [B, L], _BED_SURF + ('Drawer',), categories=('valuable',)),
    _o('KeyChain', [L, B], _LIVING_SURF + _BED_SURF, categories=('valuable',)),
    _o('CreditCard', [L, B], _LIVING_SURF + _BED_SURF, categories=('valuable',)),
    _o('AlarmClock', [B], _BED_SURF, categories=('device',)),
    _o('Pillow', [L, B], ('Sofa', 'Bed', 'ArmChair'), categories=('textile',)),
    _o('Vase', [L], _LIVING_SURF, categories=('decor',)),
    _o('Statue', [L, B], _LIVING_SURF, categories=('decor',)),
    _o('Candle', [L, W], _LIVING_SURF + _BATH_SURF, toggleable=True, can_be_used_up=True,
       categories=('decor',)),
    _o('Box', [L, B], ('CoffeeTable', 'Desk', 'Shelf'), receptacle='in', openable=True,
       categories=('container',)),
    _o('TissueBox', [L, B, W], _LIVING_SURF + _BED_SURF + _BATH_SURF, can_be_used_up=True,
       categories=('cleaning',)),
    _o('SoapBar', [W], _BATH_SURF + ('BathtubBasin',), can_be_dirty=True,
       categories=('cleaning',)),
    _o('SoapBottle', [W, K], _BATH_SURF + ('CounterTop',), can_be_used_up=True,
       categories=('cleaning',)),
    _o('ToiletPaper', [W], _BATH_SURF, can_be_used_up=True, categories=('cleaning',)),
    _o('Towel', [W], ('TowelHolder',) + _BATH_SURF, can_be_dirty=True, categories=('textile',
       'cleaning')),
    _o('HandTowel', [W], ('TowelHolder',) + _BATH_SURF, can_be_dirty=True, categories=('textile',
       'cleaning')),
    _o('Cloth', [W, K], _BATH_SURF + ('CounterTop',), can_be_dirty=True, categories=('textile',
       'cleaning')),
    _o('SprayBottle', [W], _BATH_SURF, can_be_used_up=True, categories=('cleaning',)),
)

#: ALFRED's clean-task object types: each can be dirty and is cleaned by rinsing it in a
#: sink basin while the faucet runs (ALFRED also cleans their slices, which stay the type).
ALFRED_CLEANABLE = ('Apple', 'Bowl', 'ButterKnife', 'Cloth', 'Cup', 'DishSponge', 'Egg', 'Fork',
                    'Kettle', 'Knife', 'Ladle', 'Lettuce', 'Mug', 'Pan', 'Plate', 'Pot',
                    'Potato', 'SoapBar', 'Spatula', 'Spoon', 'Tomato')

#: Object types that slice a sliceable object when held.
SLICING_TOOLS = ('Knife', 'ButterKnife')

#: Free word (lower case, single spaces) -> candidate types, preferred first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    'counter': ('CounterTop',),
    'kitchen counter': ('CounterTop',),
    'countertop': ('CounterTop',),
    'table': ('DiningTable', 'CoffeeTable', 'SideTable', 'Desk'),
    'kitchen table': ('DiningTable',),
    'dinner table': ('DiningTable',),
    'coffee table': ('CoffeeTable',),
    'side table': ('SideTable',),
    'nightstand': ('SideTable',),
    'night stand': ('SideTable',),
    'trash': ('GarbageCan',),
    'trash can': ('GarbageCan',),
    'trashcan': ('GarbageCan',),
    'garbage': ('GarbageCan',),
    'bin': ('GarbageCan',),
    'dustbin': ('GarbageCan',),
    'lamp': ('DeskLamp', 'FloorLamp'),
    'light': ('DeskLamp', 'FloorLamp'),
    'toilet paper': ('ToiletPaper',),
    'toilet paper roll': ('ToiletPaper',),
    'card': ('CreditCard',),
    'cloth': ('Cloth',),
    'wash cloth': ('Cloth',),
    'washcloth': ('Cloth',),
    'rag': ('Cloth',),
    'turner': ('Spatula',),
    'scoop': ('Ladle', 'Spoon'),
    'frying pan': ('Pan',),
    'skillet': ('Pan',),
    'saucepan': ('Pot',),
    'glass': ('Cup',),
    # ALFRED-L puts a card "in a bag"; AI2-THOR homes have no bag, and a Box is the
    # openable container a card is put in there.
    'bag': ('Box',),
    'knives': ('Knife',),
    'sink': ('SinkBasin',),
    'basin': ('SinkBasin',),
    'tap': ('Faucet',),
    'refrigerator': ('Fridge',),
    'fridge': ('Fridge',),
    'stove': ('StoveBurner',),
    'burner': ('StoveBurner',),
    'cooktop': ('StoveBurner',),
    # AI2-THOR kitchens have no oven: the microwave is where ALFRED heats and cooks.
    'oven': ('Microwave',),
    'microwave oven': ('Microwave',),
    'cellphone': ('CellPhone',),
    'phone': ('CellPhone',),
    'mobile': ('CellPhone',),
    'remote': ('RemoteControl',),
    'tv': ('Television',),
    'television': ('Television',),
    'dish': ('Plate', 'Bowl'),
    'toast': ('Bread',),
    'sponge': ('DishSponge',),
    'soap': ('SoapBar', 'SoapBottle'),
    'keys': ('KeyChain',),
    'key': ('KeyChain',),
    'couch': ('Sofa',),
    'armchair': ('ArmChair',),
    'chair': ('ArmChair',),
    'bookshelf': ('Shelf',),
    'shelves': ('Shelf',),
    'wine': ('WineBottle',),
    'cup of coffee': ('Mug',),
    'coffee maker': ('CoffeeMachine',),
    'bathtub': ('BathtubBasin',),
    'tub': ('BathtubBasin',),
    'salt': ('SaltShaker',),
    'pepper': ('PepperShaker',),
    'tissues': ('TissueBox',),
    'tissue': ('TissueBox',),
    'cupboard': ('Cabinet',),
    'teapot': ('Kettle',),
    # ALFRED's `Glassbottle`.
    'glass bottle': ('Bottle',),
    'clock': ('AlarmClock',),
    'towel rack': ('TowelHolder',),
}

#: The household ontology, built once: pass it to whoever needs it.
#: Everyday nouns for a kind of thing rather than one type ("the black valuable", "a
#: dish", "something to write with"): the word -> the object category it names. Which
#: type is meant is then up to what the home holds, i.e. to memory. Common knowledge.
CATEGORY_WORDS: dict[str, str] = {
    'fruit': 'fruit', 'vegetable': 'vegetable', 'veggie': 'vegetable', 'food': 'food',
    'dish': 'kitchenware', 'crockery': 'kitchenware', 'tableware': 'kitchenware',
    'kitchenware': 'kitchenware', 'cookware': 'cookware', 'utensil': 'utensil',
    'cutlery': 'utensil', 'silverware': 'utensil', 'drink': 'drink', 'beverage': 'drink',
    'seasoning': 'condiment', 'condiment': 'condiment', 'spice': 'condiment',
    'cleaning': 'cleaning', 'reading': 'reading', 'read': 'reading',
    'stationery': 'stationery', 'write': 'stationery', 'writing': 'stationery',
    'gadget': 'electronics', 'electronics': 'electronics',
    'valuable': 'valuable', 'valuables': 'valuable', 'fabric': 'textile',
    'textile': 'textile', 'linen': 'textile', 'decoration': 'decor', 'ornament': 'decor',
    'decor': 'decor', 'container': 'container',
}

HOUSEHOLD = Ontology(_FURNITURE + _OBJECTS, SYNONYMS, name='household')
