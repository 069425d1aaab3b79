"""Drive scripted robots through faults and audit what the shared memory kept.

`RobotProcess` starts `scripted_robot` as a child process and sends it requests;
`audit` reads the robots' update logs and checks each update against the store and the
robots' graphs:

- an update is **kept** when the store (or a robot's graph) holds it or newer evidence:
  a new object is there with its label and first sighting; a move is there, or the
  object carries a later stamp (newer evidence wins, so an older move is overridden,
  not lost);
- an update is **lost** when it is not kept although its robot had it written (an
  `ack` line at or after it, or the robot was not killed: everything queued was sent);
- an update still queued when its robot was killed with SIGKILL is **queued-lost** when
  missing: the queue lives in the robot's process, so a SIGKILL loses it by design.

`converged` holds when both robots' confirmed objects (ids, labels, positions, states,
status) equal each other and the store's.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_nodes.fleet.scripted_robot import ROUND

ROOT = Path(__file__).resolve().parents[2]
#: Seconds two stamps may differ and still be the same update.
STAMP_EPS = 1e-6
#: Metres two positions may differ and still be the same place.
POS_EPS = 2e-3


class RobotProcess:
    """A `scripted_robot` child process: requests in, answers out (one JSON line each)."""

    def __init__(self, dsn: str, robot_id: str, workdir: Path, poll_s: float = 1.0,
                 env: dict[str, str] | None = None, ready_timeout: float = 60.0) -> None:
        self.robot_id = robot_id
        env = dict(env if env is not None else os.environ)
        env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
        env['PYTHONUNBUFFERED'] = '1'
        workdir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / f'robot_{robot_id}_{time.time_ns()}.err'
        self._stderr = open(self.stderr_path, 'w')  # noqa: SIM115 - closed in stop/kill9
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'memory_nodes.fleet.scripted_robot', '--dsn', dsn,
             '--robot-id', robot_id, '--poll-s', str(poll_s)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self._next(ready_timeout)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f'robot {self.robot_id} did not answer within {timeout} s; '
                               f'stderr: {self.stderr()}') from None
        if line is None:
            raise RuntimeError(f'robot {self.robot_id} exited ({self.proc.poll()}); '
                               f'stderr: {self.stderr()}')
        return json.loads(line)

    def stderr(self, tail: int = 2000) -> str:
        """The end of the child's stderr."""
        try:
            return self.stderr_path.read_text()[-tail:]
        except OSError:
            return ''

    def request(self, op: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        """Send one request; its answer (raises on an error answer)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({'op': op, **args}) + '\n')
        self.proc.stdin.flush()
        got = self._next(timeout)
        if 'error' in got:
            raise RuntimeError(f'robot {self.robot_id} {op}: {got["error"]}')
        return got

    def kill9(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._stderr.close()

    def stop(self, timeout: float = 60.0) -> int:
        """Ask it to quit (it flushes and closes); kill it when it does not."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"op": "quit"}\n')
            self.proc.stdin.flush()
            self.proc.stdin.close()
            rc = self.proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            rc = self.proc.wait(10)
        self._stderr.close()
        return rc


@dataclass
class LogSegment:
    """One robot process's update log, and whether the process was SIGKILLed."""

    path: Path
    killed: bool = False


@dataclass
class Audit:
    """What the audit found."""

    updates: int = 0
    lost: list[dict[str, Any]] = field(default_factory=list)
    queued_at_kill: int = 0
    queued_lost: list[dict[str, Any]] = field(default_factory=list)
    superseded: int = 0

    @property
    def lost_updates(self) -> int:
        """Updates acknowledged (or sent by a robot that was not killed) and missing."""
        return len(self.lost)


def read_log(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The updates of one log, and the highest `k` acknowledged (-1: none)."""
    updates, ack = [], -1
    if not path.exists():
        return updates, ack
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by SIGKILL
        if 'ack' in entry:
            ack = max(ack, int(entry['ack']))
        else:
            updates.append(entry)
    return updates, ack


def store_nodes(dsn: str) -> dict[str, dict[str, Any]]:
    """Every object row of the store: id -> label, position, states, status, stamps."""
    import psycopg

    out = {}
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        for nid, data, x, y, z, ev, deleted, into in conn.execute(
                'SELECT id, data, x, y, z, evidence, deleted, merged_into FROM em_nodes'):
            d = json.loads(data)
            if d.get('layer') != 'object':
                continue
            out[nid] = {'label': d['label'],
                        'position': [round(float(v), ROUND) for v in (x, y, z)],
                        'states': {k: v for k, v in sorted(d.get('states', {}).items())},
                        'status': d['status'], 'first_seen': float(d['first_seen']),
                        'evidence': float(ev), 'deleted': bool(deleted),
                        'merged_into': into}
    return out


def store_confirmed(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The store's confirmed live objects, as a robot's `dump` lists them."""
    keys = ('label', 'position', 'states', 'status')
    return {nid: {k: row[k] for k in keys} for nid, row in nodes.items()
            if not row['deleted'] and row['status'] == 'confirmed'}


def _close(a: list[float], b: list[float]) -> bool:
    return all(abs(float(x) - float(y)) <= POS_EPS for x, y in zip(a, b, strict=True))


def _kept(update: dict[str, Any], row: dict[str, Any] | None,
          graphs: list[dict[str, dict[str, Any]]]) -> tuple[bool, bool]:
    """(kept, superseded) for one update against its stored row and the graphs."""
    nid = update['id']
    if update['kind'] == 'new':
        if (row is not None and not row['deleted'] and row['label'] == update['label']
                and abs(row['first_seen'] - update['stamp']) < 1e-3):
            return True, False
        return any(nid in g and g[nid]['label'] == update['label'] for g in graphs), False
    if row is not None and not row['deleted']:
        if row['evidence'] > update['stamp'] + STAMP_EPS:
            return True, True
        if abs(row['evidence'] - update['stamp']) <= STAMP_EPS:
            return _close(row['position'], update['pos']), False
    return any(nid in g and _close(g[nid]['position'], update['pos']) for g in graphs), False


def audit(segments: list[LogSegment], dsn: str,
          graphs: list[dict[str, dict[str, Any]]]) -> Audit:
    """Check every logged update against the store and the robots' graphs."""
    rows = store_nodes(dsn)
    result = Audit()
    for seg in segments:
        updates, ack = read_log(seg.path)
        for update in updates:
            result.updates += 1
            kept, superseded = _kept(update, rows.get(update['id']), graphs)
            result.superseded += int(kept and superseded)
            queued = seg.killed and update['k'] > ack
            result.queued_at_kill += int(queued)
            if kept:
                continue
            (result.queued_lost if queued else result.lost).append(update)
    return result


def converge(robots: list[RobotProcess], dsn: str, timeout: float = 20.0
             ) -> tuple[bool, list[dict[str, dict[str, Any]]], float]:
    """Flush every robot, then wait until their confirmed objects equal the store's.

    Returns (converged, the robots' last dumps, seconds it took).
    """
    t0 = time.monotonic()
    for robot in robots:
        robot.request('flush', timeout=timeout + 30)
    dumps: list[dict[str, dict[str, Any]]] = []
    while True:
        stored = store_confirmed(store_nodes(dsn))
        dumps = [robot.request('dump')['objects'] for robot in robots]
        if all(d == stored for d in dumps):
            return True, dumps, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return False, dumps, time.monotonic() - t0
        time.sleep(0.2)


def differences(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]],
                limit: int = 5) -> list[str]:
    """Where two object maps differ, in words (for reports and test messages)."""
    out = [f'{nid}: only in the first' for nid in sorted(set(a) - set(b))]
    out += [f'{nid}: only in the second' for nid in sorted(set(b) - set(a))]
    out += [f'{nid}: {a[nid]} != {b[nid]}' for nid in sorted(set(a) & set(b))
            if a[nid] != b[nid]]
    return out[:limit]
