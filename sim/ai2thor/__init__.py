"""AI2-THOR bridge: real AI2-THOR scenes and ALFRED-L tasks in PyBullet, and a backend.

- `frames`: Unity (left-handed, y up) to REP 103 (right-handed, z up), the one conversion.
- `scene_importer`: `controller.last_event.metadata['objects']` -> `ImportedScene` + `HomeSpec`.
- `floorplan1`: FloorPlan1 as a built-in scene (from `../shared/datasets/ai2thor`).
- `change_replay`: before/after dumps -> `WorldChange`s a scripted person applies.
- `floorplan_tasks`: ALFRED-L FloorPlan1 tasks in the imported kitchen; the comparison.
- `thor_mapping`: AI2-THOR metadata, actions and events <-> our types (pure, tested).
- `backend`: `AI2ThorSimulator`, the `Simulator` interface over a live AI2-THOR controller.
"""
