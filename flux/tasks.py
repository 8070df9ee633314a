"""Built-in tasks: composition, pauses, durable sleep, and deterministic stand-ins.

``now``, ``uuid4``, ``choice``, ``randint`` and ``randrange`` are tasks, so a
resumed run sees the values the first run saw. ``pause`` and ``sleep`` are
durable: a paused execution waits (holding no worker) until someone resumes
it; a resumed run never sleeps again the part of a sleep already slept.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from flux.domain.events import ExecutionEventType as T
from flux.errors import (
    ExecutionCancelled,
    ExecutionSuspended,
    LeaseLostError,
    RejectedError,
)
from flux.graph import Graph
from flux.run import current_node, current_run, current_task, mark_failed
from flux.serialization import encode, encode_error
from flux.taskdef import Task, task
from flux.waits import progress, wait_for_event

#: How a durable sleep waits in-process (a seam for tests; really asyncio.sleep).
sleep_wait = asyncio.sleep

__all__ = ["Graph", "choice", "now", "parallel", "pause", "pipeline", "progress", "randint",
           "randrange", "sleep", "uuid4", "wait_for_event"]


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
    stopped: set[asyncio.Future] = set()
    try:
        pending: set[asyncio.Future] = set(futures)
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


async def _stop(pending: set[asyncio.Future]) -> set[asyncio.Future]:
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


def _settled(futures: list[asyncio.Future], stopped: set[asyncio.Future] = frozenset()
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


async def pipeline(*tasks: Callable[[Any], Any], input: Any = None) -> Any:
    """Feed ``input`` to the first task, its result to the next, and so on."""
    if len(tasks) == 1 and isinstance(tasks[0], list | tuple):
        tasks = tuple(tasks[0])
    value = input
    for t in tasks:
        value = await t(value)
    return value


async def pause(
    name: str,
    *,
    title: str | None = None,
    description: str | None = None,
    schema: dict | None = None,
    approvers: Iterable[str] | None = None,
    groups: Iterable[str] | None = None,
    deadline: timedelta | float | datetime | None = None,
    on_deadline: str = "reject",
    default: Any = None,
    output: Any = None,
    forbid_self_approval: bool = False,
) -> Any:
    """Stop here until someone resumes the execution; returns the resume input.

    The optional arguments describe the decision for the approval inbox:
    ``title`` and ``description`` (markdown); ``schema``, a JSON schema the
    resume input must match; ``approvers`` (usernames) and ``groups`` who may
    decide; ``deadline`` (seconds, a timedelta, or a datetime) after which
    ``on_deadline`` applies ("approve" with ``default`` as input, or
    "reject"); ``output``, what the run produced so far, shown to the
    approver. Rejecting raises :class:`~flux.errors.RejectedError` here.
    """
    if on_deadline not in ("approve", "reject"):
        raise ValueError("pause(on_deadline=...) must be 'approve' or 'reject'")
    run = current_run.get()
    if run is None:
        raise RuntimeError("pause() only works inside a running workflow")
    parent, node = current_task.get(), current_node.get()
    pause_id = run.task_id("pause", {"name": name}, parent, node)
    rec = run.index.tasks.get(pause_id)
    if rec is not None and rec.done:
        return run.replayed(rec)
    if rec is not None and rec.decision is not None:
        decision = rec.decision
        if decision.get("approved", True):
            run.emit(T.TASK_COMPLETED, name, pause_id, decision.get("input"), parent,
                       durable=True)
            return run.replayed(run.index.tasks[pause_id])
        err = RejectedError(name, decision.get("comment"), decision.get("actor"),
                            task_id=pause_id, task_name=name)
        mark_failed(err, pause_id)
        run.emit(T.TASK_FAILED, name, pause_id, encode_error(err), parent, durable=True)
        raise err
    if rec is not None and rec.paused is not None:
        raise ExecutionSuspended("paused")
    if rec is None:
        await run.check_divergence(parent, pause_id)
    info: dict[str, Any] = {"name": name, "title": title, "description": description,
                            "schema": schema,
                            "approvers": list(approvers) if approvers else None,
                            "groups": list(groups) if groups else None,
                            "deadline": _deadline(deadline), "on_deadline": on_deadline,
                            "default": encode(default, f"the default of pause '{name}'"),
                            "output": encode(output, f"the output shown at pause '{name}'"),
                            "forbid_self_approval": forbid_self_approval}
    run.emit(T.TASK_PAUSED, name, pause_id, info, parent)
    raise ExecutionSuspended("paused")


def _deadline(value: timedelta | float | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, timedelta):
        when = datetime.now(UTC) + value
    else:
        when = datetime.now(UTC) + timedelta(seconds=float(value))
    return when.isoformat()


async def sleep(duration: timedelta | float | int) -> None:
    """Sleep durably: a resumed execution only sleeps what is left.

    In a runtime with timers (the Django workers) a long sleep ends the run
    and a timer runs the execution again when it is due, so no worker waits.
    """
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    if seconds < 0:
        raise ValueError("sleep() needs a duration >= 0")
    run = current_run.get()
    if run is None:
        await asyncio.sleep(seconds)
        return
    parent, node = current_task.get(), current_node.get()
    sleep_id = run.task_id("sleep", {"seconds": seconds}, parent, node)
    rec = run.index.tasks.get(sleep_id)
    if rec is not None and rec.done:
        return
    if rec is None:
        await run.check_divergence(parent, sleep_id)
    if rec is None or not rec.started:
        wake_at = time.time() + seconds
        run.emit(T.TASK_STARTED, "sleep", sleep_id,
                   {"input": {"seconds": seconds},
                    "wake_at": datetime.fromtimestamp(wake_at, UTC).isoformat()},
                   parent, durable=True)
    else:
        wake_at = datetime.fromisoformat(rec.start_value["wake_at"]).timestamp()
    remaining = wake_at - time.time()
    if remaining > 0:
        limit = run.suspend_sleeps_after
        if limit is not None and remaining > limit:
            raise ExecutionSuspended("sleeping", wake_at)
        await sleep_wait(remaining)
    run.emit(T.TASK_COMPLETED, "sleep", sleep_id, None, parent, durable=True)


@task.with_options(name="now")
async def now() -> datetime:
    """The current time (UTC), recorded: a resumed run sees the same instant."""
    return datetime.now(UTC)


@task.with_options(name="uuid4")
async def uuid4() -> uuid.UUID:
    """A random UUID, recorded."""
    return uuid.uuid4()


@task.with_options(name="choice")
async def choice(options: list[Any]) -> Any:
    """A random element of ``options``, recorded."""
    return random.choice(list(options))


@task.with_options(name="randint")
async def randint(a: int, b: int) -> int:
    """A random integer N with a <= N <= b, recorded."""
    return random.randint(a, b)


@task.with_options(name="randrange")
async def randrange(start: int, stop: int | None = None, step: int = 1) -> int:
    """``random.randrange(start, stop, step)``, recorded."""
    return random.randrange(start, stop, step) if stop is not None else random.randrange(start)


BUILTIN_TASKS: tuple[Task, ...] = (now, uuid4, choice, randint, randrange)
