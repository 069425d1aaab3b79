"""The household vocabulary that the robot and the simulator share (pure Python).

- `labels`: the one label normaliser.
- `ontology`: the immutable object ontology (`Ontology`, `ObjectType`, word resolution).
- `household`: the household ontology `HOUSEHOLD` (types, affordances, synonyms).
- `goals`: ALFRED-L goal conditions and their parser.
- `skills`: the skill interface (`SkillCall`, `SkillTarget`, `SkillResult`, events).
- `goal_compiler`: goal conditions -> primitive skills through a `Resolver`.
- `references`: which instance an instruction's words mean ("the cloth on the toilet"),
  read by the planner and checked by the suite generator.
"""
