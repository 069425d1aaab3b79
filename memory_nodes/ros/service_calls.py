"""Blocking service calls from inside callbacks of a multi-threaded executor.

`spin_until_future_complete` must not be called from a callback; instead the caller
waits on an event set by the future's done-callback while the executor's other threads
deliver the response. Every call has a timeout and raises a TimeoutError naming the
service.
"""

from __future__ import annotations

import threading
from typing import Any


def call(client: Any, request: Any, timeout: float = 10.0) -> Any:
    """Send `request` on `client` and wait for the response (TimeoutError otherwise)."""
    if not client.wait_for_service(timeout_sec=timeout):
        raise TimeoutError(f'service {client.srv_name} is not available')
    done = threading.Event()
    future = client.call_async(request)
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout):
        client.remove_pending_request(future)
        raise TimeoutError(f'service {client.srv_name} did not answer in {timeout} s')
    result = future.result()
    if result is None:
        raise RuntimeError(f'service {client.srv_name} failed: {future.exception()!r}')
    return result
