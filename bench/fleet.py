"""Fleet memory: robots sharing one home's memory through PostgreSQL (`make bench-fleet`).

Starts its own private PostgreSQL server (`PrivateServer`, Unix socket only) in a
temporary directory and measures:

1. **sync latency**: robots A and B are two processes (`memory_nodes.fleet.
   scripted_robot`: a `RobotMemory` on a `PostgresStore`, listener and writer threads
   running, as the memory node runs them). A fuses frames that confirm a new object; B
   queries its own memory (as its QueryObjects service would) until the object is there.
   Latency: from the end of A's `observe` to B's answer, on `time.monotonic()`.
2. **fusion at 1k objects**, PostgreSQL vs SQLite: ~1,000 confirmed objects preloaded,
   then frames of 20 observations (14 known objects, 6 new) timed around `observe`. With
   PostgreSQL the commit only queues; the writer's queue-to-committed time is reported too.
3. **database-side queries**: a label query and a radius query done in SQL (the store's
   label and (x, y) indexes) against the same query on the robot's in-process graph.
4. **faults**, each with both robots writing confirmed updates (new objects, moves with
   new positions and states, wall-clock stamps): kill -9 of robot A mid-run and a restart
   with the same robot_id; a restart of the server mid-run, then a server crash (SIGKILL,
   start, WAL recovery); the server stopped for 5 s (a network blip). Each update is
   logged by its robot and audited against the store and both robots' graphs
   (`memory_nodes.fleet.faults`); then both robots must converge on the store.

Prints markdown tables, writes bench/out/fleet[_quick]/fleet.png and fleet.json,
regenerates docs/fleet.md (full runs), and ends with `RESULT sync_p50_ms=
sync_p95_ms= fusion_p95_ms_pg_1k= fusion_p95_ms_sqlite_1k= lost_updates= converged= ...`.
`QUICK=1`: fewer samples and shorter fault runs.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault('MPLBACKEND', 'Agg')

from memory_nodes.fleet.faults import (  # noqa: E402
    LogSegment,
    RobotProcess,
    audit,
    converge,
    differences,
)
from memory_nodes.fleet.scripted_robot import box_points  # noqa: E402
from memory_nodes.fleet.server import PrivateServer  # noqa: E402
from memory_nodes.memory.observation import ObjectObservation  # noqa: E402
from memory_nodes.memory.postgres_store import PostgresStore  # noqa: E402
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory  # noqa: E402

QUICK = os.environ.get('QUICK', '') not in ('', '0')
SYNC_SAMPLES = 30 if QUICK else 200
FUSION_FRAMES = 40 if QUICK else 200
OBJECTS = 1000
FRAME = 20
QUERY_REPS = 200 if QUICK else 1000
UPDATES = 120 if QUICK else 300
LABELS = ('mug', 'cup', 'plate', 'bowl', 'apple', 'banana', 'book', 'laptop', 'remote',
          'phone', 'keys', 'wallet', 'pen', 'lamp', 'vase', 'plant', 'clock', 'pillow',
          'towel', 'sponge', 'bottle', 'glass', 'knife', 'fork', 'spoon')
RESULT_KEYS = ('sync_p50_ms', 'sync_p95_ms', 'fusion_p95_ms_pg_1k', 'fusion_p95_ms_sqlite_1k',
               'lost_updates', 'converged')
TARGETS = (
    ('sync_p95_ms', lambda v: v < 200.0, 'a sighting by A visible to B: p95 < 200 ms'),
    ('fusion_p95_ms_pg_1k', lambda v: v < 30.0, 'fusion p95 with PostgreSQL < 30 ms at 1k'),
    ('lost_updates', lambda v: v == 0, '0 acknowledged updates lost over the fault runs'),
    ('converged', lambda v: v == 1, 'both robots converge on the store after every fault'),
)


def log(msg: str) -> None:
    print(msg, flush=True)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float('nan')


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def table(header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(fmt(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


# ---- 1. sync latency ---------------------------------------------------------------
def sync_latency(dsn: str, work: Path) -> dict:
    a = RobotProcess(dsn, 'a', work)
    b = RobotProcess(dsn, 'b', work)
    lat: list[float] = []
    missed = 0
    try:
        for i in range(SYNC_SAMPLES):
            label = f'probe{i}'
            seen: dict = {}
            waiter = threading.Thread(target=lambda lbl=label, got=seen: got.update(
                b.request('wait_label', label=lbl, timeout=5.0)))
            waiter.start()
            time.sleep(0.02)  # B is polling before A sees it
            got = a.request('observe', label=label, pos=[40.0 + (i % 20) * 0.5,
                                                         40.0 + (i // 20) * 0.5, 0.8],
                            stamp=time.time())
            waiter.join()
            if seen.get('t_seen') is None or not got['confirmed']:
                missed += 1
                continue
            lat.append((seen['t_seen'] - got['t_end']) * 1000.0)
        stats_a = a.request('stats')
    finally:
        a.stop()
        b.stop()
    return {'lat': lat, 'missed': missed, 'write_ms_p95_a': stats_a['write_ms_p95']}


# ---- 2. fusion at 1k objects ---------------------------------------------------------
def household(rng: np.random.Generator, n: int) -> list[tuple[str, np.ndarray]]:
    """n objects on a grid of 0.4 m cells over a few rooms: (label, centre)."""
    side = int(np.ceil(np.sqrt(n)))
    return [(LABELS[int(rng.integers(len(LABELS)))],
             np.array([(k % side) * 0.4, (k // side) * 0.4, 0.8])) for k in range(n)]


def frame(objs: list[tuple[str, np.ndarray]], idx: list[int], stamp: float,
          seed: int) -> list[ObjectObservation]:
    return [ObjectObservation(objs[i][0], 0.9,
                              box_points(objs[i][1], (0.12, 0.12, 0.12), seed + j, n=60),
                              stamp) for j, i in enumerate(idx)]


def fusion(mem: RobotMemory, rng: np.random.Generator, extra_pending=None) -> dict:
    """Preload OBJECTS confirmed objects, then time frames of known + new objects."""
    objs = household(rng, OBJECTS + FUSION_FRAMES * 6)
    stamp = 1000.0
    t0 = time.perf_counter()
    for _ in range(2):  # two sightings confirm
        order = list(range(OBJECTS))
        for s in range(0, OBJECTS, FRAME):
            mem.observe(frame(objs, order[s:s + FRAME], stamp, int(stamp)))
            stamp += 0.5
    preload_s = time.perf_counter() - t0
    if extra_pending is not None:
        extra_pending()
    ms: list[float] = []
    fresh = OBJECTS
    for f in range(FUSION_FRAMES):
        known = list(rng.choice(OBJECTS, 14, replace=False))
        idx = known + list(range(fresh, fresh + 6))
        fresh += 6 if f % 2 else 0  # new objects are seen twice: half the frames confirm
        obs = frame(objs, [int(i) for i in idx], stamp, 7 * f)
        t = time.perf_counter()
        mem.observe(obs)
        ms.append((time.perf_counter() - t) * 1000.0)
        stamp += 0.5
    confirmed = sum(1 for n in mem.ltm.graph.nodes.values()
                    if n.layer == 'object' and n.status == 'confirmed')
    return {'ms': ms, 'preload_s': preload_s, 'confirmed': confirmed}


def fusion_pg(srv: PrivateServer) -> tuple[dict, RobotMemory, str]:
    dsn = srv.create_database('fusion')
    mem = RobotMemory(store=PostgresStore(dsn, 'f'), read_replica=True)
    store = mem.shared_store

    def settle() -> None:  # the preload's backlog written; time only the timed frames
        store.flush(60)
        store.sync_ms.clear()
    out = fusion(mem, np.random.default_rng(1), extra_pending=settle)
    store.flush(60)
    st = store.stats()
    out.update(write_ms_p50=st['write_ms_p50'], write_ms_p95=st['write_ms_p95'])
    return out, mem, dsn


def fusion_sqlite(work: Path) -> dict:
    mem = RobotMemory(db_path=work / 'fusion.db', read_replica=True)
    try:
        return fusion(mem, np.random.default_rng(1))
    finally:
        mem.close()


# ---- 3. database-side queries --------------------------------------------------------
def queries(mem: RobotMemory, dsn: str) -> dict:
    import psycopg

    rng = np.random.default_rng(3)
    pts = [(float(x), float(y), 0.8) for x, y in rng.uniform(0, 12, (QUERY_REPS, 2))]
    labels = [LABELS[i % len(LABELS)] for i in range(QUERY_REPS)]
    radius = 1.0
    out: dict = {}
    label_sql = 'SELECT id, x, y, z FROM em_nodes WHERE label = %s AND NOT deleted'
    radius_sql = ('SELECT id, x, y, z FROM em_nodes WHERE NOT deleted AND x BETWEEN %s AND %s '
                  'AND y BETWEEN %s AND %s AND (x - %s) ^ 2 + (y - %s) ^ 2 + (z - %s) ^ 2 '
                  '<= %s')
    with psycopg.connect(dsn) as conn:
        conn.execute('ANALYZE em_nodes')
        plans = {}
        for name, sql, args in (
                ('label', label_sql, ('mug',)),
                ('radius', radius_sql, (1, 3, 1, 3, 2, 2, 0.8, 1.0))):
            plan = ' '.join(r[0] for r in conn.execute('EXPLAIN ' + sql, args))
            plans[name] = ('index' if 'Index' in plan else 'sequential scan')
        for name, run in (
                ('sql_label', lambda i: conn.execute(label_sql, (labels[i],)).fetchall()),
                ('sql_radius', lambda i: conn.execute(radius_sql, (
                    pts[i][0] - radius, pts[i][0] + radius, pts[i][1] - radius,
                    pts[i][1] + radius, *pts[i], radius * radius)).fetchall())):
            ms = []
            for i in range(QUERY_REPS):
                t = time.perf_counter()
                rows = run(i)
                ms.append((time.perf_counter() - t) * 1000.0)
            out[name] = ms
            out[name + '_rows'] = len(rows)
    for name, make in (
            ('graph_label', lambda i: ObjectQuery(label=labels[i], top_k=0)),
            ('graph_radius', lambda i: ObjectQuery(near_point=pts[i], radius=radius,
                                                   top_k=0))):
        ms = []
        for i in range(QUERY_REPS):
            q = make(i)
            t = time.perf_counter()
            mem.query(q)
            ms.append((time.perf_counter() - t) * 1000.0)
        out[name] = ms
    out['plans'] = plans
    return out


# ---- 4. faults -------------------------------------------------------------------------
def fault_run(srv: PrivateServer, name: str, work: Path, fault) -> dict:
    """Two robots writing updates; `fault(robots, segments)` strikes mid-run."""
    dsn = srv.create_database(f'fault_{name}')
    work = work / name
    work.mkdir(parents=True, exist_ok=True)
    robots = {'a': RobotProcess(dsn, 'a', work), 'b': RobotProcess(dsn, 'b', work)}
    segments = {'a': [LogSegment(work / 'a0.log')], 'b': [LogSegment(work / 'b0.log')]}
    robots['a'].request('updates', n=UPDATES, log=str(segments['a'][0].path), seed=1, x0=0.0)
    robots['b'].request('updates', n=UPDATES, log=str(segments['b'][0].path), seed=2, x0=25.0)
    t0 = time.monotonic()
    info = fault(robots, segments, dsn, work) or {}
    for r in robots.values():
        got = r.request('wait_updates', timeout=300)
        if got['failure']:
            info.setdefault('failures', []).append(f'{r.robot_id}: {got["failure"]}')
    ok, dumps, conv_s = converge(list(robots.values()), dsn, timeout=30.0)
    seconds = time.monotonic() - t0
    result = audit(segments['a'] + segments['b'], dsn, dumps)
    info.update(converged=ok, converge_s=conv_s, seconds=seconds, updates=result.updates,
                lost=result.lost_updates, queued_at_kill=result.queued_at_kill,
                queued_lost=len(result.queued_lost), superseded=result.superseded,
                objects=len(dumps[0]) if dumps else 0,
                differences=differences(dumps[0], dumps[1]) if len(dumps) == 2 else [],
                lost_examples=result.lost[:3])
    for r in robots.values():
        r.stop()
    return info


def kill_robot(robots, segments, dsn, work) -> dict:
    time.sleep(4.0 if not QUICK else 2.0)
    robots['a'].kill9()
    segments['a'][0].killed = True
    before = {json.loads(line)['id'] for line in segments['a'][0].path.read_text().splitlines()
              if '"kind": "new"' in line}
    t = time.monotonic()
    again = RobotProcess(dsn, 'a', work)
    restart_s = time.monotonic() - t
    robots['a'] = again
    seg = LogSegment(work / 'a1.log')
    segments['a'].append(seg)
    again.request('updates', n=UPDATES // 2, log=str(seg.path), seed=3, x0=50.0)
    again.request('wait_updates', timeout=300)
    after = {json.loads(line)['id'] for line in seg.path.read_text().splitlines()
             if '"kind": "new"' in line}
    return {'restart_s': restart_s, 'loaded_nodes': again.ready['nodes'],
            'ids_reused': len(before & after)}


def restart_server(robots, segments, dsn, work) -> dict:
    time.sleep(2.0 if not QUICK else 1.0)
    srv = SERVER
    t = time.monotonic()
    srv.restart()
    restart_s = time.monotonic() - t
    time.sleep(2.0 if not QUICK else 1.0)
    t = time.monotonic()
    srv.kill()
    srv.start()
    return {'restart_s': restart_s, 'crash_recovery_s': time.monotonic() - t}


def blip(robots, segments, dsn, work) -> dict:
    time.sleep(2.0 if not QUICK else 1.0)
    SERVER.stop()
    time.sleep(2.5)
    during = robots['a'].request('stats')
    time.sleep(2.5)
    SERVER.start()
    return {'pending_during': during['pending_writes'], 'error_during': during['write_error']}


SERVER: PrivateServer


# ---- report --------------------------------------------------------------------------
def plot(sync: dict, fus: dict, q: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    if sync['lat']:
        ax.hist(sync['lat'], bins=30, color='#2980b9')
        ax.axvline(200.0, color='k', ls='--', lw=1, label='target p95 200 ms')
        ax.axvline(pct(sync['lat'], 95), color='#c0392b', lw=1, label='p95')
        ax.legend(fontsize=8)
    ax.set_xlabel('ms from A fusing to B answering')
    ax.set_title(f'sync latency ({len(sync["lat"])} sightings)')
    ax = axes[1]
    names = ['pg', 'sqlite']
    ax.bar([0, 1], [pct(fus[n]['ms'], 50) for n in names], 0.35, label='p50')
    ax.bar([0.35, 1.35], [pct(fus[n]['ms'], 95) for n in names], 0.35, label='p95')
    ax.set_xticks([0.17, 1.17])
    ax.set_xticklabels(['PostgreSQL', 'SQLite'])
    ax.axhline(30.0, color='k', ls='--', lw=1, label='target 30 ms')
    ax.set_ylabel('ms per 20-observation frame')
    ax.set_title(f'fusion at {OBJECTS} objects')
    ax.legend(fontsize=8)
    ax = axes[2]
    kinds = ['sql_label', 'graph_label', 'sql_radius', 'graph_radius']
    ax.bar(range(4), [pct(q[k], 50) for k in kinds], 0.4, label='p50')
    ax.bar([i + 0.4 for i in range(4)], [pct(q[k], 95) for k in kinds], 0.4, label='p95')
    ax.set_xticks([i + 0.2 for i in range(4)])
    ax.set_xticklabels(kinds, rotation=15, fontsize=8)
    ax.set_ylabel('ms')
    ax.set_title('queries at 1k objects: SQL vs in-process graph')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def result_line(metrics: dict) -> str:
    keys = list(RESULT_KEYS) + sorted(k for k in metrics if k not in RESULT_KEYS)
    return 'RESULT ' + ' '.join(f'{k}={fmt(metrics[k]) if k in metrics else "nan"}'
                                for k in keys)


def targets_table(metrics: dict) -> str:
    rows = []
    for key, ok, words in TARGETS:
        value = metrics.get(key)
        met = 'not measured' if value is None else ('yes' if ok(value) else '**no**')
        rows.append((words, '-' if value is None else value, met))
    return table(('target', 'measured', 'met'), rows)


def main() -> int:
    global SERVER
    out = ROOT / 'bench' / 'out' / ('fleet_quick' if QUICK else 'fleet')
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='emb-fleet-bench-'))
    pgdir = tempfile.mkdtemp(prefix='emb-fleet-pg-')
    SERVER = PrivateServer(pgdir, fsync=False)
    t_all = time.perf_counter()
    metrics: dict = {}
    sections: list[str] = []
    try:
        SERVER.start()
        log(f'[bench-fleet] server up ({SERVER.timings})')
        # 1
        log(f'[bench-fleet] sync latency, {SYNC_SAMPLES} sightings ...')
        sync = sync_latency(SERVER.create_database('sync'), work)
        metrics.update(sync_p50_ms=pct(sync['lat'], 50), sync_p95_ms=pct(sync['lat'], 95),
                       sync_max_ms=max(sync['lat'], default=float('nan')),
                       sync_missed=sync['missed'])
        sections.append('## Sync latency\n\n' + table(
            ('sightings', 'missed (> 5 s)', 'p50 ms', 'p95 ms', 'max ms'),
            [(len(sync['lat']), sync['missed'], metrics['sync_p50_ms'],
              metrics['sync_p95_ms'], metrics['sync_max_ms'])]) +
            '\n\nRobot A fuses two frames that confirm a new object (its commit is queued '
            'and written by the writer thread, which notifies); robot B, another process, '
            "queries its own memory every 0.5 ms. Measured from the end of A's second "
            "`observe` to B's first answer with the object (`time.monotonic()`, one "
            'machine). B learns through `LISTEN/NOTIFY` (the 1 s poll is only the '
            'fallback for a lost notification).')
        log(sections[-1])
        # 2 + 3
        log(f'[bench-fleet] fusion at {OBJECTS} objects, PostgreSQL ...')
        fpg, mem, fdsn = fusion_pg(SERVER)
        log('[bench-fleet] queries: SQL vs in-process graph ...')
        q = queries(mem, fdsn)
        mem.close()
        log('[bench-fleet] fusion, SQLite ...')
        fsq = fusion_sqlite(work)
        fus = {'pg': fpg, 'sqlite': fsq}
        metrics.update(
            fusion_p50_ms_pg_1k=pct(fpg['ms'], 50), fusion_p95_ms_pg_1k=pct(fpg['ms'], 95),
            fusion_p50_ms_sqlite_1k=pct(fsq['ms'], 50),
            fusion_p95_ms_sqlite_1k=pct(fsq['ms'], 95),
            write_ms_p50_pg_1k=fpg['write_ms_p50'], write_ms_p95_pg_1k=fpg['write_ms_p95'])
        sections.append(f'## Fusion at {OBJECTS} objects\n\n' + table(
            ('store', 'confirmed objects', 'frames timed', 'observe p50 ms', 'observe p95 ms',
             'queued -> committed p50 ms', 'queued -> committed p95 ms', 'preload s'),
            [('PostgreSQL', fpg['confirmed'], len(fpg['ms']), metrics['fusion_p50_ms_pg_1k'],
              metrics['fusion_p95_ms_pg_1k'], fpg['write_ms_p50'], fpg['write_ms_p95'],
              fpg['preload_s']),
             ('SQLite', fsq['confirmed'], len(fsq['ms']), metrics['fusion_p50_ms_sqlite_1k'],
              metrics['fusion_p95_ms_sqlite_1k'], '- (in observe)', '- (in observe)',
              fsq['preload_s'])]) +
            f'\n\nFrames of {FRAME} observations (14 known objects, 6 new) on a '
            '`RobotMemory` with a read replica, as the memory node runs it. With '
            'PostgreSQL `observe` serializes the changes and queues them; the writer thread '
            'sends them in one transaction (queued -> committed is that wait plus the '
            "transaction, over the timed frames' commits). With SQLite the "
            'transaction is inside `observe`.')
        log(sections[-1])
        for k in ('sql_label', 'sql_radius', 'graph_label', 'graph_radius'):
            metrics[f'{k}_query_ms'] = pct(q[k], 50)
            metrics[f'{k}_query_p95_ms'] = pct(q[k], 95)
        sections.append(f'## Queries at {OBJECTS} objects: in the database or in the graph\n\n'
                        + table(('query', 'where', 'p50 ms', 'p95 ms', 'plan'), [
                            ('label', 'SQL (em_nodes_label index)', pct(q['sql_label'], 50),
                             pct(q['sql_label'], 95), q['plans']['label']),
                            ('label', 'in-process graph', pct(q['graph_label'], 50),
                             pct(q['graph_label'], 95), 'label index (dict)'),
                            ('radius 1 m', 'SQL (em_nodes_xy index)', pct(q['sql_radius'], 50),
                             pct(q['sql_radius'], 95), q['plans']['radius']),
                            ('radius 1 m', 'in-process graph', pct(q['graph_radius'], 50),
                             pct(q['graph_radius'], 95), 'spatial grid')]) +
                        '\n\nThe SQL side is the round trip over the Unix socket with the '
                        'rows returned (no scoring); the graph side is the whole '
                        '`RobotMemory.query` (filter, score, rank). The memory answers from '
                        'its in-process graph: every robot holds the whole graph anyway '
                        '(fusion needs it), the graph answers while the server is down, and '
                        'it is faster than a round trip to the database. The indexes serve '
                        "tools that read the database directly (and the store's own "
                        'change fetch uses the change_seq index).')
        log(sections[-1])
        # 4
        faults = {}
        runs = (('robot_kill9', kill_robot), ('server_restart_and_crash', restart_server),
                ('server_down_5s', blip))
        for name, fault in runs:
            log(f'[bench-fleet] fault: {name} ...')
            faults[name] = fault_run(SERVER, name, work, fault)
            log(json.dumps(faults[name], default=str))
        metrics['lost_updates'] = sum(f['lost'] for f in faults.values())
        metrics['converged'] = int(all(f['converged'] for f in faults.values()))
        metrics['queued_lost_on_kill'] = sum(f['queued_lost'] for f in faults.values())
        metrics['fault_updates'] = sum(f['updates'] for f in faults.values())
        metrics['ids_reused'] = faults['robot_kill9']['ids_reused']
        metrics['converge_s_max'] = max(f['converge_s'] for f in faults.values())
        rows = [(name, f['updates'], f['lost'], f['queued_at_kill'], f['queued_lost'],
                 f['superseded'], f['objects'], 'yes' if f['converged'] else '**no**',
                 f['converge_s'], f['seconds']) for name, f in faults.items()]
        crash = faults['server_restart_and_crash']
        notes = [
            f'robot_kill9: robot A restarted in {faults["robot_kill9"]["restart_s"]:.2f} s '
            f'with {faults["robot_kill9"]["loaded_nodes"]} nodes loaded from the store; '
            f'{faults["robot_kill9"]["ids_reused"]} ids of its earlier objects reused.',
            f'server_restart_and_crash: restart took {crash["restart_s"]:.2f} s, crash '
            f'recovery (SIGKILL, start, WAL replay) {crash["crash_recovery_s"]:.2f} s.',
            f'server_down_5s: 2.5 s into the outage robot A had '
            f'{faults["server_down_5s"]["pending_during"]} writes queued, write_error '
            f'"{faults["server_down_5s"]["error_during"][:90]}".',
            "queued at kill: updates logged after the killed robot's last acknowledgement "
            '(its queue lives in its process, so a SIGKILL loses what was still queued: by '
            'design, counted apart from lost_updates, which counts acknowledged updates, '
            'and every update of a robot that was not killed).',
            'superseded: updates overridden in the store by newer evidence (rule 1), kept.',
        ]
        for name, f in faults.items():
            for what in ('differences', 'lost_examples', 'failures'):
                if f.get(what):
                    notes.append(f'{name} {what}: {f[what]}')
        sections.append('## Faults\n\n' + table(
            ('fault', 'updates', 'lost', 'queued at kill', 'queued and lost', 'superseded',
             'confirmed objects', 'converged', 'converge s', 'run s'), rows) + '\n\n'
            + '\n'.join(f'- {n}' for n in notes))
        log(sections[-1])
    finally:
        SERVER.stop()
        shutil.rmtree(pgdir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - t_all
    metrics['wall_s'] = seconds
    targets = targets_table(metrics)
    log('\n## Targets\n\n' + targets)
    plot(sync, fus, q, out / 'fleet.png')
    (out / 'fleet.json').write_text(json.dumps(
        {'quick': QUICK, 'seconds': seconds, 'metrics': metrics, 'faults': faults,
         'sync_ms': sync['lat'], 'fusion_ms': {k: v['ms'] for k, v in fus.items()}},
        indent=2, default=str) + '\n')
    line = result_line(metrics)
    if not QUICK:
        write_page(sections, targets, line, seconds)
        log('\nwrote docs/fleet.md')
    log(f'\nplot: {(out / "fleet.png").relative_to(ROOT)}; total {seconds:.0f} s')
    log(line)
    return 0


def write_page(sections: list[str], targets: str, line: str, seconds: float) -> None:
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or 'unknown'
    text = '\n'.join([
        '# Fleet memory: robots sharing one memory through PostgreSQL',
        '',
        'Generated by `make bench-fleet` (`bench/fleet.py`); do not edit by hand.',
        f'Date: {datetime.date.today().isoformat()}, commit {commit}, '
        f'{seconds / 60:.1f} min on this machine (2 cores), a private PostgreSQL 15 server '
        'on a Unix socket (fsync off: the faults are process crashes).',
        '',
        '## Targets',
        '',
        targets,
        '',
        'Plot (not committed): `bench/out/fleet/fleet.png`; every number: '
        '`bench/out/fleet/fleet.json`.',
        '',
        *[s + '\n' for s in sections],
        '## RESULT',
        '',
        '```',
        line,
        '```',
        '',
    ])
    (ROOT / 'docs' / 'fleet.md').write_text(text)


if __name__ == '__main__':
    sys.exit(main())
