"""The memory conditions compared in the evaluation (same planner, same homes, same seeds).

- `none`: no memory across tasks: memory is cleared before every task, so the planner
  sees only what the camera shows during that task and explores every time.
- `history`: no structured memory: the raw log of every observation (KARMA's in-context
  baseline); objects are wherever their latest mention says.
- `ltm`: the long-term scene graph only.
- `stm`: the short-term buffer only across tasks (capacity-bounded, the chosen eviction
  policy): the scene graph is cleared before every task, as in `none`, so only what the
  buffer kept carries over (KARMA's "without long-term memory").
- `ltm+stm`: ours: both, short-term facts first.
"""

from __future__ import annotations

from dataclasses import dataclass

from memory_nodes.memory.config import LongTermMemoryConfig
from memory_nodes.memory.long_term import LongTermMemory
from memory_nodes.memory.robot_memory import RobotMemory
from memory_nodes.memory.short_term import ShortTermConfig
from memory_nodes.memory.store import MemoryStore
from memory_nodes.planner.memory_views import HistoryView, RobotMemoryView
from memory_nodes.planner.plan import MemoryView

CONDITIONS = ('none', 'history', 'ltm', 'stm', 'ltm+stm')


@dataclass
class ConditionSetup:
    """The memory objects a condition needs, and the view the planner gets."""

    name: str
    memory: RobotMemory | None
    history: HistoryView | None
    view: MemoryView
    clear_before_task: bool
    clear_ltm_before_task: bool = False

    def forget_long_term(self) -> None:
        """Clear the scene graph, keep the short-term buffer (the `stm` ablation)."""
        if self.memory is not None:
            # RobotMemory's own way to swap in a graph; the buffer's sink follows it.
            self.memory._adopt(LongTermMemory(self.memory.ltm.config))


def check_condition(name: str) -> None:
    """Raise a ValueError that names the conditions if `name` is not one of them."""
    if name not in CONDITIONS:
        raise ValueError(f'condition must be one of {CONDITIONS}, got {name!r}')


def make_condition(name: str, stm_policy: str = 'robot_aware', stm_capacity: int = 10,
                   text_embeddings: str = 'minilm',
                   store: MemoryStore | None = None,
                   detector_profile: str = '') -> ConditionSetup:
    """Build the memory of one condition (a ValueError names unknown conditions).

    `store` (a shared `PostgresStore`) makes the long-term memory one that other robots
    share; only the conditions that never clear it (`ltm`, `ltm+stm`) take one.
    `detector_profile`: what the memory knows of its detector (see
    `LongTermMemoryConfig.detector_profile`).
    """
    check_condition(name)
    if store is not None and name not in ('ltm', 'ltm+stm'):
        raise ValueError(f'condition {name!r} clears the long-term memory: a shared store '
                         "needs 'ltm' or 'ltm+stm'")
    if name == 'history':
        history = HistoryView()
        return ConditionSetup(name, None, history, history, False)
    ltm_cfg = LongTermMemoryConfig()
    ltm_cfg.embedder.backend = text_embeddings
    ltm_cfg.detector_profile = detector_profile
    memory = RobotMemory(ltm_cfg, ShortTermConfig(capacity=stm_capacity, policy=stm_policy),
                         store=store)
    if name == 'none':
        return ConditionSetup(name, memory, None, RobotMemoryView(memory, True, False), True)
    if name == 'stm':
        return ConditionSetup(name, memory, None, RobotMemoryView(memory, True, True), False,
                              clear_ltm_before_task=True)
    use_stm = name == 'ltm+stm'
    return ConditionSetup(name, memory, None, RobotMemoryView(memory, True, use_stm), False)
