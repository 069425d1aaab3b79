"""The evaluation's arithmetic: per-condition metrics and reductions against `none`.

Pure functions of `TaskRecord`s (no simulator, no memory), so a test can pin them:

- SR: successful tasks / tasks; GC: mean goal-condition rate (reached sub-goals / total);
- retrieval accuracy: memory lookups whose object really was where memory said / lookups;
- STM hit rate: lookups whose object was resident in the short-term memory / lookups;
- exploration: explore and search actions per task; path length and robot time per task;
- RE (KARMA's reduced exploration) = 1 - exploration(condition) / exploration(none) over the
  same tasks, RT (reduced time) = 1 - robot_time(condition) / robot_time(none), and the same
  for path length (RP); "warm" RE counts only tasks after the first of each episode (the
  first starts with an empty memory in every condition);
- tokens: memory context + instruction a model planner would be given, per task, and on
  the last task of each episode (the longest history).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sim.episodes import TaskRecord

NAN = float('nan')


def ratio(num: float, den: float) -> float:
    """The quotient num / den, NaN when the denominator is 0."""
    return num / den if den else NAN


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean, NaN for no values."""
    return sum(values) / len(values) if values else NAN


def reduction(ours: float, baseline: float) -> float:
    """KARMA's reduction: 1 - ours / baseline (NaN if the baseline is 0 or NaN)."""
    if not baseline or math.isnan(baseline) or math.isnan(ours):
        return NAN
    return 1.0 - ours / baseline


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate (NaN, NaN for n = 0)."""
    if n == 0:
        return (NAN, NAN)
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class ConditionMetrics:
    """Every number of one (suite, condition) cell."""

    tasks: int
    successes: int
    sr: float
    sr_low: float
    sr_high: float
    gc: float
    retrieval_accuracy: float
    lookups: int
    stm_hit_rate: float
    stm_lookups: int
    exploration: float
    exploration_warm: float
    path_length_m: float
    robot_time_s: float
    wall_time_s: float
    skills: float
    replans: float
    tokens: float
    tokens_last: float
    re: float = NAN
    re_warm: float = NAN
    rt: float = NAN
    rp: float = NAN

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON (NaN kept as NaN; the writer turns it into null)."""
        return asdict(self)


def summarize(tasks: Sequence[TaskRecord], last_of_episode: Iterable[bool] | None = None,
              first_of_episode: Iterable[bool] | None = None) -> ConditionMetrics:
    """Aggregate tasks of one cell; the flags mark each episode's last and first task."""
    n = len(tasks)
    firsts = list(first_of_episode) if first_of_episode is not None else [False] * n
    wins = sum(t.success for t in tasks)
    lo, hi = wilson_interval(wins, n)
    flags = list(last_of_episode) if last_of_episode is not None else [False] * n
    lookups = sum(t.lookups for t in tasks)
    stm_lookups = sum(t.stm_needed for t in tasks)
    return ConditionMetrics(
        tasks=n, successes=wins, sr=ratio(wins, n), sr_low=lo, sr_high=hi,
        gc=mean([t.goal_condition_rate for t in tasks]),
        retrieval_accuracy=ratio(sum(t.lookups_correct for t in tasks), lookups),
        lookups=lookups,
        stm_hit_rate=ratio(sum(t.stm_hits for t in tasks), stm_lookups),
        stm_lookups=stm_lookups,
        exploration=mean([t.explorations for t in tasks]),
        exploration_warm=mean([t.explorations for t, first in zip(tasks, firsts)
                               if not first]),
        path_length_m=mean([t.path_length_m for t in tasks]),
        robot_time_s=mean([t.robot_time_s for t in tasks]),
        wall_time_s=mean([t.wall_time_s for t in tasks]),
        skills=mean([t.skills for t in tasks]),
        replans=mean([t.replans for t in tasks]),
        tokens=mean([t.prompt_tokens for t in tasks]),
        tokens_last=mean([t.prompt_tokens for t, last in zip(tasks, flags) if last]))


def add_reductions(cell: ConditionMetrics, none: ConditionMetrics | None) -> ConditionMetrics:
    """Fill RE, RT and RP of `cell` against the `none` cell of the same tasks."""
    if none is None:
        return cell
    cell.re = reduction(cell.exploration, none.exploration)
    cell.re_warm = reduction(cell.exploration_warm, none.exploration_warm)
    cell.rt = reduction(cell.robot_time_s, none.robot_time_s)
    cell.rp = reduction(cell.path_length_m, none.path_length_m)
    return cell


def paired_wins(ours: Sequence[TaskRecord], other: Sequence[TaskRecord]) -> tuple[int, int]:
    """(tasks ours solved and `other` did not, the reverse), matched by task id."""
    theirs = {t.task_id: t.success for t in other}
    a = sum(1 for t in ours if t.success and theirs.get(t.task_id) is False)
    b = sum(1 for t in ours if not t.success and theirs.get(t.task_id) is True)
    return a, b


def fmt(value: float, digits: int = 2) -> str:
    """A number for a table ('-' for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return f'{value:.{digits}f}'
