"""The results page's evidence: paired tests, KARMA's ablation cells, claims and power.

Built from a `BenchRun` with the pure functions of `statistics`: tasks are paired by
(suite, task id) across conditions; success is tested with the exact McNemar test, the
per-task means (exploration, path, robot time, tokens) with a paired bootstrap. Nothing
here is typed in by hand; every sentence is generated from the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from memory_nodes.evaluation.bench_runner import OURS, BenchRun
from memory_nodes.evaluation.metrics import fmt, wilson_interval
from memory_nodes.evaluation.statistics import (
    ALPHA,
    RESAMPLES,
    SEED,
    BootstrapResult,
    mcnemar_exact,
    mcnemar_sample_size,
    paired_bootstrap,
    paired_sample_size,
    paired_sd,
)
from sim.episodes import TaskRecord

POOLED = 'pooled'
#: Per-task quantities compared with the bootstrap: key -> (TaskRecord attribute, label).
METRICS = {
    'explore': ('explorations', 'explore/task'),
    'explore_warm': ('explorations', 'explore/task, warm'),
    'path': ('path_length_m', 'path m/task'),
    'time': ('robot_time_s', 'robot s/task'),
    'tokens': ('prompt_tokens', 'tokens/task'),
}
DIGITS = {'explore': 2, 'explore_warm': 2, 'path': 1, 'time': 0, 'tokens': 0}
#: KARMA's four ablation cells, in its order.
KARMA_CELLS = (('full memory', OURS), ('no LTM', 'stm'), ('no STM', 'ltm'),
               ('neither', 'none'))
#: Below this many pairs the page warns that percentile intervals run narrow (a usual rule
#: of thumb for the percentile bootstrap, not a tuned number).
FEW_PAIRS = 20
SR_DELTA = 0.1  # the success-rate difference the power statement sizes for
EXPLORE_REL = 0.15  # the relative exploration difference it sizes for


@dataclass
class Pair:
    """One task under two conditions."""

    a: TaskRecord
    b: TaskRecord
    episode: str  # suite/episode: the cluster the episode bootstrap keeps together
    first: bool  # the episode's first task (empty memory in every condition)
    last: bool  # the episode's last task


@dataclass
class Comparison:
    """Condition `a` against condition `b` over the tasks both ran (one scope)."""

    scope: str
    a: str
    b: str
    pairs: list[Pair]
    unpaired: int  # tasks of either condition without a partner in the other (reported)
    won: int = 0  # a solved, b did not
    lost: int = 0  # b solved, a did not
    p: float = 1.0  # exact McNemar
    boot: dict[str, BootstrapResult] = field(default_factory=dict)  # tasks resampled
    boot_episodes: dict[str, BootstrapResult] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Paired tasks."""
        return len(self.pairs)

    @property
    def sr_a(self) -> float:
        """Success rate of `a` over the pairs."""
        return sum(p.a.success for p in self.pairs) / self.n if self.n else math.nan

    @property
    def sr_b(self) -> float:
        """Success rate of `b` over the pairs."""
        return sum(p.b.success for p in self.pairs) / self.n if self.n else math.nan

    @property
    def episodes(self) -> int:
        """Distinct episodes among the pairs."""
        return len({p.episode for p in self.pairs})

    @property
    def sr_significant(self) -> bool:
        """The McNemar test rejects equal success at ALPHA."""
        return self.p < ALPHA


def _cell_tasks(run: BenchRun, suite: str, condition: str
                ) -> dict[tuple[str, str], tuple[TaskRecord, str, bool, bool]]:
    out = {}
    for r in run.runs:
        if r.suite == suite and r.condition == condition:
            n = len(r.report.tasks)
            for i, t in enumerate(r.report.tasks):
                out[(suite, t.task_id)] = (t, f'{suite}/{r.report.episode_id}', i == 0,
                                           i == n - 1)
    return out


def compare(run: BenchRun, scope: str, a: str, b: str, episode_check: bool = False
            ) -> Comparison:
    """Pair the tasks of `a` and `b` in `scope` (a suite, or POOLED) and test them."""
    suites = run.suites if scope == POOLED else [scope]
    pairs, unpaired = [], 0
    for s in suites:
        ta, tb = _cell_tasks(run, s, a), _cell_tasks(run, s, b)
        unpaired += len(ta.keys() ^ tb.keys())
        for key, (task_a, episode, first, last) in ta.items():
            if key in tb:
                pairs.append(Pair(task_a, tb[key][0], episode, first, last))
    c = Comparison(scope, a, b, pairs, unpaired)
    c.won = sum(1 for p in pairs if p.a.success and not p.b.success)
    c.lost = sum(1 for p in pairs if p.b.success and not p.a.success)
    c.p = mcnemar_exact(c.won, c.lost)
    for key, (attr, _) in METRICS.items():
        sel = [p for p in pairs if not p.first] if key == 'explore_warm' else pairs
        xs = [float(getattr(p.a, attr)) for p in sel]
        ys = [float(getattr(p.b, attr)) for p in sel]
        c.boot[key] = paired_bootstrap(xs, ys)
        if episode_check:
            c.boot_episodes[key] = paired_bootstrap(xs, ys, [p.episode for p in sel])
    return c


class Evidence:
    """Every comparison the page shows: ours vs each condition, each condition vs none."""

    def __init__(self, run: BenchRun) -> None:
        self.run = run
        self.scopes = [*run.suites, POOLED]
        # With one suite the pooled rows would repeat it; the claims still read POOLED.
        self.shown = self.scopes if len(run.suites) > 1 else list(run.suites)
        #: The scope also resampled by whole episodes (pooled: the most episodes).
        self.checked = POOLED if len(run.suites) > 1 else run.suites[0]
        conds = run.conditions()
        wanted = [(OURS, c) for c in conds if c != OURS and OURS in conds]
        wanted += [(c, 'none') for c in conds if c != 'none' and 'none' in conds
                   and (c, 'none') not in wanted]
        self.table: dict[tuple[str, str, str], Comparison] = {}
        for scope in self.scopes:
            for a, b in wanted:
                c = compare(run, scope, a, b, episode_check=scope == self.checked)
                if c.n:
                    self.table[(scope, a, b)] = c

    def get(self, scope: str, a: str, b: str) -> Comparison | None:
        """The comparison of `a` against `b` in `scope`, None when it did not run."""
        return self.table.get((scope, a, b))

    def reduction(self, scope: str, condition: str, key: str) -> tuple[float, float, float]:
        """KARMA's reduction of `key` vs none with its CI: 1 - mean(cond) / mean(none)."""
        if condition == 'none':
            return (0.0, math.nan, math.nan)  # the reference itself, by definition
        c = self.get(scope, condition, 'none')
        if c is None:
            return (math.nan,) * 3
        r = c.boot[key]
        # + 0.0 turns the -0.0 of a negated zero into 0.0 for the tables
        return -r.rel + 0.0, -r.rel_high + 0.0, -r.rel_low + 0.0


# --------------------------------------------------------------------------- formatting
def ci(value: float, lo: float, hi: float, digits: int = 2) -> str:
    """'v [lo, hi]', or just 'v' when the interval is undefined."""
    if math.isnan(lo) or math.isnan(hi):
        return fmt(value, digits)
    return f'{fmt(value, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]'


def pct(value: float) -> str:
    """A relative change as a signed percentage ('-' for NaN)."""
    if math.isnan(value):
        return '-'
    if math.isinf(value):
        return '+inf %' if value > 0 else '-inf %'
    return f'{100 * value:+.0f} %'


def pvalue(p: float) -> str:
    """A p-value for a table."""
    return '-' if math.isnan(p) else ('< 0.001' if p < 0.001 else f'{p:.3f}')


def diff_cell(r: BootstrapResult, digits: int, dagger: bool = False) -> str:
    """Difference [CI] (relative change [CI]), bold when the CI excludes 0."""
    d = f'{r.diff:+.{digits}f}'
    if not math.isnan(r.diff_low):
        d += f' [{r.diff_low:+.{digits}f}, {r.diff_high:+.{digits}f}]'
    rel = pct(r.rel)
    if not math.isnan(r.rel_low):
        rel += f' [{pct(r.rel_low)}, {pct(r.rel_high)}]'
    text = f'{d} ({rel})'
    if r.significant:
        text = f'**{text}**' + (' †' if dagger else '')
    return text


def _robust(c: Comparison, key: str) -> bool:
    """Significant with episodes resampled too (True when that check did not run)."""
    e = c.boot_episodes.get(key)
    return e is None or e.significant


# --------------------------------------------------------------------------- sections
def paired_section(ev: Evidence) -> str:
    """Ours against every other condition, per suite and pooled: tests and intervals."""
    run = ev.run
    keys = ('explore', 'path', 'time', 'tokens')
    lines = [
        f'Every condition ran the same tasks, so each comparison is paired by task. '
        f'Success: tasks {OURS} solved and the other did not (won) and the reverse (lost), '
        'with the two-sided exact McNemar test (binomial on the discordant tasks; p = 1 '
        'without any). Per-task means: the difference ours - other with a 95 % paired '
        f'bootstrap interval ({RESAMPLES:,} resamples of the paired tasks, seed {SEED}), '
        'and in brackets the relative change mean(ours) / mean(other) - 1 with its '
        'interval from the same resamples. **Bold**: significant at 0.05 (McNemar p < 0.05, '
        'or the interval of the difference excludes 0). Resampling tasks treats them as '
        'independent, but the tasks of one episode share a home and (with memory) what the '
        f'earlier tasks taught; so the {ev.checked} rows were also resampled by whole '
        'episodes, and † marks a difference that is not significant that way (with a '
        'single episode there is no such interval, so every bold difference there has †).',
        '',
        f'| scope | {OURS} vs | tasks | SR ours / other | won / lost | McNemar p | '
        + ' | '.join(f'Δ {METRICS[k][1]}' for k in keys) + ' |',
        '|---|---|---|---|---|---|' + '---|' * len(keys)]
    for scope in ev.shown:
        for other in run.conditions():
            c = ev.get(scope, OURS, other)
            if c is None:
                continue
            p = pvalue(c.p)
            p = f'**{p}**' if c.sr_significant else p
            cells = [diff_cell(c.boot[k], DIGITS[k], not _robust(c, k)) for k in keys]
            label = f'{scope} ({c.episodes} ep.)'
            lines.append(f'| {label} | {other} | {c.n} | {fmt(c.sr_a)} / {fmt(c.sr_b)} | '
                         f'{c.won} / {c.lost} | {p} | ' + ' | '.join(cells) + ' |')
    unpaired = sum(c.unpaired for c in ev.table.values() if c.scope != POOLED)
    if unpaired:
        lines += ['', f'{unpaired} task runs had no partner in the other condition and are '
                  'not in these paired tests (they are in every other table).']
    few = sorted({f'{c.scope} ({c.n})' for c in ev.table.values()
                  if c.scope in ev.shown and c.n < FEW_PAIRS})
    if few:
        lines += ['', f'Fewer than {FEW_PAIRS} paired tasks in: {", ".join(few)}. A '
                  'percentile bootstrap interval on so few tasks is too narrow (it only '
                  'reshuffles the values it saw), so read their bold differences as '
                  'descriptive, not as evidence.']
    lines += ['', 'Significant at 0.05, per scope (ours - other; relative change):', '']
    for scope in ev.shown:
        found = []
        for other in run.conditions():
            c = ev.get(scope, OURS, other)
            if c is None:
                continue
            bits = []
            if c.sr_significant:
                bits.append(f'success {fmt(c.sr_a)} vs {fmt(c.sr_b)} ({c.won} won / '
                            f'{c.lost} lost, p = {pvalue(c.p)})')
            for k in keys:
                r = c.boot[k]
                if r.significant:
                    bits.append(f'{METRICS[k][1]} {pct(r.rel)} '
                                f'[{pct(r.rel_low)}, {pct(r.rel_high)}]'
                                + ('' if _robust(c, k) else ' (not with episodes resampled)'))
            if bits:
                found.append(f'vs {other}: ' + ', '.join(bits))
        lines.append(f'- {scope}: ' + ('; '.join(found) if found else
                                       'no significant difference'))
    return '\n'.join(lines)


def karma_table(ev: Evidence) -> str:
    """KARMA's four ablation cells with SR (Wilson), RE and RT vs none (bootstrap)."""
    lines = ['| scope | KARMA cell | memory | tasks | SR [95 % Wilson] | RE vs none [95 % CI] '
             '| RT vs none [95 % CI] |', '|---|---|---|---|---|---|---|']
    conds = ev.run.conditions()
    for scope in ev.shown:
        for cell, cond in KARMA_CELLS:
            if cond not in conds:
                lines.append(f'| {scope} | {cell} | {cond} | - | not run | - | - |')
                continue
            tasks = [t for s in (ev.run.suites if scope == POOLED else [scope])
                     for t in ev.run.tasks(s, cond)]
            wins = sum(t.success for t in tasks)
            lo, hi = wilson_interval(wins, len(tasks))
            sr = ci(wins / len(tasks) if tasks else math.nan, lo, hi)
            if cond == 'none':
                re = rt = '0 (reference)'
            else:
                re, rt = (ci(*ev.reduction(scope, cond, k)) for k in ('explore', 'time'))
            lines.append(f'| {scope} | {cell} | {cond} | {len(tasks)} | {sr} | {re} | {rt} |')
    return '\n'.join(lines)


def _effect(ev: Evidence, scope: str, a: str, b: str, kind: str) -> tuple[str, str]:
    """(verdict, evidence text) of one pairing: 'yes', 'no', 'reverse' or 'untested'."""
    c = ev.get(scope, a, b)
    if c is None:
        return 'untested', f'{a} vs {b}: not run'
    if kind == 'success':
        text = (f'{a} vs {b}: SR {fmt(c.sr_a)} vs {fmt(c.sr_b)}, {c.won} won / {c.lost} lost, '
                f'McNemar p = {pvalue(c.p)}')
        if not c.sr_significant:
            return 'no', text
        return ('yes' if c.won > c.lost else 'reverse'), text
    parts, verdicts = [], []
    for key in ('explore', 'time'):
        r = c.boot[key]
        parts.append(f'{METRICS[key][1]} {pct(r.rel)} [{pct(r.rel_low)}, {pct(r.rel_high)}]')
        verdicts.append('no' if not r.significant else ('yes' if r.diff < 0 else 'reverse'))
    verdict = ('reverse' if 'reverse' in verdicts else
               'yes' if all(v == 'yes' for v in verdicts) else
               'partly' if 'yes' in verdicts else 'no')
    return verdict, f'{a} vs {b}: ' + ', '.join(parts)


CLAIMS = (
    ('LTM buys efficiency', 'efficiency',
     ((OURS, 'stm', 'with STM'), ('ltm', 'none', 'without STM')),
     'exploration and robot time per task both significantly lower with the scene graph'),
    ('STM buys success', 'success',
     ((OURS, 'ltm', 'with LTM'), ('stm', 'none', 'without LTM')),
     'success significantly higher with the short-term memory (exact McNemar)'),
)


def _overall(verdicts: Iterable[str]) -> str:
    v = list(verdicts)
    if 'reverse' in v:
        return 'contradicted'
    if v and all(x == 'yes' for x in v):
        return 'supported'
    if any(x in ('yes', 'partly') for x in v):
        return 'partly supported'
    if all(x == 'untested' for x in v):
        return 'not tested'
    return 'not supported'


def claims(ev: Evidence) -> list[str]:
    """One generated line per KARMA claim: supported at 0.05 or not, and why."""
    out = []
    for name, kind, pairings, meaning in CLAIMS:
        results = [(_effect(ev, POOLED, a, b, kind), label) for a, b, label in pairings]
        verdict = _overall(v for (v, _), _ in results)
        evidence = '; '.join(f'{label} ({text})' for (_, text), label in results)
        per_suite = []
        for s in ev.run.suites:
            v = _overall(_effect(ev, s, a, b, kind)[0] for a, b, _ in pairings)
            per_suite.append(f'{s} {v}')
        out.append(f'- "{name}" ({meaning}, both with and without the other memory): '
                   f'**{verdict}** on all suites pooled: {evidence}. Per suite: '
                   + ', '.join(per_suite) + '.')
    return out


def power_rows(ev: Evidence) -> list[dict]:
    """Per suite and comparison: what the observed data say a 0.1 / 15 % effect needs."""
    run = ev.run
    rows = []
    for s in run.suites:
        seconds = sum(r.seconds or sum(t.wall_time_s for t in r.report.tasks)
                      for r in run.runs if r.suite == s)
        for other in run.conditions():
            c = ev.get(s, OURS, other)
            if c is None:
                continue
            psi = (c.won + c.lost) / c.n
            n_sr = mcnemar_sample_size(psi, SR_DELTA)
            xs = [float(p.a.explorations) for p in c.pairs]
            ys = [float(p.b.explorations) for p in c.pairs]
            sd, fallback = paired_sd(xs, ys)
            delta = EXPLORE_REL * c.boot['explore'].mean_b
            n_ex = paired_sample_size(sd, delta)
            per_episode = c.n / c.episodes
            rows.append({'suite': s, 'other': other, 'tasks': c.n, 'episodes': c.episodes,
                         'discordance': psi, 'n_sr': n_sr, 'sd': sd, 'fallback': fallback,
                         'delta': delta, 'n_explore': n_ex, 'per_episode': per_episode,
                         'seconds_per_task': seconds / c.n})
    return rows


def _episodes_for(n: float, per_episode: float) -> float:
    return math.nan if math.isnan(n) else math.ceil(n / per_episode)


def _duration(seconds: float) -> str:
    return f'{seconds / 3600:.1f} h' if seconds >= 3600 else f'{seconds / 60:.0f} min'


def _hours(tasks: float, seconds_per_task: float, jobs: int) -> str:
    if math.isnan(tasks):
        return '-'
    return _duration(tasks * seconds_per_task / jobs)


def power_section(ev: Evidence) -> str:
    """The power statement: tasks needed vs tasks run, and the time a big enough run takes."""
    jobs = ev.run.config.jobs
    rows = power_rows(ev)
    lines = [
        f'How many paired tasks per suite a test at alpha = {ALPHA} with power 0.8 would '
        f'need, sized with what this run observed (`memory_nodes/evaluation/statistics.py` '
        f"has the formulas). Success, a difference of {SR_DELTA}: Connor's McNemar "
        'approximation n = (z_0.975 sqrt(psi) + z_0.8 sqrt(psi - 0.01))^2 / 0.01, psi the '
        f'observed share of discordant tasks (at least {SR_DELTA}, the least a difference '
        f'of {SR_DELTA} needs). Exploration, a difference of {EXPLORE_REL:.0%} of the other '
        "condition's explore/task: n = ((z_0.975 + z_0.8) sd / delta)^2, sd of the paired "
        'per-task differences (* where they had no variance at all: the unpaired sd '
        'sqrt(var ours + var other) instead, which is larger for positively correlated '
        "pairs). Both treat tasks as independent. Time: this run's wall time per task of "
        f'the suite summed over all {len(ev.run.conditions())} conditions, divided by '
        f'--jobs {jobs}.',
        '',
        f'| suite | {OURS} vs | tasks now (episodes) | discordant share | tasks for ΔSR '
        f'{SR_DELTA} | sd Δexplore | Δ = {EXPLORE_REL:.0%} of the other explore/task | '
        'tasks for it | episodes needed (SR / explore) | time (SR / explore) |',
        '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        sd = fmt(r['sd']) + ('*' if r['fallback'] else '')
        n_ex = '-' if math.isnan(r['n_explore']) else str(r['n_explore'])
        eps = (f'{_episodes_for(r["n_sr"], r["per_episode"])} / '
               f'{fmt(_episodes_for(r["n_explore"], r["per_episode"]), 0)}')
        hours = (f'{_hours(r["n_sr"], r["seconds_per_task"], jobs)} / '
                 f'{_hours(r["n_explore"], r["seconds_per_task"], jobs)}')
        lines.append(f'| {r["suite"]} | {r["other"]} | {r["tasks"]} ({r["episodes"]}) | '
                     f'{fmt(r["discordance"])} | {r["n_sr"]} | {sd} | {fmt(r["delta"])} | '
                     f'{n_ex} | {eps} | {hours} |')
    if rows:
        lines += ['', _power_summary(rows, jobs)]
    return '\n'.join(lines)


def _power_summary(rows: list[dict], jobs: int) -> str:
    """One generated paragraph: which suites are big enough, and what enlarging costs."""
    short_sr = sorted({r['suite'] for r in rows if r['tasks'] < r['n_sr']})
    enough_ex = sorted({r['suite'] for r in rows if not math.isnan(r['n_explore'])
                        and r['tasks'] >= r['n_explore']})
    total = 0.0
    per_suite = []
    for s in dict.fromkeys(r['suite'] for r in rows):
        mine = [r for r in rows if r['suite'] == s]
        need = max(max(r['n_sr'] for r in mine),
                   max((r['n_explore'] for r in mine if not math.isnan(r['n_explore'])),
                       default=0))
        per_episode = mine[0]['per_episode']
        episodes = math.ceil(need / per_episode)
        seconds = episodes * per_episode * mine[0]['seconds_per_task'] / jobs
        total += seconds
        per_suite.append(f'{s} {episodes} episodes of {per_episode:.0f} tasks (now '
                         f'{mine[0]["episodes"]}, ≈ {_duration(seconds)})')
    headline = [r for r in rows if r['other'] == 'none']
    sized = sorted({r['suite'] for r in headline if r['tasks'] >= r['n_sr']})
    return (f'Too small for a {SR_DELTA} success difference vs at least one condition: '
            f'{", ".join(short_sr) or "no suite"}. Large enough for a {SR_DELTA} success '
            f'difference against none (the headline comparison): '
            f'{", ".join(sized) or "no suite"}. Large enough for a {EXPLORE_REL:.0%} '
            f'exploration difference in at least one comparison: '
            f'{", ".join(enough_ex) or "no suite"}. Every comparison above at power 0.8 '
            f'would need: {"; ".join(per_suite)}; the whole grid ≈ {_duration(total)} on this '
            f"machine at --jobs {jobs}. The generated suites' size (`sim.suites.EPISODES`) "
            'was fixed before this run from the same table of the earlier 5-episode run '
            '(77 tasks for a 0.1 success difference against none = 16 episodes of 5); this '
            "table is what this run's own data would ask for, not a size chosen after "
            'looking.')


def section(ev: Evidence) -> list[str]:
    """The page's lines for the three evidence sections."""
    return [
        '## Paired comparisons against ours (exact McNemar, paired bootstrap)', '',
        paired_section(ev), '',
        "## KARMA's ablation: the four memory cells", '',
        'Full memory = ltm+stm, no LTM = stm, no STM = ltm, neither = none. SR with its '
        '95 % Wilson interval; RE = 1 - explore/task / explore/task(none) and RT the same '
        'for robot time, over the same tasks, with 95 % paired bootstrap intervals '
        f'({RESAMPLES:,} resamples of tasks).', '',
        karma_table(ev), '',
        "KARMA's qualitative claims on our data (generated from the tests above, at 0.05):",
        '', *claims(ev), '',
        '## Power: how many tasks would show what', '',
        power_section(ev), '',
    ]
