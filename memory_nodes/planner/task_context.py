"""What a task will need, told to the short-term memory before the task starts.

The planner knows which object types a task's goals name and which appliances their
states need (ALFRED's recipes, as the goal compiler plays them); the short-term memory's
robot-aware eviction policy favours entries of those labels while the task runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_nodes.domain.goals import GoalCondition

#: What a goal state needs besides its object.
STATE_TOOLS = {'cold': ('Fridge',), 'hot': ('Microwave',), 'cooked': ('Microwave',),
               'clean': ('SinkBasin', 'Faucet'), 'filled': ('SinkBasin', 'Faucet'),
               'sliced': ('Knife',)}


def goal_types(goals: Sequence[GoalCondition]) -> tuple[str, ...]:
    """Object types the goals name (subjects and receptacles), in order."""
    out: list[str] = []
    for g in goals:
        pairs = [(g.obj, g.obj_id)] + ([] if g.kind == 'STATE' else [(g.target, g.target_id)])
        for name, oid in pairs:
            t = name or (oid or '').rsplit('_', 1)[0]
            if t and t not in out:
                out.append(t)
    return tuple(out)


def task_labels(goals: Sequence[GoalCondition]) -> tuple[str, ...]:
    """Goal types and the appliances their states need, in every spelling of labels.

    Memory writes 'RemoteControl', 'remote control' or 'remote_control'; all are given.
    """
    types = list(goal_types(goals))
    for g in goals:
        for tool in STATE_TOOLS.get(g.target or '', ()) if g.kind == 'STATE' else ():
            if tool not in types:
                types.append(tool)
    out: list[str] = []
    for t in types:
        words = re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', t).lower()
        for form in (t, words, words.replace(' ', '_')):
            if form not in out:
                out.append(form)
    return tuple(out)
