"""Prompt tokens a model planner would be given under each memory condition.

The grounded planner needs no prompt; to compare conditions as KARMA does, we count the
memory context a model would receive: ours = collapsed scene graph within its budget +
the top short-term entries for the instruction; `history` = the whole observation log.
"""

from __future__ import annotations

import math

COLLAPSED_BUDGET = 600
STM_TOP_K = 5


def count_tokens(text: str) -> int:
    """Token estimate: about 4 characters per token for English-like prompt text."""
    return int(math.ceil(len(text) / 4.0))


def memory_prompt_tokens(setup, instruction: str) -> int:  # noqa: ANN001 - ConditionSetup
    """Tokens of the memory part of the prompt for `instruction` under `setup`."""
    view = setup.view
    parts = [instruction]
    if setup.name == 'history':
        parts.append(view.collapsed_graph(0, []))
    elif setup.name in ('ltm', 'ltm+stm', 'none'):
        parts.append(view.collapsed_graph(COLLAPSED_BUDGET, instruction.lower().split()))
    if setup.name in ('stm', 'ltm+stm'):
        parts += [f'{h.label} {h.states} at {h.position}'
                  for h in view.recall(instruction, STM_TOP_K)]
    return count_tokens('\n'.join(parts))
