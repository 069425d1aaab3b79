"""One process of the load test's client fleet: planners and UIs asking the memory node.

`python -m memory_nodes.evaluation.reliability.load_client --name c0 --threads 1 ...`
starts `threads` clients, each with its own rclpy context (its own DDS participant),
node and executor. Once every client sees the three services it prints `READY` and
waits for a line `GO <seconds>` on stdin; then each client calls a seeded mix of
QueryObjects (label, text, room, near a point, as of a past stamp), GetSceneGraph
(collapsed, full) and RecallStates for that long, one request at a time with an
exponential think time between them, and the process writes every round trip and every
error to `--out` (JSON) and prints `DONE`.

An error is a reply whose error_code is not SUCCESS, a call that timed out, or an
exception; each is counted with its service, kind and message.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Labels the synthetic memory holds (see `load.build_memory`).
LABELS = ('Apple', 'Mug', 'Book', 'Bowl', 'Plate', 'Pen', 'Tomato', 'Spoon', 'Cup', 'Egg')
#: Rooms of the synthetic memory, one per quadrant of its grid.
ROOMS = ('kitchen', 'living room', 'bedroom', 'bathroom')
TEXTS = ('something to drink from', 'a red fruit', 'something to write with',
         'a dish for soup', 'breakfast food', 'a thing to read')
#: Request kinds and their weights (per cent of the requests a client sends).
MIX = (('query_label', 14), ('query_text', 12), ('query_room', 10), ('query_near', 14),
       ('query_as_of', 10), ('scene_collapsed', 14), ('scene_full', 4), ('recall', 22))
SERVICE_OF = {kind: ('query_objects' if kind.startswith('query') else
                     'get_scene_graph' if kind.startswith('scene') else 'recall_states')
              for kind, _ in MIX}


@dataclass
class ClientLog:
    """What one client saw: round trips (ms) per kind, and its errors."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: ClientLog) -> None:
        """Add `other`'s round trips and errors to this log."""
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.errors.extend(other.errors)


def make_request(kind: str, rng: random.Random, grid_m: float) -> Any:  # noqa: ANN401
    """A request of `kind` (see MIX), drawn with `rng`, for a grid of `grid_m` metres."""
    from embodied_memory_msgs.srv import GetSceneGraph, QueryObjects, RecallStates
    from geometry_msgs.msg import Point

    if kind.startswith('query'):
        req = QueryObjects.Request(top_k=rng.choice((1, 5, 10)))
        if kind == 'query_label':
            req.label = rng.choice(LABELS).lower()
        elif kind == 'query_text':
            req.text = rng.choice(TEXTS)
        elif kind == 'query_room':
            req.room = rng.choice(ROOMS)
        elif kind == 'query_near':
            req.use_point = True
            req.near_point = Point(x=rng.uniform(0, grid_m), y=rng.uniform(0, grid_m), z=0.9)
            req.radius = rng.choice((0.0, 0.5, 1.0))
            if req.radius:
                # Within a radius: around a grid point, so something is always there.
                req.near_point.x = round(req.near_point.x / 0.3) * 0.3
                req.near_point.y = round(req.near_point.y / 0.3) * 0.3
        elif kind == 'query_as_of':
            # Where was it a moment ago: the timeline's recent past, still in retention.
            req.label = rng.choice(LABELS).lower()
            stamp = time.time() - rng.uniform(0.5, 5.0)
            req.as_of.sec = int(stamp)
            req.as_of.nanosec = int((stamp - int(stamp)) * 1e9)
        return req
    if kind.startswith('scene'):
        req = GetSceneGraph.Request()
        if kind == 'scene_full':
            req.mode = req.MODE_FULL
        else:
            req.mode = req.MODE_COLLAPSED
            req.token_budget = rng.choice((0, 400, 1200))
            if rng.random() < 0.5:
                req.focus = [rng.choice(LABELS).lower()]
        return req
    req = RecallStates.Request(top_k=rng.choice((0, 5)))
    if rng.random() < 0.5:
        req.instruction = f'bring me the {rng.choice(LABELS).lower()}'
    else:
        req.label = rng.choice(LABELS).lower()
    return req


class Caller:
    """One client: its own context, node, executor and a client per service."""

    def __init__(self, name: str) -> None:
        import rclpy
        from embodied_memory_msgs.srv import GetSceneGraph, QueryObjects, RecallStates
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions

        from memory_nodes.ros.qos import CLIENT_QUEUE_DEPTH, service_qos

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, context=self.ctx)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        # The planner's own queue depth (RosMemoryView): replies to every client reach
        # every client, and a default queue of 10 loses this client's under the others'.
        qos = service_qos(CLIENT_QUEUE_DEPTH)
        self.clients = {
            name: self.node.create_client(srv, name, qos_profile=qos)
            for srv, name in ((QueryObjects, 'query_objects'),
                              (GetSceneGraph, 'get_scene_graph'),
                              (RecallStates, 'recall_states'))}

    def wait_ready(self, timeout: float) -> list[str]:
        """Services not seen within `timeout` s (empty when all are there)."""
        deadline = time.monotonic() + timeout
        missing = list(self.clients)
        while missing and time.monotonic() < deadline:
            missing = [n for n in missing if not self.clients[n].service_is_ready()]
            time.sleep(0.05)
        return missing

    def call(self, service: str, request: Any, timeout: float  # noqa: ANN401
             ) -> tuple[float, Any, str]:
        """(round trip ms, response or None, error text or '') of one request."""
        client = self.clients[service]
        t0 = time.perf_counter()
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        ms = (time.perf_counter() - t0) * 1000.0
        if not future.done():
            client.remove_pending_request(future)
            return ms, None, f'timeout after {timeout} s'
        if future.exception() is not None:
            return ms, None, f'exception: {future.exception()!r}'
        return ms, future.result(), ''

    def run(self, seconds: float, rate_hz: float, seed: int, timeout: float,
            grid_m: float) -> ClientLog:
        """Call the mix for `seconds`, about `rate_hz` requests a second; return the log."""
        rng = random.Random(seed)
        kinds = [k for k, _ in MIX]
        weights = [w for _, w in MIX]
        log = ClientLog()
        end = time.monotonic() + seconds
        time.sleep(rng.uniform(0.0, 1.0 / rate_hz))  # clients out of step from the start
        while time.monotonic() < end:
            kind = rng.choices(kinds, weights)[0]
            service = SERVICE_OF[kind]
            try:
                ms, response, error = self.call(service, make_request(kind, rng, grid_m),
                                                timeout)
            except Exception as exc:  # noqa: BLE001 - counted, the client goes on
                ms, response, error = 0.0, None, f'exception: {exc!r}'
            if response is not None and response.error_code != response.SUCCESS:
                error = f'error_code {response.error_code}: {response.error_msg}'
            if error:
                log.errors.append({'service': service, 'kind': kind, 'error': error,
                                   'ms': round(ms, 3)})
            else:
                log.latencies.setdefault(kind, []).append(round(ms, 4))
            think = rng.expovariate(rate_hz)
            time.sleep(max(0.0, min(think, end - time.monotonic())))
        return log

    def close(self) -> None:
        """Destroy the node and shut the context down."""
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


def _run_threads(callers: list[Caller], job: Callable[[Caller, int], ClientLog]
                 ) -> ClientLog:
    logs: list[ClientLog | None] = [None] * len(callers)

    def work(i: int) -> None:
        try:
            logs[i] = job(callers[i], i)
        except Exception as exc:  # noqa: BLE001 - a dead client thread is an error too
            logs[i] = ClientLog(errors=[{'service': '', 'kind': '',
                                         'error': f'client thread died: {exc!r}', 'ms': 0}])

    threads = [threading.Thread(target=work, args=(i,), daemon=True)
               for i in range(len(callers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = ClientLog()
    for log in logs:
        total.merge(log or ClientLog())
    return total


def main(argv: list[str] | None = None) -> int:
    """Start the clients, wait for GO on stdin, run, write the JSON log."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--name', required=True)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--rate', type=float, default=10.0, help='requests/s per client')
    parser.add_argument('--timeout', type=float, default=5.0, help='per call, s')
    parser.add_argument('--grid', type=float, default=9.0, help='side of the object grid, m')
    parser.add_argument('--ready-timeout', type=float, default=60.0)
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    callers = [Caller(f'{args.name}_{i}') for i in range(args.threads)]
    missing = sorted({m for c in callers for m in c.wait_ready(args.ready_timeout)})
    if missing:
        print(f'NOT READY: services not found: {", ".join(missing)}', flush=True)
        return 2
    print('READY', flush=True)
    line = sys.stdin.readline().split()
    if len(line) != 2 or line[0] != 'GO':
        print(f'expected "GO <seconds>" on stdin, got {line!r}', flush=True)
        return 2
    seconds = float(line[1])
    log = _run_threads(callers, lambda c, i: c.run(seconds, args.rate, args.seed * 1000 + i,
                                                   args.timeout, args.grid))
    Path(args.out).write_text(json.dumps({'name': args.name, 'clients': len(callers),
                                          'latencies': log.latencies,
                                          'errors': log.errors}))
    for caller in callers:
        caller.close()
    print('DONE', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
