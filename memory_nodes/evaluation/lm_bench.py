"""`embodied-memory bench lm`: how well instructions are read, and tasks done from them.

(a) Goal reading (parse-only, `goal_reading`): the controlled grammar, the base model with
no adapter (zero-shot) and the fine-tuned reader on held-out generated instructions
(unseen homes; unseen homes in a phrasing family never trained on) and on the ALFRED-L
files given. (b) End to end: tasks played from the instruction alone (the planner never
sees the goal conditions; they only judge) on our suites and the ALFRED-L files under
`none`, `history` and `ltm+stm` with the fine-tuned reader, and under `ltm+stm` with the
grammar. (c) Tool mode: the base model (the goal reader's adapter was trained for goals,
not calls) calling memory tools and skills step by step on a small fixed task set
(`tool_episodes`). Prints tables, writes `lm.json` and a PNG (and, with `--results-md`,
the instruction-only section of the results page, `instruction_page`), and ends with a
RESULT line. `--parse-only FILE...`: (a) on those files only; `--tools-only`: (c) only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import time
from pathlib import Path

from memory_nodes.evaluation.goal_reading import (
    ReadCase,
    alfred_cases,
    evaluate,
    grammar_reader,
    jsonl_cases,
    model_reader,
    summary,
)

DATA = Path('runs/goal_reader/data')


def git_commit() -> str:
    """Short hash of HEAD ('' when git cannot say), as `bench tasks` records it."""
    from memory_nodes.evaluation.bench_cli import git_commit as commit

    return commit()


def register_bench(sub: argparse._SubParsersAction) -> None:
    """Add `bench lm` to the bench parser."""
    p = sub.add_parser('lm', help='instructions read into goals by the language model: '
                                  'goal F1 / exact, and success from the instruction alone')
    p.add_argument('--parse-only', nargs='+', default=None, metavar='FILE',
                   help='only read the instructions of these ALFRED-L files (or make-data '
                        'JSONL files) and score the goals')
    p.add_argument('--alfred-l', nargs='*', default=[], metavar='FILE')
    p.add_argument('--data', default=str(DATA), help='make-data directory (held-out sets)')
    p.add_argument('--heldout', type=int, default=150, help='held-out examples per set')
    p.add_argument('--episodes', type=int, default=None, help='end-to-end episodes per suite')
    p.add_argument('--tasks', type=int, default=None, help='tasks per episode')
    p.add_argument('--suites', nargs='*', default=['simple', 'composite', 'complex'])
    p.add_argument('--conditions', nargs='+', default=['none', 'history', 'ltm+stm'],
                   help='memory conditions of the end-to-end part (the grammar reader, the '
                        'reference, runs under ltm+stm only)')
    p.add_argument('--results-md', default=None, metavar='FILE',
                   help='write the instruction-only section into this results page '
                        '(docs/results.md); the rest of the page is left as it is')
    p.add_argument('--page-from', default=None, metavar='LM_JSON',
                   help='only re-render the instruction-only section of --results-md from '
                        'a saved lm.json (no model, no episodes)')
    p.add_argument('--adapter', default='shipped')
    p.add_argument('--zero-shot', type=int, default=None, metavar='N',
                   help='ALFRED-L instructions read by the base model with no adapter '
                        '(default: all; --quick: 5; 0: none)')
    p.add_argument('--quick', action='store_true')
    p.add_argument('--out', default='bench/out/lm')
    p.add_argument('--jobs', type=int, default=2)
    p.add_argument('--tools-only', action='store_true', help='only the tool-mode section')
    p.add_argument('--tool-steps', type=int, default=16, help='calls per task in tool mode')
    p.set_defaults(func=main)


def _cases(path: str) -> list[ReadCase]:
    return jsonl_cases(Path(path)) if path.endswith('.jsonl') else alfred_cases([Path(path)])


def _reader(adapter: str):  # noqa: ANN202 - a GoalReader
    from memory_nodes.planner.language.goal_reader import GoalReader, GoalReaderConfig
    from sim.catalog import WORLD_ONTOLOGY

    return GoalReader(GoalReaderConfig(adapter=adapter), WORLD_ONTOLOGY)


def _line(name: str, s: dict) -> str:
    return (f'| {name} | {s["tasks"]} | {s["goal_f1"]:.3f} | {s["goal_exact"]:.3f} | '
            f'{s["invalid"]} | {s.get("decision_p50_s", 0):.2f} | '
            f'{s.get("decision_p95_s", 0):.2f} |')


HEADER = ('| reader on set | tasks | goal F1 | exact | invalid | p50 s | p95 s |\n'
          '|---|---|---|---|---|---|---|')


def main(args: argparse.Namespace) -> int:
    """Run the benchmark (or its parse-only part) and print the RESULT line."""
    from sim.catalog import WORLD_ONTOLOGY

    t0 = time.monotonic()
    if args.page_from:
        return _render_page(Path(args.page_from), args.results_md)
    progress = lambda line: print(f'[bench-lm] {line}', flush=True)  # noqa: E731
    if args.tools_only:
        tools = _tool_mode(args, progress)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / 'lm_tools.json').write_text(json.dumps(tools, indent=1))
        print(TOOL_HEADER)
        print(_tool_line(tools['summary']))
        print('RESULT ' + ' '.join(f'{k}={v}' for k, v in _tool_values(tools).items()),
              flush=True)
        return 0
    if args.parse_only:
        cases = [c for path in args.parse_only for c in _cases(path)]
        reader = _reader(args.adapter)
        s = summary(evaluate(cases, model_reader(reader, WORLD_ONTOLOGY), progress))
        print(HEADER)
        print(_line(f'model ({reader.adapter.name if reader.adapter else "no adapter"})', s))
        print(f'RESULT goal_f1={s["goal_f1"]} goal_exact={s["goal_exact"]} '
              f'tasks={s["tasks"]} invalid={s["invalid"]} '
              f'decision_p50_s={s["decision_p50_s"]}', flush=True)
        return 0
    n = 40 if args.quick else args.heldout
    sets: dict[str, list[ReadCase]] = {}
    for name in ('heldout_home', 'heldout_wording'):
        path = Path(args.data) / f'{name}.jsonl'
        if not path.is_file():
            print(f'bench lm: no {path}: run `embodied-memory lm make-data` first')
            return 2
        sets[name] = jsonl_cases(path)[:n]
    sets['alfred_l'] = alfred_cases([Path(p) for p in args.alfred_l])
    e2e = _end_to_end(args, progress)  # first: the part that runs the simulator
    results: dict[str, dict[str, dict]] = {}
    examples: dict[str, list] = {}
    tuned = _reader(args.adapter)
    readers = {'grammar': grammar_reader(WORLD_ONTOLOGY),
               'fine-tuned': model_reader(tuned, WORLD_ONTOLOGY)}
    for reader_name, read in readers.items():
        for set_name, cases in sets.items():
            progress(f'{reader_name} on {set_name} ({len(cases)})')
            scores = evaluate(cases, read, progress)
            results.setdefault(reader_name, {})[set_name] = summary(scores)
            if reader_name == 'fine-tuned':
                examples[set_name] = [
                    {'instruction': sc.case.instruction, 'gold': sc.case.gold,
                     'read': sc.predicted, 'f1': round(sc.f1, 3)} for sc in scores]
    zero_shot = sets['alfred_l'][:_zero_shot_cases(args)]
    if zero_shot:  # the base model writes long, so this is the slow part
        base = _reader('none')
        progress(f'zero-shot base model on alfred_l ({len(zero_shot)})')
        results['zero-shot'] = {'alfred_l': summary(evaluate(
            zero_shot, model_reader(base, WORLD_ONTOLOGY), progress))}
        del base
    print(HEADER)
    for reader_name, per_set in results.items():
        for set_name, s in per_set.items():
            print(_line(f'{reader_name} on {set_name}', s))
    tools = _tool_mode(args, progress)
    print(TOOL_HEADER)
    print(_tool_line(tools['summary']))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print('\n'.join(_e2e_lines(e2e)))
    ft = results['fine-tuned']
    vals = {'goal_f1_alfred_l': ft['alfred_l']['goal_f1'],
            'goal_exact_alfred_l': ft['alfred_l']['goal_exact'],
            'goal_exact_heldout': ft['heldout_home']['goal_exact'],
            'goal_f1_heldout': ft['heldout_home']['goal_f1'],
            'goal_exact_heldout_wording': ft['heldout_wording']['goal_exact'],
            'goal_f1_alfred_l_grammar': results['grammar']['alfred_l']['goal_f1']}
    if 'zero-shot' in results:
        vals['goal_f1_alfred_l_zero_shot'] = results['zero-shot']['alfred_l']['goal_f1']
    for key, value in e2e.get('success', {}).items():
        vals[f'sr_instr_{key}'] = value
    invalid = sum(s['invalid'] for s in ft.values())
    total = sum(s['tasks'] for s in ft.values())
    vals['valid_output_rate'] = round(1 - invalid / total, 3) if total else 0.0
    vals['decision_p50_s'] = ft['heldout_home']['decision_p50_s']
    vals['decision_p95_s'] = ft['heldout_home']['decision_p95_s']
    vals.update(_tool_values(tools))
    result_line = 'RESULT ' + ' '.join(f'{k}={v}' for k, v in vals.items())
    doc = {'parse': results, 'end_to_end': e2e, 'examples': examples, 'tools': tools,
           'adapter': str(tuned.adapter) if tuned.adapter else None,
           'minutes': round((time.monotonic() - t0) / 60, 1),
           'command': command_text(args), 'date': datetime.date.today().isoformat(),
           'commit': git_commit(), 'result_line': result_line}
    (out / 'lm.json').write_text(json.dumps(doc, indent=1))
    png = _plot(out, results, e2e)
    if args.results_md:
        _write_section(doc, Path(args.results_md))
    print(f'[bench-lm] {(time.monotonic() - t0) / 60:.1f} min; wrote {out / "lm.json"}'
          + (f' and {png}' if png else ''))
    print(result_line, flush=True)
    return 0


def _zero_shot_cases(args: argparse.Namespace) -> int | None:
    if args.zero_shot is not None:
        return max(0, args.zero_shot)
    return 5 if args.quick else None


def command_text(args: argparse.Namespace) -> str:
    """The command that reproduces this run."""
    parts = ['embodied-memory', 'bench', 'lm', '--suites', *args.suites,
             '--conditions', *args.conditions, '--adapter', args.adapter,
             '--heldout', str(args.heldout), '--jobs', str(args.jobs),
             '--tool-steps', str(args.tool_steps)]
    if args.alfred_l:
        parts += ['--alfred-l', *args.alfred_l]
    for flag, value in (('--episodes', args.episodes), ('--tasks', args.tasks),
                        ('--zero-shot', args.zero_shot)):
        if value is not None:
            parts += [flag, str(value)]
    parts += ['--quick'] if args.quick else []
    parts += ['--out', args.out] + (['--results-md', args.results_md] if args.results_md
                                    else [])
    return ' '.join(shlex.quote(p) for p in parts)


def _write_section(doc: dict, page: Path) -> None:
    from memory_nodes.evaluation.instruction_page import replace_block, section

    old = page.read_text() if page.is_file() else ''
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(replace_block(old, section(doc)))
    print(f'[bench-lm] wrote the instruction-only section of {page}', flush=True)


def _render_page(lm_json: Path, page: str | None) -> int:
    if not page:
        print('bench lm: --page-from needs --results-md (the page to write into)')
        return 2
    try:
        doc = json.loads(lm_json.read_text())
    except (OSError, ValueError) as err:
        print(f'bench lm: cannot read {lm_json}: {err}')
        return 2
    if not isinstance(doc, dict) or 'end_to_end' not in doc:
        print(f'bench lm: {lm_json} is not an lm.json written by `bench lm` '
              '(no end_to_end)')
        return 2
    _write_section(doc, Path(page))
    return 0


TOOL_HEADER = ('| tool mode (SmolLM2 base) | tasks | success | valid calls | calls/task | '
               'loop stops | budget stops | p50 s | p95 s | tok/s |\n'
               '|---|---|---|---|---|---|---|---|---|---|')


def _tool_line(s: dict) -> str:
    return (f'| ltm+stm | {s["tasks"]} | {s["success"]:.3f} | {s["valid_call_rate"]:.3f} | '
            f'{s["steps_per_task"]} | {s["loop_stops"]} | {s["budget_stops"]} | '
            f'{s["decision_p50_s"]:.2f} | {s["decision_p95_s"]:.2f} | {s["tokens_per_s"]} |')


def _tool_values(tools: dict) -> dict:
    s = tools['summary']
    return {'valid_call_rate': s['valid_call_rate'], 'sr_tools': s['success'],
            'tool_steps_per_task': s['steps_per_task'], 'tool_loop_stops': s['loop_stops'],
            'tool_budget_stops': s['budget_stops'],
            'tool_decision_p50_s': s['decision_p50_s'],
            'tool_decision_p95_s': s['decision_p95_s'], 'tool_tokens_per_s': s['tokens_per_s'],
            'tool_tasks': s['tasks']}


def _tool_mode(args: argparse.Namespace, progress) -> dict:  # noqa: ANN001
    """(c): the base SmolLM2 calling memory tools and skills, grammar-constrained."""
    import torch

    from memory_nodes.evaluation.tool_episodes import tool_bench
    from memory_nodes.planner.backends.transformers_backend import TransformersChatModel
    from memory_nodes.planner.language.model_files import prepare_model
    from memory_nodes.planner.tool_mode import ToolModeConfig

    progress('tool mode: SmolLM2 (base, no adapter) calling memory tools and skills')
    # One thread, as the goal reader's workers: on two shared cores two torch threads
    # decoded ~10x slower (measured 35 s vs 3.5 s for 20 tokens while other jobs ran).
    torch.set_num_threads(1)
    model = TransformersChatModel(prepare_model(), dtype='float32', max_new_tokens=40)
    return tool_bench(model, args.quick, ToolModeConfig(max_steps=args.tool_steps),
                      progress=progress)


def _end_to_end(args: argparse.Namespace, progress) -> dict:  # noqa: ANN001
    """Suites and task files played from instructions alone, read by the model and the grammar.

    The fine-tuned reader under every condition of `args.conditions`; the grammar (the
    reference reader) under `ltm+stm` only. Generated suites: the first `episodes`
    episodes; ALFRED-L files: every task (QUICK: one episode of three tasks).
    """
    from memory_nodes.evaluation.bench_runner import BenchConfig, run_bench
    from memory_nodes.evaluation.instruction_page import cell_key

    episodes = args.episodes or (1 if args.quick else 3)
    tasks = args.tasks or (3 if args.quick else None)
    out: dict = {'success': {}, 'episodes': episodes, 'tasks_per_episode': tasks,
                 'cells': {}}
    plans = [('language_model', list(args.conditions))]
    if 'ltm+stm' in args.conditions:
        plans.append(('grammar', ['ltm+stm']))
    for reader, conditions in plans:
        grids = [BenchConfig(suites=list(args.suites), conditions=conditions,
                             episodes=episodes, tasks=tasks, text_embeddings='hashing',
                             jobs=max(1, args.jobs), instruction_reader=reader,
                             reader_adapter=args.adapter)]
        if args.alfred_l:  # every task of a file (KARMA's denominator), unless QUICK
            grids.append(BenchConfig(
                suites=[], alfred_l=list(args.alfred_l), conditions=conditions,
                episodes=1 if args.quick else None, tasks=tasks, text_embeddings='hashing',
                jobs=max(1, args.jobs), instruction_reader=reader,
                reader_adapter=args.adapter))
        for cfg in grids:
            progress(f'end to end with the {reader} reading instructions: '
                     f'{", ".join(cfg.suites or cfg.alfred_l)} x {", ".join(conditions)}')
            run = run_bench(cfg, log=progress)
            for suite in run.suites:
                for condition in conditions:
                    records = run.tasks(suite, condition)
                    k = sum(t.success for t in records)
                    out['cells'][cell_key(suite, condition, reader)] = {
                        'suite': suite, 'condition': condition, 'reader': reader,
                        'tasks': len(records), 'successes': k}
                    suffix = '' if reader == 'language_model' else '_grammar'
                    key = f'{condition}_{suite}{suffix}'
                    out['success'][key] = round(k / len(records), 3) if records else 0.0
                    out.setdefault('tasks', {})[key] = len(records)
    return out


E2E_HEADER = ('| suite | memory | reader | tasks | success |\n|---|---|---|---|---|')


def _e2e_lines(e2e: dict) -> list[str]:
    lines = [E2E_HEADER]
    for c in e2e.get('cells', {}).values():
        rate = c['successes'] / c['tasks'] if c['tasks'] else 0.0
        lines.append(f'| {c["suite"]} | {c["condition"]} | {c["reader"]} | {c["tasks"]} | '
                     f'{rate:.3f} |')
    return lines


def _plot(out: Path, results: dict, e2e: dict) -> Path | None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = [(r, s) for r, per in results.items() for s in per]
    axes[0].barh([f'{r} / {s}' for r, s in names],
                 [results[r][s]['goal_f1'] for r, s in names], color='tab:blue')
    axes[0].set_xlim(0, 1)
    axes[0].set_xlabel('goal F1 (per-task mean)')
    keys = list(e2e.get('success', {}))
    axes[1].barh(keys, [e2e['success'][k] for k in keys], color='tab:green')
    axes[1].set_xlim(0, 1)
    axes[1].set_xlabel('success from the instruction alone')
    fig.tight_layout()
    path = out / 'lm.png'
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
