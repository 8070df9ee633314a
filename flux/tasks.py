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

from flux.batch import parallel
from flux.domain.events import ExecutionEventType as T
from flux.errors import (
    ExecutionSuspended,
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
    schema: dict[str, Any] | None = None,
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
