"""How every node of the stack runs: one `main` shape, clean on Ctrl-C and SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import (
    ExternalShutdownException,
    MultiThreadedExecutor,
    SingleThreadedExecutor,
)
from rclpy.node import Node


def run_node(make_node: Callable[[], Node], args: list[str] | None = None,
             threads: int = 2) -> None:
    """Init rclpy, spin `make_node()` on an executor until shutdown, then clean up.

    `threads` 1 gives a single-threaded executor (for nodes whose callbacks must never
    run at once); more lets services answer while long callbacks run.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        executor = (SingleThreadedExecutor() if threads == 1
                    else MultiThreadedExecutor(num_threads=threads))
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
