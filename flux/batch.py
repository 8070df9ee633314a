"""Running task calls together: :func:`parallel` (also ``Task.map``'s engine) and how
suspensions of several branches merge. Apart from ``flux.tasks`` so that task
definitions and graphs can use it without importing the built-in tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Set as AbstractSet
from typing import Any

from flux.errors import ExecutionCancelled, ExecutionSuspended, LeaseLostError

#: Loop turns a batch gives its siblings after the first failure or pause, before it
#: cancels those still running: enough for one that is about to record its own pause
#: (or result) to get there, nowhere near long enough to wait for real work.
DRAIN_TURNS = 20


async def parallel(*calls: Any, max_concurrent: int | None = None,
                   raise_on_error: bool = True) -> list[Any]:
    """Await task calls concurrently; their results in the calls' order.

    The first failure or pause stops the batch: siblings still running are
    cancelled (a cancelled task has no recorded end, so it runs again when the
    execution is resumed or retried), then the failure is raised (the first in
    call order when several failed) or the execution pauses. With
    ``raise_on_error=False`` a failed call's slot is None and the others carry
    on (the failure is still recorded in its task's events); pauses still stop
    the batch. A ``call`` (or ``wait_for_event``) that waits does not stop its
    siblings: every child of a fan-out starts before the run suspends.
    ``max_concurrent=N`` runs at most N calls at once.
    ``parallel(*calls)`` and ``parallel(list_of_calls)`` both work.
    """
    if len(calls) == 1 and isinstance(calls[0], list | tuple):
        calls = tuple(calls[0])
    if max_concurrent is not None and (isinstance(max_concurrent, bool)
                                       or not isinstance(max_concurrent, int)
                                       or max_concurrent < 1):
        for c in calls:
            close = getattr(c, "close", None)
            if close is not None:
                close()  # never awaited: say nothing about it
        raise ValueError(f"parallel(max_concurrent=...) must be a whole number of 1 or more, "
                         f"got {max_concurrent!r}")
    if not calls:
        return []
    if max_concurrent is not None and max_concurrent < len(calls):
        gate = asyncio.Semaphore(max_concurrent)
        calls = tuple(_gated(gate, c) for c in calls)
    if not raise_on_error:
        calls = tuple(_none_on_failure(c) for c in calls)
    futures = [asyncio.ensure_future(c) for c in calls]
    stopped: set[asyncio.Future[Any]] = set()
    try:
        pending: set[asyncio.Future[Any]] = set(futures)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            if pending and not all(_waits_only(f.exception()) for f in done
                                   if not f.cancelled() and f.exception() is not None):
                stopped = await _stop(pending)
                break
    except asyncio.CancelledError:
        for f in futures:
            f.cancel()
        await asyncio.gather(*futures, return_exceptions=True)
        raise
    return _settled(futures, stopped)


async def _gated(gate: asyncio.Semaphore, call: Any) -> Any:
    async with gate:
        return await call


async def _none_on_failure(call: Any) -> Any:
    try:
        return await call
    except Exception:  # recorded by the task itself; pauses and cancels pass through
        return None


async def _stop(pending: set[asyncio.Future[Any]]) -> set[asyncio.Future[Any]]:
    """A sibling failed or paused: let the others run a few turns, then cancel the rest."""
    for _ in range(DRAIN_TURNS):
        await asyncio.sleep(0)
        if all(f.done() for f in pending):
            return set()
    stopped = {f for f in pending if not f.done()}
    for f in stopped:
        f.cancel()
    await asyncio.gather(*stopped, return_exceptions=True)
    return stopped


def _settled(futures: list[asyncio.Future[Any]],
             stopped: AbstractSet[asyncio.Future[Any]] = frozenset()
             ) -> list[Any]:
    results: list[Any] = []
    error: BaseException | None = None
    suspended: ExecutionSuspended | None = None
    for f in futures:
        if f.cancelled():
            if f in stopped:
                continue  # stopped by us because a sibling failed or paused
            raise asyncio.CancelledError()
        exc = f.exception()
        if exc is None:
            results.append(f.result())
        elif isinstance(exc, ExecutionCancelled | LeaseLostError | asyncio.CancelledError):
            raise exc
        elif isinstance(exc, ExecutionSuspended):
            suspended = merge_suspensions(suspended, exc)
        elif error is None:
            error = exc
    if suspended is not None:
        raise suspended
    if error is not None:
        raise error
    return results


def merge_suspensions(a: ExecutionSuspended | None, b: ExecutionSuspended
                      ) -> ExecutionSuspended:
    if a is None:
        return b
    reasons = (a.reason, b.reason)
    reason = ("paused" if "paused" in reasons else "waiting" if "waiting" in reasons
              else "sleeping")
    wakes = [w for w in (a.wake_at, b.wake_at) if w is not None]
    return ExecutionSuspended(reason, min(wakes) if wakes else None, a.waiting + b.waiting)


def _waits_only(exc: BaseException | None) -> bool:
    """A call waiting for a child or an event: its siblings carry on (a fan-out of
    calls starts every child before the run suspends)."""
    return isinstance(exc, ExecutionSuspended) and exc.reason == "waiting"
