"""Reliability: large images on one host, fuzzing, crashes, load (`make bench-reliability`).

Four parts, each a module of `memory_nodes.evaluation.reliability` with
`run(quick, out) -> {'metrics': {...}, 'rows': [(what, value), ...], 'notes': [...]}`:

1. `transport`: camera frames lost between two processes on one host, best effort and
   reliable, 320x240 at 5 Hz and 640x480 at 15 Hz, with the stack's Fast DDS profile
   (shared memory for large data) and without it.
2. `fuzz`: generated malformed messages and requests into every callback and service
   handler of the nodes; node deaths, escaped exceptions, memory changed by a rejected
   input (digest before and after).
3. `crash`: kill -9 of the memory node during fusion, restarted, every committed confirmed
   object checked and `PRAGMA integrity_check`; the planner killed mid-task; damaged,
   read-only and full memory files.
4. `load`: 16 concurrent clients of QueryObjects / GetSceneGraph / RecallStates while
   fusion runs at 5 Hz against ~1,000 objects.

Prints one markdown table per part and the targets, writes bench/out/reliability[_quick]/
reliability.png and reliability.json, regenerates docs/reliability.md (full runs only),
and ends with `RESULT best_effort_drop_320=... best_effort_drop_640=... fuzz_inputs=...
node_deaths=... kill_cycles=... lost_confirmed=... concurrent_p99_ms=...
integrity_failures=...`. `QUICK=1`: a short run of each part. `PARTS=fuzz,load` runs some.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('MPLBACKEND', 'Agg')

from memory_nodes.launch.ros_env import apply_loopback_defaults  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
PARTS = ('transport', 'fuzz', 'crash', 'load')
RESULT_KEYS = ('best_effort_drop_320', 'best_effort_drop_640', 'fuzz_inputs', 'node_deaths',
               'kill_cycles', 'lost_confirmed', 'concurrent_p99_ms', 'integrity_failures')
#: (metric, test, target as words); a missing metric is reported as not measured.
TARGETS = (
    ('best_effort_drop_320', lambda v: v < 0.01, '< 1 % of 320x240 frames lost, best effort'),
    ('best_effort_drop_640', lambda v: v < 0.01, '< 1 % of 640x480 frames lost, best effort'),
    ('fuzz_inputs', lambda v: v >= 10_000, '>= 10,000 fuzzed inputs'),
    ('node_deaths', lambda v: v == 0, '0 node deaths'),
    ('changed_by_rejected', lambda v: v == 0, '0 changes from rejected inputs'),
    ('kill_cycles', lambda v: v >= 100, '>= 100 kill -9 cycles'),
    ('lost_confirmed', lambda v: v == 0, '0 confirmed objects lost'),
    ('integrity_failures', lambda v: v == 0, '0 integrity failures'),
    ('concurrent_errors', lambda v: v == 0, '0 errors with 16 clients'),
    ('concurrent_p99_ms', lambda v: v < 20.0, 'QueryObjects p99 < 20 ms at 1k objects'),
)


def run_part(name: str, out: Path) -> dict:
    """One part's `run`, timed; a crash of the part is a reported failure, not a traceback."""
    t0 = time.perf_counter()
    print(f'[bench-reliability] {name} ...', flush=True)
    try:
        module = importlib.import_module(f'memory_nodes.evaluation.reliability.{name}')
        part = module.run(QUICK, out / name)
    except Exception:  # noqa: BLE001 - report every part, whatever one of them does
        failure = f'the part failed:\n\n```\n{traceback.format_exc()}```'
        part = {'metrics': {}, 'rows': [], 'notes': [failure]}
        print(part['notes'][0], flush=True)
    part['seconds'] = time.perf_counter() - t0
    print(f'[bench-reliability] {name}: {part["seconds"]:.0f} s', flush=True)
    return part


def table(rows: list) -> str:
    """Markdown table of (what, value) rows."""
    lines = ['| what | value |', '|---|---|']
    lines += [f'| {what} | {value} |' for what, value in rows]
    return '\n'.join(lines)


def targets_table(metrics: dict) -> tuple[str, list]:
    """The targets with what was measured and whether it was met."""
    lines = ['| target | measured | met |', '|---|---|---|']
    verdicts = []
    for key, ok, words in TARGETS:
        value = metrics.get(key)
        met = 'not measured' if value is None else ('yes' if ok(value) else '**no**')
        verdicts.append((key, met))
        lines.append(f'| {words} | {"-" if value is None else fmt(value)} | {met} |')
    return '\n'.join(lines), verdicts


def fmt(value: object) -> str:
    """Numbers as a person reads them."""
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def plot(metrics: dict, path: Path) -> None:
    """Frames lost per transport setting, and service latency p50 / p99 under load."""
    import matplotlib.pyplot as plt

    drops = {k: v for k, v in metrics.items() if 'drop' in k and isinstance(v, (int, float))}
    lat = sorted({k.rsplit('_p', 1)[0] for k in metrics if k.endswith(('_p50_ms', '_p99_ms'))})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    if drops:
        names = list(drops)
        ax.barh(names, [100 * drops[n] for n in names], color='#c0392b')
        ax.axvline(1.0, color='k', ls='--', lw=1, label='target < 1 %')
        ax.legend(loc='lower right', fontsize=8)
    ax.set_xlabel('camera frames lost (%)')
    ax.set_title('large images between two processes on one host')
    ax = axes[1]
    if lat:
        x = range(len(lat))
        ax.bar([i - 0.2 for i in x], [metrics.get(f'{n}_p50_ms', 0) for n in lat], 0.4,
               label='p50')
        ax.bar([i + 0.2 for i in x], [metrics.get(f'{n}_p99_ms', 0) for n in lat], 0.4,
               label='p99')
        ax.set_xticks(list(x))
        ax.set_xticklabels(lat, rotation=20, ha='right', fontsize=8)
        ax.axhline(20.0, color='k', ls='--', lw=1, label='QueryObjects target p99 20 ms')
        ax.legend(fontsize=8)
    ax.set_ylabel('ms (client round trip)')
    ax.set_title('services under load (16 clients, fusion at 5 Hz)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_page(parts: dict, metrics: dict, seconds: float, out: Path) -> None:
    """docs/reliability.md: what was measured, with the command and the commit."""
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or 'unknown'
    targets, _ = targets_table(metrics)
    lines = [
        '# Reliability under load, faults and bad input',
        '',
        'Generated by `make bench-reliability` (`bench/reliability.py`); do not edit by hand.',
        f'Date: {datetime.date.today().isoformat()}, commit {commit}, '
        f'{seconds / 60:.1f} min on this machine (2 cores).',
        '',
        '## Targets',
        '',
        targets,
        '',
        'Plot (written next to the JSON of every number, not committed): '
        '`bench/out/reliability/reliability.png`.',
        '',
    ]
    titles = {'transport': 'Large images on one host', 'fuzz': 'Fuzzing and untrusted text',
              'crash': 'Crashes and damaged memory files', 'load': 'Under load'}
    for name, part in parts.items():
        lines += [f'## {titles.get(name, name)} ({part["seconds"]:.0f} s)', '',
                  table(part['rows']), '']
        lines += [f'- {note}' if not note.startswith('the part failed') else note
                  for note in part['notes']]
        lines.append('')
    lines += ['## RESULT', '', '```', result_line(metrics), '```', '']
    (ROOT / 'docs' / 'reliability.md').write_text('\n'.join(lines))


def result_line(metrics: dict) -> str:
    """The RESULT line: the issue's keys first, then every other metric."""
    keys = list(RESULT_KEYS) + sorted(k for k in metrics if k not in RESULT_KEYS)
    return 'RESULT ' + ' '.join(f'{k}={fmt(metrics[k]) if k in metrics else "nan"}'
                                for k in keys)


def main() -> int:
    """Run the parts, report, regenerate the page (full runs)."""
    apply_loopback_defaults()
    out = ROOT / 'bench' / 'out' / ('reliability_quick' if QUICK else 'reliability')
    out.mkdir(parents=True, exist_ok=True)
    chosen = [p for p in os.environ.get('PARTS', ','.join(PARTS)).split(',') if p]
    t0 = time.perf_counter()
    parts = {name: run_part(name, out) for name in chosen}
    seconds = time.perf_counter() - t0
    metrics: dict = {}
    for part in parts.values():
        metrics.update(part['metrics'])
    for name, part in parts.items():
        print(f'\n### {name} ({part["seconds"]:.0f} s)\n\n{table(part["rows"])}')
        for note in part['notes']:
            print(f'- {note}')
    targets, _ = targets_table(metrics)
    print(f'\n### targets\n\n{targets}')
    plot(metrics, out / 'reliability.png')
    (out / 'reliability.json').write_text(json.dumps(
        {'quick': QUICK, 'seconds': seconds, 'metrics': metrics,
         'parts': {n: {k: v for k, v in p.items()} for n, p in parts.items()}},
        indent=2, default=str) + '\n')
    if not QUICK and tuple(chosen) == PARTS:
        write_page(parts, metrics, seconds, out)
        print('\nwrote docs/reliability.md')
    print(f'\nplot: {out.relative_to(ROOT)}/reliability.png; total {seconds:.0f} s')
    print(result_line(metrics))
    return 0


if __name__ == '__main__':
    sys.exit(main())
