"""`embodied-memory bench tasks`: KARMA's experiment on our stack, in one command.

Runs every suite under every memory condition with the same homes, seeds and grounded
planner, prints one progress line per task, then KARMA's Table 1 (success per suite), an
ablation table, per-suite details, the STM policies on the suites' recorded traces and
(optionally) the FloorPlan1 comparison; writes PNG plots and a JSON file of every number
under `--out`, optionally the results page, and ends with one `RESULT key=value ...` line.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import math
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

from memory_nodes.evaluation import alfred_report, instruction_page, report, stats_report
from memory_nodes.evaluation.bench_runner import (
    OURS,
    SUITES,
    TRACE_POLICIES,
    BenchConfig,
    replay_traces,
    run_bench,
)
from memory_nodes.evaluation.conditions import CONDITIONS
from memory_nodes.evaluation.tokens import counter_name
from memory_nodes.memory.eviction import PEER_NAMES

ROS_MODULE = 'memory_nodes.evaluation.ros_episodes'
QUICK_EPISODES = 1
QUICK_TASKS = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `bench tasks` to the `embodied-memory` parser."""
    bench = subparsers.add_parser('bench', help='benchmarks of the whole stack')
    sub = bench.add_subparsers(dest='bench_command', required=True)
    p = sub.add_parser('tasks', help='task suites x memory conditions (KARMA Table 1)')
    p.add_argument('--suites', nargs='*', default=list(SUITES),
                   help='suite names or files (default: all four; none with --alfred-l only)')
    p.add_argument('--conditions', nargs='+', default=list(CONDITIONS), choices=CONDITIONS)
    p.add_argument('--policy', default='robot_aware', help='STM eviction policy')
    p.add_argument('--capacity', type=int, default=10, help='STM capacity (entries)')
    p.add_argument('--episodes', type=int, default=None, help='episodes per suite')
    p.add_argument('--tasks', type=int, default=None, help='tasks per episode (first N)')
    p.add_argument('--quick', action='store_true',
                   help=f'{QUICK_EPISODES} episode per suite, first {QUICK_TASKS} tasks')
    p.add_argument('--alfred-l', nargs='+', default=[], metavar='FILE',
                   help='ALFRED-L files (raw or imported) to run as extra suites')
    p.add_argument('--floorplan1', action='store_true',
                   help='also run the FloorPlan1 ALFRED-L comparison (oracle and planner)')
    p.add_argument('--out', default='bench/out/tasks', help='directory for plots and JSON')
    p.add_argument('--results-md', default=None, metavar='FILE',
                   help='write the generated results page (docs/results.md) here')
    p.add_argument('--perception', default='sim_segmentation',
                   choices=('sim_segmentation', 'yolo'))
    p.add_argument('--weights', default=None, help='YOLO weights file (with --perception yolo)')
    p.add_argument('--text-embeddings', default='minilm', choices=('minilm', 'hashing'),
                   help='LTM text embedder (hashing: no model, faster)')
    p.add_argument('--jobs', type=int, default=1, help='worker processes')
    p.add_argument('--ros', action='store_true',
                   help=f'run through the ROS 2 nodes ({ROS_MODULE}.run_episode_ros)')
    p.set_defaults(func=main)
    a = sub.add_parser('alfred', help='task files (ALFRED-L or ours) counted over every task, '
                       "next to KARMA's numbers")
    a.add_argument('--files', nargs='+', required=True, metavar='FILE',
                   help='task files: raw ALFRED-L JSON or suite files of ours')
    a.add_argument('--conditions', nargs='+', default=['none', OURS], choices=CONDITIONS)
    a.add_argument('--policy', default='robot_aware', help='STM eviction policy')
    a.add_argument('--capacity', type=int, default=10, help='STM capacity (entries)')
    a.add_argument('--tasks', type=int, default=None, help='tasks per episode (first N)')
    a.add_argument('--episodes', type=int, default=None, help='episodes per file')
    a.add_argument('--quick', action='store_true',
                   help=f'{QUICK_EPISODES} episode per file, first {QUICK_TASKS} tasks')
    a.add_argument('--out', default='bench/out/alfred', help='directory for the plot and JSON')
    a.add_argument('--jobs', type=int, default=1, help='worker processes')
    a.set_defaults(func=alfred_main)
    from memory_nodes.evaluation.lm_bench import register_bench

    register_bench(sub)


def alfred_main(args: argparse.Namespace) -> int:
    """`bench alfred`: run task files, print their tables, a PNG and the RESULT line."""
    episodes, tasks = args.episodes, args.tasks
    if args.quick:
        episodes, tasks = episodes or QUICK_EPISODES, tasks or QUICK_TASKS
    for path in args.files:
        if not Path(path).is_file():
            print(f'bench alfred: no such task file: {path}', file=sys.stderr)
            return 2
    cfg = BenchConfig(suites=[], conditions=list(args.conditions), policy=args.policy,
                      capacity=args.capacity, episodes=episodes, tasks=tasks,
                      alfred_l=list(args.files), text_embeddings='hashing',
                      jobs=max(1, args.jobs))
    try:
        run = run_bench(cfg)
    except ValueError as err:  # includes a file that is not a task file
        print(f'bench alfred: {err}', file=sys.stderr)
        return 2
    out = Path(args.out)
    png = alfred_report.plot(out, run)
    vals = alfred_report.result_values(run)
    out.mkdir(parents=True, exist_ok=True)
    doc = {'files': {s: {'file': i.file, 'tasks': i.tasks, 'ran': i.ran,
                         'fully_mapped': i.fully_mapped, 'unmapped': i.unmapped,
                         'home_problems': i.home_problems} for s, i in run.intake.items()},
           'result': vals,
           'tasks': {f'{s}/{c}': [vars(t) | {'why': alfred_report.failure_reason(t)}
                                  for t in run.tasks(s, c)]
                     for s in run.intake for c in run.conditions()}}
    (out / 'alfred.json').write_text(json.dumps(report._clean(doc), indent=1, default=str))
    print()
    print('\n'.join(alfred_report.section(run)))
    print(f'[bench-alfred] {run.seconds / 60:.1f} min; wrote {out / "alfred.json"}'
          + (f' and {png}' if png else ''), flush=True)
    print('RESULT ' + alfred_report.format_values(vals), flush=True)
    return 0


def git_commit() -> str:
    """Short hash of HEAD in the working directory, '' when git cannot say."""
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ''


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The run's configuration from parsed arguments (`--quick` fills the sizes)."""
    episodes, tasks = args.episodes, args.tasks
    if args.quick:
        episodes = episodes or QUICK_EPISODES
        tasks = tasks or QUICK_TASKS
    return BenchConfig(
        suites=list(args.suites), conditions=list(args.conditions), policy=args.policy,
        capacity=args.capacity, episodes=episodes, tasks=tasks, alfred_l=list(args.alfred_l),
        text_embeddings=args.text_embeddings, perception=args.perception,
        weights=args.weights, jobs=max(1, args.jobs), floorplan1=args.floorplan1)


def command_text(args: argparse.Namespace) -> str:
    """The exact command that reproduces this run (every option spelled out)."""
    parts = ['embodied-memory', 'bench', 'tasks', '--suites', *args.suites,
             '--conditions', *args.conditions, '--policy', args.policy,
             '--capacity', str(args.capacity)]
    if args.quick:
        parts.append('--quick')
    for flag, value in (('--episodes', args.episodes), ('--tasks', args.tasks),
                        ('--weights', args.weights)):
        if value is not None:
            parts += [flag, str(value)]
    if args.alfred_l:
        parts += ['--alfred-l', *args.alfred_l]
    if args.floorplan1:
        parts.append('--floorplan1')
    parts += ['--perception', args.perception, '--text-embeddings', args.text_embeddings,
              '--jobs', str(args.jobs), '--out', args.out]
    if args.results_md:
        parts += ['--results-md', args.results_md]
    if args.ros:
        parts.append('--ros')
    return ' '.join(shlex.quote(p) for p in parts)


def main(args: argparse.Namespace, ros_module: str = ROS_MODULE) -> int:
    """Run the benchmark; print tables and the RESULT line; 2 on a usage error.

    `ros_module` is where `--ros` finds `run_episode_ros`.
    """
    command = command_text(args)
    if args.ros:
        if importlib.util.find_spec(ros_module) is None:
            print(f'--ros needs {ros_module}.run_episode_ros (the ROS 2 episode runner), '
                  'which this build does not have yet; run without --ros for the '
                  'in-process bench.', file=sys.stderr)
            return 2
        from memory_nodes.evaluation import bench_runner

        bench_runner.EPISODE_RUNNER = importlib.import_module(ros_module).run_episode_ros
    cfg = config_from_args(args)
    commit = git_commit()  # the code that runs, not whatever lands during a long run
    try:
        run = run_bench(cfg)
    except ValueError as err:
        print(f'bench tasks: {err}', file=sys.stderr)
        return 2
    grid, pool = report.cells(run), report.pooled(run)
    t0 = time.perf_counter()
    evidence = stats_report.Evidence(run)
    print(f'[bench-tasks] paired tests: {len(evidence.table)} comparisons '
          f'({time.perf_counter() - t0:.1f} s)', flush=True)
    t0 = time.perf_counter()
    traces = run.traces()
    # Production caches (theine, cachetools) next to our policies, on the same traces.
    trace_hits = replay_traces(traces, TRACE_POLICIES + PEER_NAMES) if traces else {}
    print(f'[bench-tasks] replayed {len(traces)} STM traces '
          f'({time.perf_counter() - t0:.1f} s)', flush=True)
    floorplan = floorplan1_tables(cfg) if cfg.floorplan1 else ''
    out = Path(args.out)
    meta = {'command': command, 'date': datetime.date.today().isoformat(),
            'commit': commit, 'tokens_counter': counter_name(),
            'python': platform.python_version(), 'seconds': round(run.seconds, 1)}
    report.write_json(out / 'tasks.json', run, grid, pool, trace_hits, meta, evidence)
    plots = report.plot(out, run, grid, trace_hits)
    alfred_png = alfred_report.plot(out, run)
    plots += [alfred_png] if alfred_png else []
    page = results_page(run, grid, pool, trace_hits, floorplan, meta, plots, evidence)
    print()
    print(page)
    if args.results_md:
        page_path = Path(args.results_md)
        page_path.parent.mkdir(parents=True, exist_ok=True)
        # The instruction-only section belongs to `bench lm`: kept as it was.
        old_page = page_path.read_text() if page_path.is_file() else ''
        page_path.write_text(instruction_page.carry_over(old_page, page + '\n'))
        print(f'[bench-tasks] wrote {args.results_md}', flush=True)
    print(f'[bench-tasks] wrote {out / "tasks.json"} and '
          + ', '.join(str(p) for p in plots), flush=True)
    alfred = alfred_report.result_values(run)
    print(report.result_line(run, grid, pool, evidence)
          + (' ' + alfred_report.format_values(alfred) if alfred else ''), flush=True)
    return 0


def results_page(run, grid, pool, trace_hits, floorplan: str, meta: dict,  # noqa: ANN001
                 plots, evidence=None) -> str:  # noqa: ANN001
    """The results page (docs/results.md): generated, never written by hand."""
    cfg = run.config
    evidence = evidence if evidence is not None else stats_report.Evidence(run)
    size = (f'{cfg.episodes or "all"} episodes per suite, '
            f'{cfg.tasks or "all"} tasks per episode')
    lines = [
        "# Results: KARMA's experiment on our stack",
        '',
        '<!-- GENERATED by `embodied-memory bench tasks` (bench/tasks.py); do not edit. -->',
        '',
        f'Command: `{meta["command"]}`  ',
        f'Date: {meta["date"]}, commit {meta["commit"] or "?"}, '
        f'{run.seconds / 60:.1f} min on this machine.  ',
        f'Setup: {size}; grounded planner (no model), {cfg.perception} perception, '
        f'STM policy {cfg.policy} at capacity {cfg.capacity}, LTM text embeddings '
        f'{cfg.text_embeddings}; the same homes, seeds and planner for every condition. '
        f'Tokens: memory context + instruction a model planner would get, counted with the '
        f'{meta["tokens_counter"]}.',
        '',
        'Conditions: `none` clears memory before every task (only what the robot sees during '
        'the task); `history` keeps no structure, only the raw log of every observation and '
        "own action (KARMA's in-context baseline: an object is where its latest mention "
        'says); `ltm` the long-term scene graph only; `stm` the short-term buffer only; '
        '`ltm+stm` both (ours). The planner, its search strategy and its skills are the same '
        'in every condition; the simulator scores every task against ground truth after '
        'every skill (ALFRED-L ordered sub-goals).',
        '',
        "## Success rate per suite (shaped like KARMA's Table 1)",
        '',
        'Each rate with its 95 % Wilson interval; whether two rows differ is tested, '
        'task by task, under "Paired comparisons against ours".',
        '',
        report.table_one(run, grid),
        '',
        '## Ablation: every metric per memory condition, all suites pooled',
        '',
        'RE = 1 - exploration / exploration(none), RT the same for robot time, RP for path '
        "length (KARMA's reduced exploration and time); RE warm counts only the tasks after "
        "each episode's first (which starts with an empty memory in every condition). "
        "Retrieval accuracy: lookups whose "
        'object was where memory said. STM hit: lookups resident in the short-term memory. '
        '"tokens last task": on the last task of each episode (the longest history). '
        '"ours won / lost": tasks ltm+stm solved and this condition did not, and the '
        'reverse, with the exact McNemar p. Brackets: 95 % intervals (Wilson for SR, '
        'paired bootstrap over tasks for RE, RT and RP).',
        '',
        report.ablation_table(run, pool, evidence),
        '',
        *stats_report.section(evidence),
        '## Targets (issue 8), as measured',
        '',
        report.targets_table(grid, pool, evidence),
        '',
        '## Per suite',
        '',
        "RE, RE warm and RT with 95 % paired bootstrap intervals over the suite's tasks.",
        '',
        report.detail_table(run, grid, evidence),
        '',
    ]
    if trace_hits:
        lines += ["## STM eviction policies on the suites' traces", '',
                  report.trace_table(trace_hits, len(run.traces()), _lookups(run.traces())),
                  '']
    lines += alfred_report.section(run)
    if floorplan:
        lines += ['## ALFRED-L FloorPlan1', '', floorplan, '']
    fails = report.failures(run)
    lines += ['## Tasks ltm+stm did not solve', '']
    lines += fails or ['(none)']
    lines += ['', 'Plots (written next to the JSON of every number, not committed): '
              + ', '.join(Path(p).name for p in plots) + '.']
    lines += ['', 'The learned detector (YOLOv8n-seg trained on simulator renders) next to '
              'the oracle masks: fusion, Composite success, mAP and speed are on '
              '[perception_results.md](perception_results.md), generated by '
              '`make bench-perception`.']
    return '\n'.join(lines)


def _versus_none(played: dict, condition: str) -> str:
    """Paired test of `condition` against none on the same tasks ('-' for none itself)."""
    from memory_nodes.evaluation.metrics import paired_wins
    from memory_nodes.evaluation.statistics import mcnemar_exact, paired_bootstrap

    if condition == 'none' or 'none' not in played:
        return '-'
    base = {t.task_id: t for t in played['none']}
    pairs = [(t, base[t.task_id]) for t in played[condition] if t.task_id in base]
    won, lost = paired_wins(played[condition], played['none'])
    r = paired_bootstrap([float(a.explorations) for a, _ in pairs],
                         [float(b.explorations) for _, b in pairs])
    interval = '' if math.isnan(r.diff_low) else (
        f' [{r.diff_low:+.2f}, {r.diff_high:+.2f}]')
    return f'{won} / {lost} ({mcnemar_exact(won, lost):.3f}); {r.diff:+.2f}{interval}'


def _lookups(traces) -> int:  # noqa: ANN001 - lists of TraceStep
    """Query steps over all traces: the denominator of every replayed hit rate."""
    from memory_nodes.memory.traces import QueryStep

    return sum(isinstance(step, QueryStep) for trace in traces for step in trace)


def floorplan1_tables(cfg: BenchConfig) -> str:
    """FloorPlan1 ALFRED-L tasks: the oracle comparison, then ours vs none (planner)."""
    from memory_nodes.evaluation.metrics import fmt, summarize
    from sim.ai2thor.floorplan_tasks import (
        compare_floorplan1,
        floorplan1_suite,
        generated_kitchen_ref,
        support_problems,
    )
    from sim.suite_world import build_home
    from sim.task_schema import Episode

    print('[bench-tasks] FloorPlan1: oracle comparison', flush=True)
    try:
        comparison = compare_floorplan1()
    except (OSError, ValueError) as err:
        return f'FloorPlan1 comparison unavailable: {err}'
    suite = floorplan1_suite()
    base = suite.episodes[0]
    tasks = base.tasks
    lines = ["Oracle plans (each task from the scene's initial state):", '',
             comparison.table(), '',
             'Grounded planner from memory (supported tasks in order, one episode per home):',
             '', '| home | memory | tasks | SR | GC | explore/task | path m/task | '
             'vs none: won / lost (McNemar p); Δ explore/task [95 % CI] |',
             '|---|---|---|---|---|---|---|---|']
    from memory_nodes.evaluation.bench_runner import run_unit

    for name, ref in (('FloorPlan1', base.home), ('generated kitchen',
                                                  generated_kitchen_ref(tasks))):
        home = build_home(ref)
        ok = [t for t in tasks if not support_problems(t, home)]
        if not ok:
            lines.append(f'| {name} | - | 0 | - | - | - | - | - |')
            continue
        episode = Episode(f'floorplan1-{name.replace(" ", "_")}', ref, ok)
        played = {}
        for condition in ('none', 'ltm+stm'):
            if condition not in cfg.conditions:
                continue
            r = run_unit(('floorplan1', episode, condition, cfg))
            played[condition] = r.report.tasks
            m = summarize(r.report.tasks)
            lines.append(f'| {name} | {condition} | {m.tasks} | {fmt(m.sr)} | {fmt(m.gc)} | '
                         f'{fmt(m.exploration)} | {fmt(m.path_length_m, 1)} | '
                         f'{_versus_none(played, condition)} |')
    return '\n'.join(lines)
