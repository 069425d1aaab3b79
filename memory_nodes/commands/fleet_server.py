"""`embodied-memory fleet-server DIR [--port P]`: run a private PostgreSQL server until Ctrl-C.

For a small fleet without a database administrator: the server lives in DIR (created, and
initialised on first use), listens on its Unix socket only (or also on 127.0.0.1:P), and
is stopped cleanly on Ctrl-C or SIGTERM. Point memory nodes at the DSN it prints.
"""

from __future__ import annotations

import argparse
import signal
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `fleet-server` to the top-level parser."""
    p = subparsers.add_parser(
        'fleet-server', help='run a private PostgreSQL server for the fleet memory (Ctrl-C stops)')
    p.add_argument('directory', help='server directory (data/, socket/, server.log); created')
    p.add_argument('--port', type=int, default=None,
                   help='also listen on 127.0.0.1:PORT (default: Unix socket only)')
    p.add_argument('--user', default='embodied', help='role the memory connects as')
    p.add_argument('--dbname', default='memory', help='database the memory uses')
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from memory_nodes.fleet.server import PrivateServer, ServerError

    server = PrivateServer(args.directory, port=args.port, user=args.user, dbname=args.dbname)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
    except ServerError as err:
        print(f'fleet-server: {err}')
        return 2
    try:
        print(f'fleet-server: PostgreSQL running in {server.directory} (pid {server.pid}, '
              f'log {server.log_path})')
        print(f'dsn: {server.dsn}')
        if args.port is not None:
            print(f'tcp dsn: {server.tcp_dsn}')
        print('fleet-server: Ctrl-C stops it', flush=True)
        while not stop.wait(1.0):
            if not server.running:
                print(f'fleet-server: the server exited; see {server.log_path}')
                return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server.running:
            server.stop()
            print('fleet-server: stopped', flush=True)
    return 0
