"""Running executions on Huey workers: start, resume, retry, cancel, run, reap.

The database is the truth; a queue message only says "look at execution X".

* ``start_execution`` / ``resume_execution`` / ``retry_execution`` write what
  the request means (through the engine, in the caller's transaction) and put a
  ``run_execution(id)`` message on the queue **after the commit**.
* ``run_execution`` (the Huey task, ``executions/tasks.py``) calls :func:`run`:
  the engine claims the execution's lease and runs it until it finishes,
  pauses or sleeps. Its store only claims executions a message may run (see
  ``DjangoStore(runnable_only=True)``), so a duplicate or stale message does
  nothing. A run that ends sleeping schedules a message for its wake-up time.
* :func:`reap` (every ``interval`` seconds in each worker, :func:`reaper_loop`)
  recovers executions whose worker died (expired lease), and re-sends the
  messages of executions nobody picked up (a lost message, a flushed Redis)
  and of sleepers whose timer did not fire.

Requests that make no sense raise :class:`flux.errors.InvalidStateError`
(wrong state), :class:`~flux.errors.InvalidInputError` (bad input) or
:class:`~flux.errors.WorkflowNotFoundError`, and write nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q

from executions.models import Execution
from executions.store import DjangoStore
from flux import Engine, Status, Workflow
from flux.errors import ExecutionNotFoundError, InvalidStateError, WorkflowNotFoundError

log = logging.getLogger("flux.runner")

#: A sleeper whose timer should have fired this long ago gets a new message.
SLEEP_GRACE = 5.0


def lease_seconds() -> float:
    return float(getattr(settings, "FLUX_LEASE_SECONDS", 30))


def requeue_seconds() -> float:
    return float(getattr(settings, "FLUX_REQUEUE_SECONDS", 30))


def suspend_sleeps_after() -> float:
    return float(getattr(settings, "FLUX", {}).get("suspend_sleeps_after", 2.0))


def engine(store: DjangoStore | None = None) -> Engine:
    """An engine on the Django store with the runtime's settings."""
    return Engine(store if store is not None else DjangoStore(),
                  lease_seconds=lease_seconds(), suspend_sleeps_after=suspend_sleeps_after())


# the queue --------------------------------------------------------------------------

def enqueue(execution_id: str, *, delay: float | None = None) -> None:
    """Send ``run_execution(id)`` once the current transaction commits."""
    Execution.objects.filter(pk=execution_id).update(enqueued_at=datetime.now(UTC))
    transaction.on_commit(lambda: send(execution_id, delay=delay))


def send(execution_id: str, *, delay: float | None = None) -> None:
    """Put the message on the queue now (no database write)."""
    from executions.tasks import run_execution

    if delay and delay > 0:
        run_execution.schedule(args=(execution_id,), delay=delay)
    else:
        run_execution(execution_id)


# requests ---------------------------------------------------------------------------

_versions: dict[int, str] = {}


def workflow_version(wf: Workflow) -> str:
    version = _versions.get(id(wf))
    if version is None:
        from executions import registry

        version = _versions[id(wf)] = registry.workflow_version(registry.workflow_source(wf))
    return version


def start_execution(workflow: str | Workflow, input: Any = None, *, actor: str | None = None,
                    parent: Execution | str | None = None, parent_id: str | None = None,
                    meta: dict | None = None) -> Execution:
    """Create a queued execution of ``workflow`` and queue it after commit.

    Raises WorkflowNotFoundError (unknown name) or InvalidInputError (input
    fails the workflow's schema) before writing anything.
    """
    eng = engine()
    wf = workflow if isinstance(workflow, Workflow) else eng.workflow_for(workflow)
    # A workflow built by a resolver (a saved graph) may pin what it runs in the meta.
    meta = {**(getattr(wf, "execution_meta", None) or {}), **(meta or {})}
    if parent is not None:
        parent_id = parent.pk if isinstance(parent, Execution) else parent
    with transaction.atomic():
        record = eng.create(wf, input, status=Status.QUEUED, actor=actor, parent_id=parent_id,
                            meta=meta)
        version = getattr(wf, "execution_version", None) or workflow_version(wf)
        Execution.objects.filter(pk=record.id).update(workflow_version=version)
        enqueue(record.id)
    return Execution.objects.get(pk=record.id)


def resume_execution(execution_id: str, input: Any = None, *, pause: str | None = None,
                     approved: bool = True, actor: str | None = None,
                     comment: str | None = None) -> Execution:
    """Answer a paused execution's pending pause (approve with ``input``, or reject)."""
    with transaction.atomic():
        engine().request_resume(execution_id, input, pause=pause, approved=approved,
                                actor=actor, comment=comment)
        enqueue(execution_id)
    return Execution.objects.get(pk=execution_id)


def retry_execution(execution_id: str, *, actor: str | None = None) -> Execution:
    """Run a failed execution again from its last successful state."""
    with transaction.atomic():
        engine().request_retry(execution_id, actor=actor)
        enqueue(execution_id)
    return Execution.objects.get(pk=execution_id)


def cancel_execution(execution_id: str, *, actor: str | None = None) -> Execution:
    """Cancel now when nothing runs it; else its worker stops it within about a second."""
    engine().cancel(execution_id, actor=actor)
    return Execution.objects.get(pk=execution_id)


# running ----------------------------------------------------------------------------

_local = threading.local()


def thread_store() -> DjangoStore:
    """This thread's worker store (one store thread and connection per worker thread)."""
    store = getattr(_local, "store", None)
    if store is None:
        store = _local.store = DjangoStore(runnable_only=True)
    return store


def close_thread_store() -> None:
    """Close this thread's worker store (its connection) and event loop, if any."""
    store = getattr(_local, "store", None)
    if store is not None:
        _local.store = None
        store.close()
    loop = getattr(_local, "loop", None)
    if loop is not None:
        _local.loop = None
        loop.close()


def _run_on_thread_loop(coro: Any) -> Any:
    """``asyncio.run(coro)`` on an event loop kept for this thread.

    A new loop per message (asyncio.run) costs a socket pair, an epoll instance and
    their registration each time: about as much CPU as a one-task workflow's own
    work. Whatever the run leaves behind (tasks still pending) is cancelled before
    returning, as asyncio.run does.
    """
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


def run(execution_id: str) -> str | None:
    """Run the execution if a message may run it now; its status afterwards (or None).

    Called by the Huey task. Never raises for the ordinary reasons not to run
    (another worker holds it, it is paused or finished, it is unknown).
    """
    store = thread_store()
    eng = engine(store)

    async def main() -> tuple[str | None, datetime | None]:
        try:
            ctx = await eng.run(execution_id)
        except InvalidStateError as exc:
            log.debug("flux: not running %s: %s", execution_id, exc)
            return None, None
        except ExecutionNotFoundError:
            log.warning("flux: execution %s does not exist", execution_id)
            return None, None
        except WorkflowNotFoundError as exc:
            # Another worker may have the code (a rolling deploy): leave it queued.
            log.error("flux: cannot run %s: %s", execution_id, exc)
            return None, None
        if ctx.status == Status.SLEEPING:
            return ctx.status, store.get(execution_id).wake_at
        return ctx.status, None

    status, wake_at = _run_on_thread_loop(main())
    if status == Status.SLEEPING and wake_at is not None:
        delay = max(0.0, (wake_at - datetime.now(UTC)).total_seconds())
        store.call(Execution.objects.filter(pk=execution_id).update,
                   enqueued_at=datetime.now(UTC))
        send(execution_id, delay=delay)
    return status


# the reaper -------------------------------------------------------------------------

@dataclass
class Reaped:
    """What one pass of the reaper did, by execution id."""

    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    #: Approvals whose deadline was applied (executions/approvals.py).
    expired: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.recovered or self.failed or self.requeued or self.woken
                    or self.expired)


def reap(now: float | None = None, *, limit: int = 500) -> Reaped:
    """One pass: recover dead workers' executions, re-send lost and due messages."""
    now = time.time() if now is None else now
    moment = datetime.fromtimestamp(now, UTC)
    done = Reaped()
    eng = engine()
    rows = Execution.objects.all()

    # (a) Running (or being cancelled) with no live lease: the worker is gone.
    dead = (rows.filter(status__in=(Status.RUNNING, Status.CANCELLING))
            .filter(Q(lease_owner__isnull=True) | Q(lease_expires__lt=now))
            .values_list("pk", flat=True)[:limit])
    for pk in dead:
        try:
            with transaction.atomic():
                record = eng.recover(pk)
                if record is not None:
                    enqueue(pk)
        except Exception:
            log.exception("flux: recovering %s failed", pk)
            continue
        if record is not None:
            done.recovered.append(pk)
        elif Execution.objects.filter(pk=pk, status=Status.FAILED).exists():
            done.failed.append(pk)  # no recovery attempts left

    # (b) Waiting for a worker, held by nobody: a worker took the message and died
    # (its lease expired since the last message), or the message was lost.
    cutoff = moment - timedelta(seconds=requeue_seconds())
    unclaimed = Q(lease_owner__isnull=True) | Q(lease_expires__lt=now)
    # A claimant's lease outlives the message it took by at least one lease period.
    claimant_died = Q(lease_owner__isnull=False, lease_expires__lt=now,
                      enqueued_at__lt=moment - timedelta(seconds=lease_seconds()))
    stale = (Q(enqueued_at__isnull=True, created_at__lt=cutoff) | Q(enqueued_at__lt=cutoff)
             | claimant_died)
    for pk in (rows.filter(unclaimed, stale, status__in=(Status.QUEUED, Status.INTERRUPTED))
               .values_list("pk", flat=True)[:limit]):
        if _resend(pk, moment):
            done.requeued.append(pk)

    # (c) Sleepers whose timer should have fired.
    due = moment - timedelta(seconds=SLEEP_GRACE)
    not_resent = (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("wake_at"))
                  | Q(enqueued_at__lt=cutoff))
    for pk in (rows.filter(unclaimed, not_resent, status=Status.SLEEPING, wake_at__lt=due)
               .values_list("pk", flat=True)[:limit]):
        if _resend(pk, moment):
            done.woken.append(pk)

    # (d) Pending approvals past their deadline get their default outcome.
    from executions import approvals

    done.expired = approvals.reap(moment, limit=limit)
    if done:
        log.info("flux reaper: %s", done)
    return done


def _resend(pk: str, moment: datetime) -> bool:
    """Send a new message unless another reaper just did (conditional update)."""
    previous = Execution.objects.filter(pk=pk).values_list("enqueued_at", flat=True).first()
    with transaction.atomic():
        won = (Execution.objects.filter(pk=pk, enqueued_at=previous)
               .update(enqueued_at=moment))
        if won:
            transaction.on_commit(lambda: send(pk))
    return bool(won)


def reaper_loop(stop: threading.Event, interval: float = 2.0,
                each_pass: Callable[[], None] | None = None) -> None:
    """Reap every ``interval`` seconds until ``stop`` is set (a worker's thread);
    ``each_pass()`` first, if given (the worker's heartbeat)."""
    try:
        while not stop.is_set():
            try:
                if each_pass is not None:
                    each_pass()
                reap()
            except Exception:
                log.exception("flux: reaper pass failed")
                connections.close_all()  # a broken connection is replaced next pass
            stop.wait(interval)
    finally:
        connections.close_all()
