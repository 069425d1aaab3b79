"""A language model reads what a person says into goals grounded in memory (LLM+P).

The model understands, the grounded planner acts: `GoalReader` turns an instruction and a
compact memory context into ALFRED-L goal conditions, decoded under a grammar whose names
come from the ontology, so every output parses and names only real things.
"""
