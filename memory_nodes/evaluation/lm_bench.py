"""`embodied-memory bench lm`: how well instructions are read, and tasks done from them.

(a) Goal reading (parse-only, `goal_reading`): the controlled grammar, the base model with
no adapter (zero-shot) and the fine-tuned reader on held-out generated instructions
(unseen homes; unseen homes in a phrasing family never trained on) and on the ALFRED-L
files given. (b) End to end: tasks played from the instruction alone (the planner never
sees the goal conditions; they only judge) on our suites under `none` and `ltm+stm`, with
the fine-tuned reader and with the grammar. (c) Tool mode: the base model (the goal
reader's adapter was trained for goals, not calls) calling memory tools and skills step
by step on a small fixed task set (`tool_episodes`). Prints tables, writes `lm.json` and a
PNG, and ends with a RESULT line. `--parse-only FILE...`: (a) on those files only;
`--tools-only`: (c) only.
"""

from __future__ import annotations

import argparse
import json
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
    p.add_argument('--suites', nargs='*', default=['composite', 'complex'])
    p.add_argument('--adapter', default='shipped')
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
    base = _reader('none')
    progress(f'zero-shot base model on alfred_l ({len(sets["alfred_l"])})')
    results['zero-shot'] = {'alfred_l': summary(evaluate(
        sets['alfred_l'], model_reader(base, WORLD_ONTOLOGY), progress))}
    del base
    print(HEADER)
    for reader_name, per_set in results.items():
        for set_name, s in per_set.items():
            print(_line(f'{reader_name} on {set_name}', s))
    e2e = _end_to_end(args, progress)
    tools = _tool_mode(args, progress)
    print(TOOL_HEADER)
    print(_tool_line(tools['summary']))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {'parse': results, 'end_to_end': e2e, 'examples': examples, 'tools': tools,
           'adapter': str(tuned.adapter) if tuned.adapter else None,
           'minutes': round((time.monotonic() - t0) / 60, 1)}
    (out / 'lm.json').write_text(json.dumps(doc, indent=1))
    png = _plot(out, results, e2e)
    ft = results['fine-tuned']
    vals = {'goal_f1_alfred_l': ft['alfred_l']['goal_f1'],
            'goal_exact_alfred_l': ft['alfred_l']['goal_exact'],
            'goal_exact_heldout': ft['heldout_home']['goal_exact'],
            'goal_f1_heldout': ft['heldout_home']['goal_f1'],
            'goal_exact_heldout_wording': ft['heldout_wording']['goal_exact'],
            'goal_f1_alfred_l_grammar': results['grammar']['alfred_l']['goal_f1'],
            'goal_f1_alfred_l_zero_shot': results['zero-shot']['alfred_l']['goal_f1']}
    for key, value in e2e.get('success', {}).items():
        vals[f'sr_instr_{key}'] = value
    invalid = sum(s['invalid'] for s in ft.values())
    total = sum(s['tasks'] for s in ft.values())
    vals['valid_output_rate'] = round(1 - invalid / total, 3) if total else 0.0
    vals['decision_p50_s'] = ft['heldout_home']['decision_p50_s']
    vals['decision_p95_s'] = ft['heldout_home']['decision_p95_s']
    vals.update(_tool_values(tools))
    print(f'[bench-lm] {(time.monotonic() - t0) / 60:.1f} min; wrote {out / "lm.json"}'
          + (f' and {png}' if png else ''))
    print('RESULT ' + ' '.join(f'{k}={v}' for k, v in vals.items()), flush=True)
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
    """Suites x (none, ltm+stm) played from instructions, read by the model and the grammar."""
    from memory_nodes.evaluation.bench_runner import BenchConfig, run_bench

    episodes = args.episodes or (1 if args.quick else 3)
    tasks = args.tasks or (3 if args.quick else None)
    out: dict = {'success': {}, 'episodes': episodes, 'tasks_per_episode': tasks}
    for reader in ('language_model', 'grammar'):
        cfg = BenchConfig(suites=list(args.suites), conditions=['none', 'ltm+stm'],
                          episodes=episodes, tasks=tasks, text_embeddings='hashing',
                          jobs=max(1, args.jobs), instruction_reader=reader,
                          reader_adapter=args.adapter)
        progress(f'end to end with the {reader} reading instructions')
        run = run_bench(cfg, log=progress)
        for suite in run.suites:
            for condition in ('none', 'ltm+stm'):
                records = run.tasks(suite, condition)
                rate = round(sum(t.success for t in records) / len(records), 3) \
                    if records else 0.0
                key = f'{condition}_{suite}' if reader == 'language_model' \
                    else f'{condition}_{suite}_grammar'
                out['success'][key] = rate
                out.setdefault('tasks', {})[key] = len(records)
    return out


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
