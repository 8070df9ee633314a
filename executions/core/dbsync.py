"""Django queries from inside the engine's event loop.

Django refuses ORM calls on a thread that runs an asyncio loop
(``SynchronousOnlyOperation``), to protect coroutines from blocking the loop and
from sharing a connection across awaits. The engine's calls into Django (its
store, the secrets provider, the saved-graph resolver) are neither: each is a
short, blocking call made between two awaits, with no coroutine running
meanwhile, always on the same thread and so on that thread's own connection.
For the length of such a call the running loop is hidden from Django, which
costs nothing; handing each call to another thread instead cost 20 µs on a quiet
machine and up to 700 µs under load (GIL hand-offs), more than a commit, and a
short-lived thread opens a new database connection every time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def outside_the_loop() -> Iterator[None]:
    """Hide this thread's running event loop (if any) for the block."""
    loop = asyncio.events._get_running_loop()
    if loop is None:
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


def call[R](fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)`` with the loop hidden (see the module docstring)."""
    with outside_the_loop():
        return fn(*args, **kwargs)
