"""`make fleet-demo` / `embodied-memory fleet-demo`: two robots share one memory in one home.

Starts a private PostgreSQL server in a temporary directory (or uses `--dsn`, or the
standard `PG*` variables, in a fresh schema of that database that is dropped afterwards
unless `--keep-schema`), plays a suite episode with robots a and b sharing the memory
(`memory_nodes.evaluation.fleet_episode`: each explores half the rooms, then the tasks
alternate between them), then the same episode with one robot alone, and writes
`OUT/fleet_demo.json` and `OUT/fleet_demo.png`. Prints a table and a last line
`RESULT fleet_success=... single_success=... tasks=... sync_wait_p95_ms=...`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

#: libpq variables that, when set, name a server to use instead of a private one.
PG_VARIABLES = ('PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE', 'PGUSER')


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fleet-demo` to the top-level parser."""
    p = subparsers.add_parser(
        'fleet-demo', help='two robots share one memory (PostgreSQL) in one simulated home')
    p.add_argument('--suite', default='composite', help='task suite (default: composite)')
    p.add_argument('--episode', type=int, default=0, help='episode index in the suite')
    p.add_argument('--out', default='fleet_demo_out', help='directory for the JSON and PNG')
    p.add_argument('--dsn', default=None,
                   help='use this PostgreSQL (libpq DSN) instead of a private server; '
                        'the PG* variables also select one')
    p.add_argument('--keep-schema', action='store_true',
                   help='with --dsn/PG*: keep the demo schema (default: dropped)')
    p.add_argument('--no-single', action='store_true', help='skip the one-robot baseline')
    p.add_argument('--text-embeddings', default='minilm', choices=('minilm', 'hashing'),
                   help='text embedder of both memories (default: minilm)')
    p.set_defaults(func=_run)


@contextmanager
def demo_database(dsn: str | None, keep_schema: bool = False):
    """Yield (DSN, where): a private server's, or a fresh schema in the given database."""
    from memory_nodes.memory.postgres_store import safe_dsn

    if dsn is None and not any(os.environ.get(v) for v in PG_VARIABLES):
        from memory_nodes.fleet.server import PrivateServer

        directory = tempfile.mkdtemp(prefix='emb-fleet-demo-')
        server = PrivateServer(directory)
        try:
            server.start()
            yield server.dsn, f'private server in {directory}'
        finally:
            try:
                server.stop()
            finally:
                shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    base = dsn or ''
    schema = f'em_fleet_demo_{secrets.token_hex(4)}'
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL('CREATE SCHEMA {}').format(sql.Identifier(schema)))
    try:
        yield (make_conninfo(base, options=f'-c search_path={schema}'),
               f'schema {schema} of {safe_dsn(base)}')
    finally:
        if not keep_schema:
            with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL('DROP SCHEMA {} CASCADE').format(sql.Identifier(schema)))


def _table(result) -> list[str]:  # noqa: ANN001 - FleetResult
    """The per-task table, one robot's and the lone robot's results side by side."""
    single = {t.task_id: t for t in result.single.tasks} if result.single else {}
    lines = [f'{"task":<18} {"robot":<5} {"ok":<4} {"expl":>4} {"stale":>5} {"heard ms":>8} '
             f'{"behind":>6}  {"alone":<5} {"expl":>4}  instruction',
             '-' * 100]
    for t in result.tasks:
        alone = single.get(t.task_id)
        lines.append(
            f'{t.task_id:<18} {t.robot:<5} {"yes" if t.success else "NO":<4} '
            f'{t.explorations:>4} {t.stale_hits:>5} {t.sync.wait_ms:>8.1f} '
            f'{t.sync.rows_behind:>6}  '
            f'{("yes" if alone.success else "NO") if alone else "-":<5} '
            f'{alone.explorations if alone else "-":>4}  {t.instruction}')
    return lines


def run_fleet_demo(suite_name: str, episode_index: int, out_dir: str | Path,
                   database: Callable[[], AbstractContextManager[tuple[str, str]]], *,
                   single: bool = True, text_embeddings: str = 'minilm') -> int:
    """Run the fleet demo; `database()` yields (DSN, where) for the shared memory.

    Writes OUT/fleet_demo.json and OUT/fleet_demo.png, prints progress, the table and the
    RESULT line; returns 0 (2 for an episode index the suite does not have).
    """
    from memory_nodes.evaluation.fleet_episode import (
        percentile,
        plot_fleet,
        run_fleet_episode,
        run_single_baseline,
    )
    from sim.pybullet_sim import PyBulletSimulator
    from sim.task_schema import load_suite

    suite = load_suite(suite_name)
    if not 0 <= episode_index < len(suite.episodes):
        print(f'fleet-demo: suite {suite.name} has episodes 0..{len(suite.episodes) - 1}, '
              f'not {episode_index}')
        return 2
    episode = suite.episodes[episode_index]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def say(line: str) -> None:
        print(f'[{time.perf_counter() - t0:6.1f}s] {line}', flush=True)

    sim = PyBulletSimulator()
    try:
        with database() as (dsn, where):
            say(f'shared memory: {where}')
            say(f'{episode.episode_id}: {len(episode.tasks)} tasks, robots a and b')
            result = run_fleet_episode(sim, episode, dsn, progress=say,
                                       text_embeddings=text_embeddings)
            png = plot_fleet(sim, result, out / 'fleet_demo.png')
        if single:
            say(f'{episode.episode_id}: the same tasks, one robot alone (ltm+stm)')
            result.single = run_single_baseline(sim, episode, progress=say,
                                                text_embeddings=text_embeddings)
    finally:
        sim.close()
    doc = result.to_json()
    doc['wall_time_s_total'] = time.perf_counter() - t0
    (out / 'fleet_demo.json').write_text(json.dumps(doc, indent=1))
    print()
    for line in _table(result):
        print(line)
    print()
    for rid in result.robots:
        s = result.stores[rid]
        print(f'robot {rid}: explored {", ".join(result.explored[rid]) or "nothing"}; '
              f'{result.memory_nodes[rid]} nodes; store commits {s["commits"]}, applied '
              f'{s["applied_batches"]} remote batches, write p95 {s["write_ms_p95"]:.0f} ms, '
              f'pending {s["pending_writes"]}')
    for h in result.handoffs:
        print(f'hand-off: robot {h.robot} used {h.object_id}, placed by robot {h.placed_by} '
              f'in {h.placed_in}; known before acting: {"yes" if h.known_before else "no"}')
    print(f'both robots hold the same confirmed objects: {"yes" if result.converged else "NO"} '
          f'({", ".join(f"{r}: {len(ids)}" for r, ids in result.confirmed.items())})')
    print(f'wrote {out / "fleet_demo.json"} and {png}')
    single = f'{result.single.success_rate:.2f}' if result.single else 'nan'
    waits = result.sync_wait_ms()
    print(f'RESULT fleet_success={result.success_rate:.2f} single_success={single} '
          f'tasks={len(episode.tasks)} handoffs={len(result.handoffs)} '
          f'sync_wait_p95_ms={percentile(waits, 95):.1f} '
          f'pending_writes={result.pending_writes}', flush=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    def database():
        return demo_database(args.dsn, args.keep_schema)

    return run_fleet_demo(args.suite, args.episode, args.out, database,
                          single=not args.no_single, text_embeddings=args.text_embeddings)
