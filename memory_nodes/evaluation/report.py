"""The task benchmark's outputs: markdown tables, PNG plots, a JSON file and the RESULT line.

Everything here is computed from a `BenchRun` with `metrics.summarize`; nothing is typed
in by hand. `results_page` is the text of docs/results.md.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

from memory_nodes.evaluation.bench_runner import OURS, TRACE_CAPACITIES, BenchRun
from memory_nodes.evaluation.metrics import (
    ConditionMetrics,
    add_reductions,
    fmt,
    paired_wins,
    reduction,
    summarize,
    wilson_interval,
)
from memory_nodes.evaluation.statistics import mcnemar_exact, paired_bootstrap
from memory_nodes.evaluation.stats_report import POOLED, Evidence, ci, pvalue

LABELS = {
    'none': 'none (nothing kept between tasks)',
    'history': 'history (full observation log)',
    'ltm': 'ltm (scene graph only)',
    'stm': 'stm (short-term only)',
    'ltm+stm': 'ltm+stm (ours)',
}


def cells(run: BenchRun) -> dict[str, dict[str, ConditionMetrics]]:
    """Suite -> condition -> metrics, with RE/RT/RP against `none` where it ran."""
    out: dict[str, dict[str, ConditionMetrics]] = {}
    for suite in run.suites:
        row = {c: summarize(run.tasks(suite, c), run.last_flags(suite, c),
                            run.first_flags(suite, c))
               for c in run.config.conditions if run.tasks(suite, c)}
        none = row.get('none')
        for m in row.values():
            add_reductions(m, none)
        out[suite] = row
    return out


def pooled(run: BenchRun) -> dict[str, ConditionMetrics]:
    """Condition -> metrics over every suite's tasks."""
    out: dict[str, ConditionMetrics] = {}
    for c in run.config.conditions:
        tasks, flags, firsts = [], [], []
        for suite in run.suites:
            tasks += run.tasks(suite, c)
            flags += run.last_flags(suite, c)
            firsts += run.first_flags(suite, c)
        if tasks:
            out[c] = summarize(tasks, flags, firsts)
    for m in out.values():
        add_reductions(m, out.get('none'))
    return out


def table_one(run: BenchRun, grid: dict[str, dict[str, ConditionMetrics]]) -> str:
    """KARMA's Table 1, on our suites: success rate [95 % Wilson] per suite and condition."""
    head = '| memory | ' + ' | '.join(f'{s} SR [95 % CI]' for s in run.suites) + ' |'
    lines = [head, '|---|' + '---|' * len(run.suites)]
    for c in run.conditions():
        vals = [ci(grid[s][c].sr, grid[s][c].sr_low, grid[s][c].sr_high) if c in grid[s]
                else '-' for s in run.suites]
        lines.append(f'| {LABELS[c]} | ' + ' | '.join(vals) + ' |')
    return '\n'.join(lines)


def _reduction_cell(ev: Evidence | None, scope: str, condition: str, key: str,
                    value: float) -> str:
    """A reduction vs none with its paired bootstrap interval when `ev` has one."""
    if ev is None or condition == 'none':
        return fmt(value)
    r, lo, hi = ev.reduction(scope, condition, key)
    return ci(r, lo, hi) if not math.isnan(r) else fmt(value)


def ablation_table(run: BenchRun, pool: dict[str, ConditionMetrics],
                   ev: Evidence | None = None) -> str:
    """Every metric per condition over all suites, with paired wins against ours.

    With `ev`, RE, RE warm, RT and RP carry their 95 % paired bootstrap intervals.
    """
    lines = ['| memory | SR [95 % CI] | GC | RE | RE warm | RT | RP | explore/task | '
             'path m/task | robot s/task | retrieval acc | STM hit | tokens/task | '
             'tokens last task | ours won / lost (McNemar p) |',
             '|---|' + '---|' * 14]
    ours = [t for s in run.suites for t in run.tasks(s, OURS)]
    for c in run.conditions():
        m = pool.get(c)
        if m is None:
            continue
        theirs = [t for s in run.suites for t in run.tasks(s, c)]
        won, lost = paired_wins(ours, theirs) if c != OURS and ours else (0, 0)
        stm = fmt(m.stm_hit_rate) if c in ('stm', 'ltm+stm') else '-'
        re, re_warm, rt, rp = (_reduction_cell(ev, POOLED, c, key, value) for key, value in
                               (('explore', m.re), ('explore_warm', m.re_warm),
                                ('time', m.rt), ('path', m.rp)))
        paired = f'{won} / {lost} ({pvalue(mcnemar_exact(won, lost))})'
        lines.append(
            f'| {LABELS[c]} | {ci(m.sr, m.sr_low, m.sr_high)} | {fmt(m.gc)} | {re} | '
            f'{re_warm} | {rt} | {rp} | {fmt(m.exploration)} | {fmt(m.path_length_m, 1)} | '
            f'{fmt(m.robot_time_s, 0)} | {fmt(m.retrieval_accuracy)} | {stm} | '
            f'{fmt(m.tokens, 0)} | {fmt(m.tokens_last, 0)} | '
            f'{"-" if c == OURS else paired} |')
    return '\n'.join(lines)


def detail_table(run: BenchRun, grid: dict[str, dict[str, ConditionMetrics]],
                 ev: Evidence | None = None) -> str:
    """Per suite and condition: SR with its 95 % interval and the efficiency metrics.

    With `ev`, RE, RE warm and RT carry their 95 % paired bootstrap intervals.
    """
    lines = ['| suite | memory | tasks | SR [95 % CI] | GC | RE | RE warm | RT | explore/task | '
             'path m/task | retrieval acc | STM hit | tokens/task | wall s/task |',
             '|---|---|' + '---|' * 12]
    for s in run.suites:
        for c in run.conditions():
            m = grid[s].get(c)
            if m is None:
                continue
            stm = fmt(m.stm_hit_rate) if c in ('stm', 'ltm+stm') else '-'
            re, re_warm, rt = (_reduction_cell(ev, s, c, key, value) for key, value in
                               (('explore', m.re), ('explore_warm', m.re_warm),
                                ('time', m.rt)))
            lines.append(
                f'| {s} | {c} | {m.tasks} | {fmt(m.sr)} [{fmt(m.sr_low)}, {fmt(m.sr_high)}] '
                f'| {fmt(m.gc)} | {re} | {re_warm} | {rt} | '
                f'{fmt(m.exploration)} | '
                f'{fmt(m.path_length_m, 1)} | {fmt(m.retrieval_accuracy)} | {stm} | '
                f'{fmt(m.tokens, 0)} | {fmt(m.wall_time_s, 1)} |')
    return '\n'.join(lines)


def trace_table(hits: dict[str, list[float]], n_traces: int, lookups: int | None = None
                ) -> str:
    """STM hit rate per policy and capacity on the recorded suite traces.

    With `lookups` (the traces' query steps, the same for every policy and capacity) the
    caption gives the widest 95 % Wilson interval any rate in the table can have.
    """
    caption = f'STM hit rate on {n_traces} suite traces (recorded from the ltm+stm episodes)'
    if lookups:
        lo, hi = wilson_interval(lookups // 2, lookups)  # p = 1/2: the widest interval
        caption += (f'; {lookups} lookups each, so every rate below has a 95 % Wilson '
                    f'interval no wider than ±{(hi - lo) / 2:.3f}')
    lines = [caption, '',
             '| policy | ' + ' | '.join(f'cap {c}' for c in TRACE_CAPACITIES) + ' |',
             '|---|' + '---|' * len(TRACE_CAPACITIES)]
    for policy, row in hits.items():
        lines.append(f'| {policy} | ' + ' | '.join(fmt(v, 3) for v in row) + ' |')
    return '\n'.join(lines)


def failures(run: BenchRun, condition: str = OURS) -> list[str]:
    """One line per failed task: id, GC, first unreached sub-goal, the planner's reason."""
    out = []
    for r in run.runs:
        if r.condition != condition:
            continue
        for t in r.report.tasks:
            if not t.success:
                why = t.error or ('planner believed it done' if t.believed_done else 'stopped')
                missed = '' if not t.failed_condition else (
                    f'not reached: {t.failed_condition} (sub-goal {t.reached + 1}/{t.total}); ')
                out.append(f'- {t.task_id} (GC {t.goal_condition_rate:.2f}): '
                           f'"{t.instruction}": {missed}planner: {why}')
    return out


def targets_table(grid: dict[str, dict[str, ConditionMetrics]],
                  pool: dict[str, ConditionMetrics], ev: Evidence | None = None) -> str:
    """The issue's targets, each with the measured value and whether it is met.

    With `ev` a last column gives each row's test or interval: the exact McNemar test for
    a success comparison, the Wilson interval for a success level, the paired bootstrap
    interval for RE and for the token ratio (whether a target is "met" stays the plain
    comparison the issue wrote; the test says whether the data could tell).
    """
    rows = []

    def get(suite: str, cond: str, attr: str) -> float:
        m = grid.get(suite, {}).get(cond)
        return getattr(m, attr) if m is not None else math.nan

    def mcnemar(scope: str, other: str) -> str:
        c = ev.get(scope, OURS, other) if ev else None
        return '' if c is None else (f'{c.won} won / {c.lost} lost, McNemar p = '
                                     f'{pvalue(c.p)}')

    def bootstrap_re(scope: str, key: str) -> str:
        if ev is None:
            return ''
        r, lo, hi = ev.reduction(scope, OURS, key)
        return '' if math.isnan(lo) else f'95 % CI [{fmt(lo)}, {fmt(hi)}]'

    for suite in grid:
        ours = get(suite, OURS, 'sr')
        for base in ('none', 'history'):
            other = get(suite, base, 'sr')
            if not (math.isnan(ours) or math.isnan(other)):
                rows.append((f'{suite}: ltm+stm SR > {base} SR', f'{fmt(ours)} vs {fmt(other)}',
                             ours > other, mcnemar(suite, base)))
    for suite, goal in (('simple', 0.9), ('composite', 0.9), ('complex', 0.8), ('stale', 0.8)):
        v = get(suite, OURS, 'sr')
        if not math.isnan(v):
            lo, hi = get(suite, OURS, 'sr_low'), get(suite, OURS, 'sr_high')
            rows.append((f'{suite}: ltm+stm SR >= {goal}', fmt(v), v >= goal,
                         f'Wilson 95 % CI [{fmt(lo)}, {fmt(hi)}]'))
    re = get('composite', OURS, 're')
    if not math.isnan(re):
        rows.append(('composite: ltm+stm RE >= 0.8', fmt(re), re >= 0.8,
                     bootstrap_re('composite', 'explore')))
        warm = get('composite', OURS, 're_warm')
        rows.append(('(for reference, not the target) composite: RE warm, tasks after each '
                     "episode's first", fmt(warm), warm >= 0.8,
                     bootstrap_re('composite', 'explore_warm')))
    ours, hist = pool.get(OURS), pool.get('history')
    if ours and hist and ours.tokens_last:
        ratio = hist.tokens_last / ours.tokens_last
        rows.append(('history tokens >= 10x ltm+stm (last task of each episode)',
                     f'{hist.tokens_last:.0f} vs {ours.tokens_last:.0f} ({ratio:.1f}x)',
                     ratio >= 10, _token_ratio_ci(ev)))
    if ev is None:
        lines = ['| target | measured | met |', '|---|---|---|']
        lines += [f'| {name} | {value} | {"yes" if ok else "no"} |'
                  for name, value, ok, _ in rows]
    else:
        lines = ['| target | measured | met | test / 95 % interval |', '|---|---|---|---|']
        lines += [f'| {name} | {value} | {"yes" if ok else "no"} | {test or "-"} |'
                  for name, value, ok, test in rows]
    return '\n'.join(lines)


def _token_ratio_ci(ev: Evidence | None) -> str:
    """Paired bootstrap CI of history / ours tokens on each episode's last task, pooled."""
    c = ev.get(POOLED, OURS, 'history') if ev else None
    if c is None:
        return ''
    last = [p for p in c.pairs if p.last]
    r = paired_bootstrap([float(p.b.prompt_tokens) for p in last],
                         [float(p.a.prompt_tokens) for p in last])
    if math.isnan(r.rel_low):
        return ''
    return f'ratio 95 % CI [{r.rel_low + 1:.1f}x, {r.rel_high + 1:.1f}x] ({len(last)} tasks)'


def result_line(run: BenchRun, grid: dict[str, dict[str, ConditionMetrics]],
                pool: dict[str, ConditionMetrics], ev: Evidence | None = None) -> str:
    """The last line: `RESULT key=value ...` (NaN where a cell did not run).

    After the original keys come the tests' keys: exact McNemar p of ours vs none on
    composite and pooled, ours vs history pooled, and the 95 % paired bootstrap intervals
    of ours' RE and RT vs none (pooled) and of RE on composite. `ev` is computed when not
    given.
    """
    def cell(suite: str, cond: str, attr: str) -> float:
        m = grid.get(suite, {}).get(cond)
        return getattr(m, attr) if m is not None else math.nan

    vals = {f'sr_ours_{s}': cell(s, OURS, 'sr') for s in ('simple', 'composite', 'complex',
                                                          'stale')}
    vals['sr_none_complex'] = cell('complex', 'none', 'sr')
    vals['sr_history_complex'] = cell('complex', 'history', 'sr')
    vals['re_ours_composite'] = cell('composite', OURS, 're')
    vals['re_warm_ours_composite'] = cell('composite', OURS, 're_warm')
    ours, hist = pool.get(OURS), pool.get('history')
    vals['tokens_ours'] = ours.tokens_last if ours else math.nan
    vals['tokens_history'] = hist.tokens_last if hist else math.nan
    vals['tokens_ratio'] = (vals['tokens_history'] / vals['tokens_ours']
                            if ours and hist and vals['tokens_ours'] else math.nan)
    for s in run.suites:
        if s not in ('simple', 'composite', 'complex', 'stale'):
            vals[f'sr_ours_{s}'] = cell(s, OURS, 'sr')
    ev = ev if ev is not None else Evidence(run)

    def p_value(scope: str, other: str) -> float:
        c = ev.get(scope, OURS, other)
        return c.p if c is not None else math.nan

    vals['mcnemar_p_none_composite'] = p_value('composite', 'none')
    vals['mcnemar_p_none_pooled'] = p_value(POOLED, 'none')
    vals['mcnemar_p_history_pooled'] = p_value(POOLED, 'history')
    for name, scope, key in (('re_ours', POOLED, 'explore'), ('rt_ours', POOLED, 'time'),
                             ('re_ours_composite', 'composite', 'explore')):
        _, lo, hi = ev.reduction(scope, OURS, key)
        vals[f'{name}_ci_lo'], vals[f'{name}_ci_hi'] = lo, hi
    parts = []
    for k, v in vals.items():
        if k.startswith('mcnemar_p_') and not math.isnan(v):
            parts.append(f'{k}={v:.4g}')
        elif k.startswith('tokens_') and k != 'tokens_ratio' and not math.isnan(v):
            parts.append(f'{k}={v:.0f}')
        else:
            parts.append(f'{k}={"nan" if math.isnan(v) else f"{v:.3f}"}')
    return 'RESULT ' + ' '.join(parts)


def _clean(value):  # noqa: ANN001, ANN202 - JSON without NaN or infinities (not JSON)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def paired_json(ev: Evidence) -> list[dict]:
    """Every paired comparison: scope, conditions, McNemar counts and p, bootstrap results."""
    return [{'scope': c.scope, 'a': c.a, 'b': c.b, 'tasks': c.n, 'episodes': c.episodes,
             'unpaired': c.unpaired, 'won': c.won, 'lost': c.lost, 'mcnemar_p': c.p,
             'bootstrap_tasks': {k: asdict(r) for k, r in c.boot.items()},
             'bootstrap_episodes': {k: asdict(r) for k, r in c.boot_episodes.items()}}
            for c in ev.table.values()]


def write_json(path: Path, run: BenchRun, grid, pool, trace_hits,  # noqa: ANN001
               extra: dict, ev: Evidence | None = None) -> None:
    """All numbers: config, per-cell and pooled metrics, paired tests, every task."""
    doc = {
        'config': asdict(run.config), **extra,
        'cells': {s: {c: m.as_dict() for c, m in row.items()} for s, row in grid.items()},
        'pooled': {c: m.as_dict() for c, m in pool.items()},
        'paired': paired_json(ev) if ev is not None else [],
        'stm_trace_hit_rate': {'capacities': list(TRACE_CAPACITIES), 'policies': trace_hits},
        'tasks': [{'suite': r.suite, 'condition': r.condition, 'episode': r.report.episode_id,
                   **{k: v for k, v in asdict(t).items() if k not in ('skill_log', 'log')}}
                  for r in run.runs for t in r.report.tasks],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(doc), indent=1, sort_keys=False) + '\n')


def plot(out_dir: Path, run: BenchRun, grid, trace_hits) -> list[Path]:  # noqa: ANN001
    """success.png, exploration.png (per condition and suite), stm_traces.png."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    conds = run.conditions()
    width = 0.8 / max(1, len(conds))
    for attr, ylabel, name in (('sr', 'success rate', 'success'),
                               ('exploration', 'explore/search actions per task',
                                'exploration')):
        fig, ax = plt.subplots(figsize=(9, 5))
        for i, c in enumerate(conds):
            vals = [getattr(grid[s][c], attr) if c in grid[s] else 0.0 for s in run.suites]
            xs = [k + (i - (len(conds) - 1) / 2) * width for k in range(len(run.suites))]
            ax.bar(xs, vals, width, label=LABELS[c])
        ax.set_xticks(range(len(run.suites)), run.suites, rotation=15)
        ax.set_ylabel(ylabel)
        if attr == 'sr':
            ax.set_ylim(0, 1.05)
        ax.set_title(f'{ylabel} per suite and memory condition')
        ax.grid(axis='y', alpha=0.3)
        ax.legend(fontsize=8, loc='upper center', bbox_to_anchor=(0.5, -0.15), ncol=3)
        fig.tight_layout()
        path = out_dir / f'{name}.png'
        fig.savefig(path, dpi=110, bbox_inches='tight')
        plt.close(fig)
        paths.append(path)
    if trace_hits:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for policy, row in trace_hits.items():
            ax.plot(TRACE_CAPACITIES, row, '-' if policy == run.config.policy else '--',
                    marker='o', label=policy)
        ax.set_xticks(TRACE_CAPACITIES)
        ax.set_xlabel('short-term memory capacity (entries)')
        ax.set_ylabel('hit rate (planner lookups resident in STM)')
        ax.set_title("STM eviction policies on the suites' recorded traces")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / 'stm_traces.png'
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def reductions_note(grid) -> str:  # noqa: ANN001
    """One sentence per suite: ours vs none on exploration and time."""
    parts = []
    for s, row in grid.items():
        if OURS in row and 'none' in row:
            parts.append(f'{s}: RE {fmt(row[OURS].re)}, RT {fmt(row[OURS].rt)}')
    return '; '.join(parts)


__all__ = ['ablation_table', 'cells', 'detail_table', 'failures', 'plot', 'pooled',
           'reduction', 'result_line', 'table_one', 'targets_table', 'trace_table',
           'write_json']
