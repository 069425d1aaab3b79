"""A robot's memory on the shared store, driven line by line: the fleet's fault harness.

`python -m memory_nodes.fleet.scripted_robot --dsn DSN --robot-id a` runs one
`RobotMemory` on a `PostgresStore` with its listener and writer threads running, as the
memory node does, and answers one JSON request per stdin line with one JSON line on
stdout (the first line is `{"ready": ...}`). The fleet benchmark and the fault tests
start two of them, kill them with SIGKILL, and stop the server under them.

Requests (`op` plus arguments):

- `observe` label, pos, size, stamp, frames: fuse `frames` one-object frames (a new object
  is confirmed after two); answers the node id and `t_end`, `time.monotonic()` when the
  last `observe` returned (comparable between processes on one machine).
- `wait_label` label, timeout: query the memory (as a service does) until an object of
  that label is there; answers `t_seen` (monotonic) and its id.
- `updates` n, log, seed, x0, period_s, move_every: start writing `n` confirmed updates in
  a thread: new objects (fused from frames) and moves (a state change with a new position
  and state) of known objects, with wall-clock stamps (increasing across robots). Each
  update is appended to `log` as a JSON line once `observe`/`record` returned (its commit
  is queued); `{"ack": k}` lines record that every update up to k had been written to the
  server (nothing was queued any more).
- `wait_updates` timeout: wait for the updates thread; answers how many were written.
- `flush` timeout, `stats`, `dump` (every confirmed object: id, label, position, states,
  status), `quit`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from typing import Any

import numpy as np

from memory_nodes.memory.observation import ObjectObservation
from memory_nodes.memory.postgres_store import PostgresStore
from memory_nodes.memory.robot_memory import ObjectQuery, RobotMemory
from memory_nodes.memory.state_change import StateChange

#: Labels of the objects the updates create (one per object, so none merge by accident).
LABELS = ('mug', 'book', 'apple', 'remote', 'cup', 'bowl', 'keys', 'phone', 'plate', 'pen')
#: Decimals positions are compared at (the store keeps float64, the graph float64).
ROUND = 4


def box_points(center: Any, size: Any, seed: int, n: int = 120) -> np.ndarray:
    """Points on the surface of a box, as a depth camera sees an object."""
    rng = np.random.default_rng(seed)
    s = np.asarray(size, dtype=float)
    p = rng.uniform(-0.5, 0.5, (n, 3)) * s
    ax = rng.integers(0, 3, n)
    p[np.arange(n), ax] = rng.choice([-0.5, 0.5], n) * s[ax]
    return np.asarray(center, dtype=float) + p


def confirmed_objects(mem: RobotMemory) -> dict[str, dict[str, Any]]:
    """Every confirmed object of `mem`: id -> label, position, states, status."""
    with mem.lock:
        return {n.id: {'label': n.label,
                       'position': [round(float(v), ROUND) for v in n.position[:3]],
                       'states': {k: v for k, v in sorted(n.states.items())},
                       'status': n.status}
                for n in mem.ltm.graph.nodes.values()
                if n.layer == 'object' and n.status == 'confirmed'}


class ScriptedRobot:
    """One robot's shared memory and the requests it answers."""

    def __init__(self, dsn: str, robot_id: str, poll_s: float) -> None:
        self.robot_id = robot_id
        self.store = PostgresStore(dsn, robot_id, poll_s=poll_s, retry_s=0.5)
        self.mem = RobotMemory(store=self.store, read_replica=True)
        self.log = None
        self.thread: threading.Thread | None = None
        self.written = 0
        self.error = ''

    # ---- requests ------------------------------------------------------------------
    def observe(self, label: str, pos: list[float], stamp: float,
                size: list[float] | None = None, frames: int = 2) -> dict[str, Any]:
        """Fuse `frames` frames of one object; its id (once confirmed) and t_end."""
        size = size or [0.12, 0.12, 0.12]
        report = None
        for k in range(frames):
            seed = int(stamp * 1000) % 100_000 + k
            obs = ObjectObservation(label, 0.9, box_points(pos, size, seed), stamp + 0.01 * k)
            report = self.mem.observe([obs])
        t_end = time.monotonic()
        assert report is not None
        nid = (report.associations or [''])[0]
        node = self.mem.ltm.get(nid)
        return {'id': nid, 't_end': t_end,
                'confirmed': node is not None and node.status == 'confirmed'}

    def wait_label(self, label: str, timeout: float = 5.0) -> dict[str, Any]:
        """Query until an object labelled `label` is known; when, and its id."""
        deadline = time.monotonic() + timeout
        q = ObjectQuery(label=label, top_k=1)
        while True:
            hits = self.mem.query(q)
            now = time.monotonic()
            if hits:
                return {'t_seen': now, 'id': hits[0].node.id}
            if now > deadline:
                return {'t_seen': None, 'id': ''}
            time.sleep(0.0005)

    def updates(self, n: int, log: str, seed: int = 0, x0: float = 0.0,
                period_s: float = 0.02, move_every: int = 2) -> dict[str, Any]:
        """Start writing `n` updates in a thread (see the module docstring)."""
        self.log = open(log, 'a', buffering=1)  # noqa: SIM115 - closed at the end of the run
        self.thread = threading.Thread(target=self._update_loop, daemon=True,
                                       args=(n, seed, x0, period_s, move_every))
        self.thread.start()
        return {'started': n}

    def _update_loop(self, n: int, seed: int, x0: float, period_s: float,
                     move_every: int) -> None:
        rng = np.random.default_rng(seed)
        log = self.log
        assert log is not None
        try:
            for k in range(n):
                if k and self.store.pending_writes == 0:  # the writer caught up
                    log.write(json.dumps({'ack': k - 1, 'robot': self.robot_id}) + '\n')
                stamp = time.time()
                # Positions never repeat (a grid walked by k) and never meet another
                # robot's (x0 apart): objects merge only when a robot means them to.
                pos = [x0 + (k % 40) * 0.5, 1.0 + (k // 40) * 0.5, 0.8]
                known = sorted(confirmed_objects(self.mem))
                if known and k % move_every == 1:
                    nid = known[int(rng.integers(len(known)))]
                    label = self.mem.ltm.get(nid).label
                    states = {'open': bool(k % 4 == 1)}
                    self.mem.record(StateChange(label, stamp, nid, position=tuple(pos),
                                                states=states,
                                                changed=['position', 'open']))
                    entry = {'k': k, 'kind': 'move', 'id': nid, 'pos': pos, 'stamp': stamp,
                             'states': states}
                else:
                    label = LABELS[k % len(LABELS)]
                    got = self.observe(label, pos, stamp)
                    if not got['confirmed']:
                        raise RuntimeError(f'update {k}: a new {label} was not confirmed')
                    entry = {'k': k, 'kind': 'new', 'id': got['id'], 'label': label,
                             'pos': pos, 'stamp': stamp}
                entry['robot'] = self.robot_id
                log.write(json.dumps(entry) + '\n')
                if self.store.pending_writes == 0:
                    log.write(json.dumps({'ack': k, 'robot': self.robot_id}) + '\n')
                self.written = k + 1
                time.sleep(period_s)
        except Exception as exc:  # noqa: BLE001 - reported to the driver, not lost
            self.error = f'{type(exc).__name__}: {exc}'

    def wait_updates(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait for the updates thread; how many were written (and why it stopped)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return {'written': self.written, 'failure': self.error,
                'running': self.thread is not None and self.thread.is_alive()}

    def flush(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until every queued write is in the store; then log the last ack."""
        ok = self.store.flush(timeout)
        if ok and self.log is not None and self.written:
            self.log.write(json.dumps({'ack': self.written - 1, 'robot': self.robot_id})
                           + '\n')
        return {'flushed': ok, 'pending_writes': self.store.pending_writes}

    def stats(self) -> dict[str, Any]:
        """The store's statistics."""
        return self.store.stats()

    def dump(self) -> dict[str, Any]:
        """Every confirmed object, and the store's change cursor."""
        return {'objects': confirmed_objects(self.mem), 'cursor': self.store.cursor,
                'id_counter': self.mem.ltm.graph.id_counter}

    def close(self) -> None:
        """Flush what can be flushed and close the memory."""
        self.mem.close()
        if self.log is not None:
            self.log.close()


def main(argv: list[str] | None = None) -> int:
    """Answer requests from stdin until `quit` or end of input."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--dsn', required=True, help='libpq connection string')
    parser.add_argument('--robot-id', required=True)
    parser.add_argument('--poll-s', type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    robot = ScriptedRobot(args.dsn, args.robot_id, args.poll_s)
    out = sys.stdout

    def answer(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + '\n')
        out.flush()

    answer({'ready': True, 'robot_id': args.robot_id, 'nodes': len(robot.mem.ltm.graph.nodes),
            'id_counter': robot.mem.ltm.graph.id_counter})
    ops = {'observe': robot.observe, 'wait_label': robot.wait_label,
           'updates': robot.updates, 'wait_updates': robot.wait_updates,
           'flush': robot.flush, 'stats': robot.stats, 'dump': robot.dump}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.pop('op')
            if op == 'quit':
                break
            if op not in ops:
                raise ValueError(f'unknown op {op!r}: one of {", ".join(ops)}, quit')
            answer(ops[op](**req))
        except Exception as exc:  # noqa: BLE001 - a bad request is answered, not fatal
            answer({'error': f'{type(exc).__name__}: {exc}'})
    robot.close()
    answer({'closed': True})
    return 0


if __name__ == '__main__':
    sys.exit(main())
