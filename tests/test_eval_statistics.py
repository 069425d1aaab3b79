"""Paired statistics: exact McNemar, paired bootstrap, power, and the page they produce."""

from __future__ import annotations

import math
import random

import pytest

from memory_nodes.evaluation.bench_cli import results_page
from memory_nodes.evaluation.bench_runner import BenchConfig, BenchRun, EpisodeRun
from memory_nodes.evaluation.report import cells, pooled, result_line
from memory_nodes.evaluation.statistics import (
    mcnemar_exact,
    mcnemar_sample_size,
    paired_bootstrap,
    paired_sample_size,
    paired_sd,
)
from memory_nodes.evaluation.stats_report import POOLED, Evidence, claims, karma_table
from sim.episodes import EpisodeRecord
from tests.test_eval_metrics import bench_run, task


# --------------------------------------------------------------------------- McNemar
def test_mcnemar_exact_hand_computed():
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)  # 2 * 0.5^6
    assert mcnemar_exact(6, 0) == pytest.approx(0.03125)  # two-sided: symmetric
    assert mcnemar_exact(2, 8) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)  # 5 one way is not enough
    assert mcnemar_exact(3, 3) == 1.0  # capped at 1
    assert mcnemar_exact(0, 0) == 1.0  # no discordant pairs: nothing to tell apart


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_of_a_constant_difference_is_that_constant():
    r = paired_bootstrap([3.0, 5.0, 7.0, 9.0, 4.0], [1.0, 3.0, 5.0, 7.0, 2.0])
    assert r.diff == pytest.approx(2.0)
    assert r.diff_low == pytest.approx(2.0) and r.diff_high == pytest.approx(2.0)
    assert r.significant
    assert r.rel == pytest.approx(28 / 18 - 1)  # ratio of the means
    assert r.rel_low <= r.rel <= r.rel_high


def test_bootstrap_of_two_pairs_by_hand():
    # Differences 0 and 2: a resample's mean is 0 (p 1/4), 1 (1/2) or 2 (1/4), so the
    # 2.5 % and 97.5 % quantiles are 0 and 2, and 0 is inside: not significant.
    r = paired_bootstrap([1.0, 3.0], [1.0, 1.0])
    assert (r.diff, r.diff_low, r.diff_high) == (1.0, 0.0, 2.0)
    assert not r.significant


def test_bootstrap_matches_normal_theory_on_a_large_sample():
    rng = random.Random(7)
    b = [rng.uniform(0, 10) for _ in range(400)]
    d = [rng.gauss(-1.0, 2.0) for _ in range(400)]
    a = [x + y for x, y in zip(b, d)]
    r = paired_bootstrap(a, b)
    mean = sum(d) / len(d)
    se = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))
    assert r.diff == pytest.approx(mean)
    assert r.diff_low == pytest.approx(mean - 1.96 * se, abs=0.05)
    assert r.diff_high == pytest.approx(mean + 1.96 * se, abs=0.05)
    assert r.significant and r.diff_high < 0


def test_bootstrap_is_reproducible_with_its_fixed_seed():
    a, b = [1.0, 4.0, 2.0, 8.0, 3.0], [2.0, 2.0, 5.0, 1.0, 3.0]
    assert paired_bootstrap(a, b) == paired_bootstrap(a, b)


def test_cluster_bootstrap_keeps_an_episodes_pairs_together():
    # Each episode's differences cancel (+3, -3): resampling episodes sees mean 0 every
    # time, resampling tasks sees the spread.
    a = [4.0, 1.0, 4.0, 1.0]
    b = [1.0, 4.0, 1.0, 4.0]
    by_task = paired_bootstrap(a, b)
    by_episode = paired_bootstrap(a, b, ['e0', 'e0', 'e1', 'e1'])
    assert by_task.diff_low < -1 and by_task.diff_high > 1
    assert by_episode.diff_low == 0.0 and by_episode.diff_high == 0.0
    assert by_episode.units == 2 and by_task.units == 4


def test_one_unit_has_no_interval():
    r = paired_bootstrap([1.0, 2.0], [3.0, 5.0], ['e0', 'e0'])
    assert r.diff == pytest.approx(-2.5)
    assert math.isnan(r.diff_low) and math.isnan(r.diff_high) and not r.significant


def test_relative_change_without_a_baseline_is_nan():
    r = paired_bootstrap([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert math.isnan(r.rel) and math.isnan(r.rel_low)


# --------------------------------------------------------------------------- power
def test_mcnemar_sample_size_hand_computed():
    z, zb = 1.959964, 0.841621
    n = (z * math.sqrt(0.2) + zb * math.sqrt(0.2 - 0.01)) ** 2 / 0.01  # 154.6
    assert mcnemar_sample_size(0.2, 0.1) == math.ceil(n) == 155
    # Less discordance than the difference itself is impossible: sized at psi = delta.
    assert mcnemar_sample_size(0.0, 0.1) == mcnemar_sample_size(0.1, 0.1) == 77


def test_paired_sample_size_hand_computed():
    assert paired_sample_size(1.0, 0.5) == math.ceil(((1.959964 + 0.841621) * 2) ** 2) == 32
    assert math.isnan(paired_sample_size(0.0, 0.5))


def test_paired_sd_falls_back_when_the_differences_do_not_vary():
    sd, fallback = paired_sd([1.0, 2.0, 4.0], [0.0, 1.0, 2.0])
    assert not fallback and sd == pytest.approx(math.sqrt(1 / 3))
    sd, fallback = paired_sd([1.0, 3.0], [1.0, 3.0])
    assert fallback and sd == pytest.approx(math.sqrt(2 + 2))


# --------------------------------------------------------------------------- the page
def test_evidence_on_the_hand_made_suite():
    ev = Evidence(bench_run())
    c = ev.get('composite', 'ltm+stm', 'none')
    assert (c.n, c.won, c.lost, c.p) == (4, 1, 0, 1.0)
    # RE of ours vs none: 1 - 1/5 = 0.8 (tests/test_eval_metrics.py) with its interval
    re, lo, hi = ev.reduction('composite', 'ltm+stm', 'explore')
    assert re == pytest.approx(0.8) and lo < 0.8 < hi
    # history vs ours: 2 won, 0 lost, exact p 0.5
    h = ev.get(POOLED, 'ltm+stm', 'history')
    assert (h.won, h.lost, h.p) == (2, 0, 0.5)


def karma_run(ours_extra_wins: int = 0, tasks: int = 30) -> BenchRun:
    """5-task episodes; the scene graph (ltm) cuts exploration, STM adds nothing, unless
    `ours_extra_wins` tasks fail without STM (in `ltm` and `none`) and succeed with it."""
    conds = ('none', 'ltm', 'stm', 'ltm+stm')
    runs = []
    for cond in conds:
        records = []
        for i in range(tasks):
            has_ltm = 'ltm' in cond
            explore = (1 + i % 2) if has_ltm else (4 + i % 3)
            time_s = 40.0 + 5 * (i % 4) if has_ltm else 100.0 + 10 * (i % 3)
            success = i >= ours_extra_wins or 'stm' in cond
            records.append(task(f'k-e{i // 5}-t{i % 5}', success, 1.0 if success else 0.0,
                                explore, time_s))
        for e in range(tasks // 5):
            runs.append(EpisodeRun('k', cond, EpisodeRecord(f'k-e{e}', cond,
                                                            records[5 * e:5 * e + 5])))
    return BenchRun(BenchConfig(suites=['k'], conditions=list(conds)), runs, ['k'])


def test_karma_claims_follow_the_tests():
    ev = Evidence(karma_run())
    ltm_line, stm_line = claims(ev)
    assert '"LTM buys efficiency"' in ltm_line and '**supported**' in ltm_line
    assert '"STM buys success"' in stm_line and '**not supported**' in stm_line
    assert 'McNemar p = 1.000' in stm_line
    table = karma_table(ev)
    assert '| k | no STM | ltm | 30 | 1.00 [0.89, 1.00] |' in table
    assert '| k | neither | none | 30 | 1.00 [0.89, 1.00] | 0 (reference) |' in table


def test_stm_claim_is_supported_when_stm_wins_enough_tasks():
    ev = Evidence(karma_run(ours_extra_wins=8))
    c = ev.get('k', 'ltm+stm', 'ltm')
    assert (c.won, c.lost) == (8, 0) and c.p == pytest.approx(2 / 256)
    _, stm_line = claims(ev)
    assert '**supported**' in stm_line


def test_results_page_and_result_line_carry_the_tests():
    run = bench_run()
    grid, pool = cells(run), pooled(run)
    ev = Evidence(run)
    meta = {'command': 'embodied-memory bench tasks', 'date': '2026-01-01', 'commit': 'abc',
            'tokens_counter': 'test counter'}
    page = results_page(run, grid, pool, {}, '', meta, [], ev)
    for heading in ('## Paired comparisons against ours', "## KARMA's ablation",
                    '## Power: how many tasks would show what'):
        assert heading in page
    # ours vs none on the hand-made suite: 1 won / 0 lost, McNemar p = 1
    assert '| composite (2 ep.) | none | 4 | 0.75 / 0.50 | 1 / 0 | 1.000 |' in page
    assert '- composite: vs none: explore/task -80 %' in page
    assert '1 won / 0 lost, McNemar p = 1.000' in page  # the targets' test column
    assert 'Fewer than 20 paired tasks in: composite (4)' in page
    values = dict(kv.split('=') for kv in result_line(run, grid, pool, ev).split()[1:])
    assert values['re_ours_composite'] == '0.800'  # the original keys are unchanged
    assert values['mcnemar_p_none_composite'] == '1'
    assert values['mcnemar_p_history_pooled'] == '0.5'
    assert float(values['re_ours_ci_lo']) < 0.8 < float(values['re_ours_ci_hi'])
    assert float(values['rt_ours_ci_lo']) < 0.6 < float(values['rt_ours_ci_hi'])


def test_trace_table_states_the_widest_interval_of_its_rates():
    from memory_nodes.evaluation.report import trace_table

    text = trace_table({'lru': [0.5] * 5}, 2, lookups=100)
    # Wilson at 50 / 100: half width 1.96 * sqrt(0.0025 + 1.96^2 / 40000) / (1 + 1.96^2 / 100)
    assert '100 lookups each' in text and '±0.096' in text
    assert 'lookups' not in trace_table({'lru': [0.5] * 5}, 2)


def test_floorplan_rows_carry_a_paired_test_against_none():
    from memory_nodes.evaluation.bench_cli import _versus_none

    none = [task(f't{i}', i < 2, 1.0, 4, 10.0) for i in range(6)]
    ours = [task(f't{i}', True, 1.0, 1, 10.0) for i in range(6)]
    played = {'none': none, 'ltm+stm': ours}
    assert _versus_none(played, 'none') == '-'
    # 4 won, 0 lost: p = 2 / 16; exploration 3 fewer on every task
    assert _versus_none(played, 'ltm+stm') == '4 / 0 (0.125); -3.00 [-3.00, -3.00]'


def test_json_has_every_paired_comparison(tmp_path):
    import json

    from memory_nodes.evaluation.report import write_json

    run = bench_run()
    ev = Evidence(run)
    write_json(tmp_path / 'tasks.json', run, cells(run), pooled(run), {}, {}, ev)
    doc = json.loads((tmp_path / 'tasks.json').read_text())
    rows = {(r['scope'], r['a'], r['b']): r for r in doc['paired']}
    none = rows[('composite', 'ltm+stm', 'none')]
    assert (none['won'], none['lost'], none['mcnemar_p']) == (1, 0, 1.0)
    assert none['bootstrap_tasks']['explore']['diff'] == pytest.approx(-4.0)
    assert ('composite', 'history', 'none') in rows  # every condition against none too
