"""Task files on our stack, set next to KARMA's ALFRED-L numbers.

For every task file a run was given (`BenchRun.intake`: ALFRED-L files or our own files in
their format): how many tasks it holds and how many ran, success over every task of the
file (`sr_all`, KARMA's denominator), success over the tasks whose sub-goals all mapped,
the goal-condition rate and exploration per memory condition, KARMA's published success
for the same file kind, and one row per failed task saying where and why it failed (the
first sub-goal not reached, and whether the object was not found, a place unreachable, a
skill failed, the sub-goal unmapped...). Everything comes from the run's task records.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from memory_nodes.evaluation.bench_runner import OURS, BenchRun, TaskFileIntake
from memory_nodes.evaluation.metrics import fmt, mean, wilson_interval
from sim.episodes import TaskRecord

#: KARMA's published ALFRED-L success rates (GPT-4o planner, in AI2-THOR), per file kind.
KARMA_SR = {'simple': 0.42, 'composite': 0.43, 'complex': 0.21}

#: Why a task failed, from its record: (kind, pattern in the planner's error), in order.
_WHY = (
    ('not found', re.compile(r'not found after searching')),
    ('unreachable', re.compile(r'no_path|out_of_reach|unreachable')),
    ('no plan', re.compile(r'no plan from memory')),
    ('skill budget', re.compile(r'skill budget exhausted')),
    ('skill failed', re.compile(r'failed: |re-plan budget exhausted')),
)


def file_kind(suite: str) -> str:
    """`alfred_l-composite.my_file` -> `composite` (the kind KARMA's table is split by)."""
    name = suite.split('.', 1)[0]
    return name[len('alfred_l-'):] if name.startswith('alfred_l-') else name


def failure_reason(task: TaskRecord) -> str:
    """Why `task` failed, in a word or two ('' if it succeeded)."""
    if task.success:
        return ''
    if task.unmapped and (task.reached + task.unmapped >= task.total
                          or (task.failed_condition or '').startswith('unmapped')):
        return 'unmapped'
    for kind, pattern in _WHY:
        if pattern.search(task.error or ''):
            return kind
    if task.believed_done:
        return 'planner believed it done'
    return 'stopped'


def file_metrics(run: BenchRun, suite: str, condition: str) -> dict[str, float]:
    """Counts and rates of one task file's suite under one condition."""
    tasks = run.tasks(suite, condition)
    mapped = [t for t in tasks if not t.unmapped]
    played = [t for t in tasks if t.total > t.unmapped]
    n, wins = len(tasks), sum(t.success for t in tasks)
    low, high = wilson_interval(wins, n) if n else (math.nan, math.nan)
    return {
        'tasks': n, 'ran': len(played), 'fully_mapped': len(mapped),
        'unmapped_subgoals': sum(t.unmapped for t in tasks),
        'sr_all': wins / n if n else math.nan, 'sr_all_low': low, 'sr_all_high': high,
        'sr_mapped': (sum(t.success for t in mapped) / len(mapped)) if mapped else math.nan,
        'gc': mean([t.goal_condition_rate for t in tasks]) if tasks else math.nan,
        'explore': mean([t.explorations for t in tasks]) if tasks else math.nan,
    }


def file_table(run: BenchRun) -> str:
    """One row per task file and condition, with KARMA's success for the file's kind."""
    lines = ['| task file (suite) | memory | tasks in file | given | ran | all sub-goals '
             'mapped | unmapped sub-goals | SR over all [95 % CI] | SR over mapped | GC | '
             'explore/task | KARMA SR (GPT-4o) |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for suite, info in run.intake.items():
        karma = KARMA_SR.get(file_kind(suite))
        for condition in run.conditions():
            m = file_metrics(run, suite, condition)
            if not m['tasks']:
                continue
            lines.append(
                f'| {Path(info.file).name} ({suite}) | {condition} | {info.tasks} | '
                f'{m["tasks"]} | {m["ran"]} | {m["fully_mapped"]} | {m["unmapped_subgoals"]} | '
                f'{fmt(m["sr_all"])} [{fmt(m["sr_all_low"])}, {fmt(m["sr_all_high"])}] | '
                f'{fmt(m["sr_mapped"])} | {fmt(m["gc"])} | {fmt(m["explore"])} | '
                f'{"-" if karma is None else fmt(karma)} |')
    return '\n'.join(lines)


def failure_table(run: BenchRun, condition: str = OURS) -> str:
    """One row per failed task of the task files: first sub-goal not reached, and why."""
    lines = ['| task | GC | first sub-goal not reached | why | detail |',
             '|---|---|---|---|---|']
    for suite in run.intake:
        for t in run.tasks(suite, condition):
            if t.success:
                continue
            detail = (t.error or '').replace('|', '/')
            if len(detail) > 160:
                detail = detail[:157] + '...'
            lines.append(f'| {t.task_id} | {fmt(t.goal_condition_rate)} | '
                         f'{t.failed_condition or "-"} | {failure_reason(t)} | {detail} |')
    return '\n'.join(lines) if len(lines) > 2 else '(every task succeeded)'


def intake_lines(intake: dict[str, TaskFileIntake]) -> list[str]:
    """Per file: what did not map and why, and what a home still lacked."""
    out: list[str] = []
    for suite, info in intake.items():
        out.append(f'- **{Path(info.file).name}** ({suite}): {info.tasks} tasks, {info.ran} '
                   f'ran, {info.fully_mapped} with every sub-goal mapped, '
                   f'{len(info.unmapped)} sub-goal(s) unmapped.')
        for task_id, text, reason in info.unmapped:
            out.append(f'  - {task_id}: `{text}` not mapped: {reason}')
        for task_id, problem in info.home_problems:
            out.append(f'  - {task_id}: home lacks: {problem}')
    return out


def result_values(run: BenchRun) -> dict[str, float]:
    """RESULT keys per task file, for ours: sr_all_, sr_mapped_, gc_, ran_, tasks_.

    When `none` ran too: sr_all_none_ and re_ (ours' exploration reduction against none).
    """
    vals: dict[str, float] = {}
    condition = OURS if OURS in run.config.conditions else run.conditions()[0]
    for suite in run.intake:
        m = file_metrics(run, suite, condition)
        vals[f'sr_all_{suite}'] = m['sr_all']
        vals[f'sr_mapped_{suite}'] = m['sr_mapped']
        vals[f'gc_{suite}'] = m['gc']
        vals[f'ran_{suite}'] = m['ran']
        vals[f'tasks_{suite}'] = m['tasks']
        if 'none' in run.config.conditions and condition != 'none':
            base = file_metrics(run, suite, 'none')
            vals[f'sr_all_none_{suite}'] = base['sr_all']
            vals[f're_{suite}'] = (1 - m['explore'] / base['explore']) if base['explore'] \
                else math.nan
    return vals


def format_values(vals: dict[str, float]) -> str:
    """`key=value` pairs: counts as integers, rates with three decimals, nan as nan."""
    parts = []
    for key, value in vals.items():
        if isinstance(value, float) and math.isnan(value):
            parts.append(f'{key}=nan')
        elif key.startswith(('ran_', 'tasks_')):
            parts.append(f'{key}={int(value)}')
        else:
            parts.append(f'{key}={value:.3f}')
    return ' '.join(parts)


def plot(out_dir: Path, run: BenchRun) -> Path | None:
    """alfred.png: success over every task per file and condition, KARMA's as a mark."""
    if not run.intake:
        return None
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    suites, conds = list(run.intake), run.conditions()
    width = 0.8 / max(1, len(conds))
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(suites)), 4.5))
    for i, c in enumerate(conds):
        vals = [file_metrics(run, s, c)['sr_all'] for s in suites]
        xs = [k + (i - (len(conds) - 1) / 2) * width for k in range(len(suites))]
        ax.bar(xs, [0 if math.isnan(v) else v for v in vals], width, label=c)
    for k, s in enumerate(suites):
        karma = KARMA_SR.get(file_kind(s))
        if karma is not None:
            ax.plot([k - 0.45, k + 0.45], [karma, karma], 'k--', lw=1.5,
                    label='KARMA (GPT-4o, AI2-THOR)' if k == 0 else None)
    ax.set_xticks(range(len(suites)), suites, rotation=10)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel('success over every task in the file')
    ax.set_title('Task files: success per memory condition')
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8, loc='upper center', bbox_to_anchor=(0.5, -0.12), ncol=3)
    fig.tight_layout()
    path = out_dir / 'alfred.png'
    fig.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(fig)
    return path


def section(run: BenchRun) -> list[str]:
    """The results page's section on task files (empty when the run had none)."""
    if not run.intake:
        return []
    return ['## ALFRED-L and other task files, counted over every task', '',
            "Success over every task of the file is KARMA's denominator: a task whose "
            'sub-goals did not all map runs what mapped and counts as failed; nothing is '
            "dropped. KARMA's numbers are GPT-4o in AI2-THOR; ours are the grounded planner "
            "(no model) in our PyBullet homes built per FloorPlan with the simulator's "
            'segmentation.', '',
            file_table(run), '',
            'What did not map, and what a home still lacked:', '', *intake_lines(run.intake),
            '', f'Failed tasks under {OURS if OURS in run.config.conditions else "the run"}:',
            '', failure_table(run, OURS if OURS in run.config.conditions
                              else run.conditions()[0]), '']
