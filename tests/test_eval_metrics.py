"""The evaluation arithmetic on a tiny hand-made suite: SR, GC, RE, RT, retrieval, STM, tokens."""

from __future__ import annotations

import math

import pytest

from memory_nodes.evaluation.bench_runner import BenchConfig, BenchRun, EpisodeRun
from memory_nodes.evaluation.metrics import (
    add_reductions,
    paired_wins,
    reduction,
    summarize,
    wilson_interval,
)
from memory_nodes.evaluation.report import (
    ablation_table,
    cells,
    pooled,
    result_line,
    table_one,
    targets_table,
)
from sim.episodes import EpisodeRecord, TaskRecord


def task(task_id: str, success: bool, gc: float, explore: int, time_s: float, *,
         path: float = 10.0, lookups: int = 0, correct: int = 0, stm_hits: int = 0,
         stm_lookups: int = 0, tokens: int = 100) -> TaskRecord:
    return TaskRecord(
        task_id=task_id, instruction='', success=success, goal_condition_rate=gc,
        reached=0, total=1, skills=4, failed_skills=0, replans=0, explorations=explore,
        stale_hits=0, path_length_m=path, robot_time_s=time_s, wall_time_s=1.0,
        lookups=lookups, lookups_correct=correct, stm_hits=stm_hits, stm_needed=stm_lookups,
        prompt_tokens=tokens, believed_done=success)


# A tiny suite: 2 episodes x 2 tasks; 'none' explores, 'ltm+stm' remembers.
NONE = [[task('e0-t0', True, 1.0, 4, 100.0, path=40.0, tokens=50),
         task('e0-t1', False, 0.5, 6, 140.0, path=60.0, tokens=60)],
        [task('e1-t0', True, 1.0, 5, 120.0, path=50.0, tokens=55),
         task('e1-t1', False, 0.0, 5, 140.0, path=50.0, tokens=65)]]
OURS = [[task('e0-t0', True, 1.0, 2, 80.0, path=20.0, lookups=4, correct=3, stm_hits=1,
              stm_lookups=4, tokens=300),
         task('e0-t1', True, 1.0, 0, 20.0, path=5.0, lookups=2, correct=2, stm_hits=2,
              stm_lookups=2, tokens=500)],
        [task('e1-t0', True, 1.0, 1, 60.0, path=15.0, lookups=3, correct=3, stm_hits=0,
              stm_lookups=3, tokens=320),
         task('e1-t1', False, 0.5, 1, 40.0, path=10.0, lookups=1, correct=0, stm_hits=1,
              stm_lookups=1, tokens=700)]]
HISTORY = [[task('e0-t0', True, 1.0, 2, 80.0, tokens=50), task('e0-t1', False, 0.5, 1, 50.0,
                                                               tokens=4000)],
           [task('e1-t0', False, 0.0, 2, 80.0, tokens=60), task('e1-t1', False, 0.0, 1, 50.0,
                                                                tokens=9000)]]


def bench_run() -> BenchRun:
    cfg = BenchConfig(suites=['composite'], conditions=['none', 'history', 'ltm+stm'])
    runs = []
    for condition, episodes in (('none', NONE), ('history', HISTORY), ('ltm+stm', OURS)):
        for i, tasks in enumerate(episodes):
            runs.append(EpisodeRun('composite', condition,
                                   EpisodeRecord(f'composite-e{i}', condition, tasks)))
    return BenchRun(cfg, runs, ['composite'])


def test_success_and_goal_condition_rate():
    m = summarize([t for ep in OURS for t in ep])
    assert m.tasks == 4 and m.successes == 3
    assert m.sr == pytest.approx(0.75)
    assert m.gc == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert m.sr_low < 0.75 < m.sr_high


def test_retrieval_accuracy_and_stm_hit_rate_are_pooled_ratios():
    m = summarize([t for ep in OURS for t in ep])
    assert m.lookups == 10
    assert m.retrieval_accuracy == pytest.approx(8 / 10)
    assert m.stm_lookups == 10
    assert m.stm_hit_rate == pytest.approx(4 / 10)


def test_no_lookups_is_nan_not_zero():
    m = summarize([t for ep in NONE for t in ep])
    assert math.isnan(m.retrieval_accuracy) and math.isnan(m.stm_hit_rate)


def test_reduced_exploration_and_time_against_none():
    none = summarize([t for ep in NONE for t in ep])
    ours = add_reductions(summarize([t for ep in OURS for t in ep]), none)
    # exploration per task: none 20/4 = 5, ours 4/4 = 1 -> RE = 1 - 1/5
    assert ours.exploration == pytest.approx(1.0)
    assert ours.re == pytest.approx(0.8)
    # robot time per task: none 500/4, ours 200/4 -> RT = 1 - 200/500
    assert ours.rt == pytest.approx(0.6)
    # path: none 200/4, ours 50/4 -> RP = 0.75
    assert ours.rp == pytest.approx(0.75)
    assert add_reductions(none, none).re == pytest.approx(0.0)


def test_warm_reduction_skips_each_episodes_first_task():
    firsts = [True, False, True, False]
    none = summarize([t for ep in NONE for t in ep], first_of_episode=firsts)
    ours = add_reductions(summarize([t for ep in OURS for t in ep], first_of_episode=firsts),
                          none)
    assert none.exploration_warm == pytest.approx((6 + 5) / 2)
    assert ours.exploration_warm == pytest.approx((0 + 1) / 2)
    assert ours.re_warm == pytest.approx(1 - 0.5 / 5.5)


def test_reduction_edge_cases():
    assert reduction(3.0, 4.0) == pytest.approx(0.25)
    assert math.isnan(reduction(1.0, 0.0))
    assert math.isnan(reduction(float('nan'), 2.0))
    assert reduction(6.0, 4.0) == pytest.approx(-0.5)  # worse than none is negative


def test_tokens_per_task_and_on_the_last_task_of_each_episode():
    tasks = [t for ep in OURS for t in ep]
    m = summarize(tasks, [False, True, False, True])
    assert m.tokens == pytest.approx((300 + 500 + 320 + 700) / 4)
    assert m.tokens_last == pytest.approx((500 + 700) / 2)


def test_wilson_interval():
    lo, hi = wilson_interval(5, 5)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.5655, abs=1e-3)
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0) and hi == pytest.approx(0.2775, abs=1e-3)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_paired_wins_match_by_task_id():
    ours = [t for ep in OURS for t in ep]
    none = [t for ep in NONE for t in ep]
    assert paired_wins(ours, none) == (1, 0)  # e0-t1 only we solved
    assert paired_wins(none, ours) == (0, 1)


def test_cells_tables_and_result_line():
    run = bench_run()
    grid, pool = cells(run), pooled(run)
    ours = grid['composite']['ltm+stm']
    assert ours.sr == pytest.approx(0.75) and ours.re == pytest.approx(0.8)
    assert ours.re_warm == pytest.approx(1 - 0.5 / 5.5)
    assert grid['composite']['history'].sr == pytest.approx(0.25)
    # SR with its Wilson interval: wilson_interval(3, 4) and (2, 4)
    assert '| ltm+stm (ours) | 0.75 [0.30, 0.95] |' in table_one(run, grid)
    assert '| none (nothing kept between tasks) | 0.50 [0.15, 0.85] |' in table_one(run, grid)
    assert '2 / 0' in ablation_table(run, pool)  # ours vs history: won 2, lost 0
    targets = targets_table(grid, pool)
    assert '| composite: ltm+stm SR > none SR | 0.75 vs 0.50 | yes |' in targets
    assert '| composite: ltm+stm SR >= 0.9 | 0.75 | no |' in targets
    assert '| composite: ltm+stm RE >= 0.8 | 0.80 | yes |' in targets
    line = result_line(run, grid, pool)
    values = dict(kv.split('=') for kv in line.split()[1:])
    assert line.startswith('RESULT ')
    assert values['sr_ours_composite'] == '0.750'
    assert values['re_ours_composite'] == '0.800'
    assert values['sr_ours_simple'] == 'nan'
    # tokens on the last task of each episode: ours (500 + 700) / 2, history (4000 + 9000) / 2
    assert values['tokens_ours'] == '600' and values['tokens_history'] == '6500'
    assert float(values['tokens_ratio']) == pytest.approx(6500 / 600, abs=1e-3)
