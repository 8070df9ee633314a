"""Running executions on Huey workers: the queue message, running, reaping.

The database is the truth; a queue message only says "look at execution X".
Requests to change an execution (start, resume, retry, cancel...) are
``executions/core/commands.py``; they call :func:`enqueue` in their transaction, which
puts a ``run_execution(id)`` message on the queue **after the commit**.

* :func:`run_execution` (the Huey task) calls :func:`run`: the engine claims the
  execution's lease and runs it until it finishes, pauses or sleeps. Its store
  only claims executions a message may run (see ``DjangoStore(runnable_only=True)``),
  so a duplicate or stale message does nothing. A run that ends sleeping schedules
  a message for its wake-up time.
* :func:`reap` (every ``interval`` seconds in each worker, :func:`reaper_loop`)
  recovers executions whose worker died (expired lease), and re-sends the
  messages of executions nobody picked up (a lost message, a flushed Redis)
  and of sleepers whose timer did not fire; then the passes the apps added
  (:func:`add_reaper_pass`: the inbox's deadlines and reminders).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import F, Q
from huey.contrib.djhuey import task as huey_task

from executions.core import admission, outages, registry
from executions.core.conf import app_settings, clock
from executions.core.store import DjangoStore
from executions.models import Execution
from flux import Engine, Status, Workflow
from flux.errors import ExecutionNotFoundError, InvalidStateError, WorkflowNotFoundError
from flux.store import ExecutionRecord

log = logging.getLogger("flux.runner")

#: A sleeper whose timer should have fired this long ago gets a new message.
SLEEP_GRACE = 5.0


def engine(store: DjangoStore | None = None) -> Engine:
    """An engine on the Django store with the runtime's settings. What a run starts (a
    ``call``'s child, a ``continue_as_new``) is queued for any worker (:func:`dispatch`)."""
    conf = app_settings()
    store = store if store is not None else DjangoStore()
    return Engine(store, lease_seconds=conf.lease_seconds,
                  suspend_sleeps_after=conf.suspend_sleeps_after,
                  dispatch=lambda records: store.call(dispatch, records))


def dispatch(records: list[ExecutionRecord]) -> None:
    """Queued executions the engine created in a run (children, a continuation): note
    their workflow's version and send their messages (their creation is committed)."""
    from flux.workflowdef import registry as flux_registry

    moment = clock.now()
    by_workflow: dict[str, list[str]] = {}
    for record in records:
        by_workflow.setdefault(record.workflow, []).append(record.id)
    for name, ids in by_workflow.items():
        wf = flux_registry.get(name)
        version = {"workflow_version": workflow_version(wf)} if wf is not None else {}
        Execution.objects.filter(pk__in=ids).update(enqueued_at=moment, **version)
    ids = [r.id for r in records]

    def send_all() -> None:
        for pk in ids:
            send(pk)

    transaction.on_commit(send_all)


# the queue --------------------------------------------------------------------------

def enqueue(execution_id: str, *, delay: float | None = None, priority: int = 0) -> None:
    """Send ``run_execution(id)`` once the current transaction commits (``priority``:
    the execution's, higher first)."""
    Execution.objects.filter(pk=execution_id).update(enqueued_at=clock.now())
    transaction.on_commit(lambda: send_or_leave_to_reaper(execution_id, delay=delay,
                                                          priority=priority))


def _prio(priority: int | None) -> dict[str, int]:
    """``send``'s priority argument, only when there is one (stand-ins in tests take
    ``(execution_id, delay=None)``)."""
    return {"priority": priority} if priority else {}


@huey_task()
def run_execution(execution_id: str) -> None:
    """The only message workers get: "look at execution ``id`` and run it if it may run"
    (until it finishes, pauses or sleeps; no result is stored). Everything it needs is
    in the database, so a duplicate does nothing and a lost one is re-sent by
    :func:`reap`. Huey finds it through ``executions/tasks.py``."""
    run(execution_id)


def send(execution_id: str, *, delay: float | None = None, priority: int | None = None
         ) -> None:
    """Put the message on the queue now (no database write); with a ``priority``, the
    queue hands it out before the messages of lower ones (Huey's priority storages:
    SQLite's and PriorityRedisHuey's)."""
    if delay and delay > 0:
        run_execution.schedule(args=(execution_id,), delay=delay, priority=priority)
    elif priority:
        run_execution.huey.enqueue(run_execution.s(execution_id, priority=priority))
    else:
        run_execution(execution_id)


def send_or_leave_to_reaper(execution_id: str, *, delay: float | None = None,
                            priority: int = 0) -> bool:
    """:func:`send`, unless the queue is unavailable (Redis is down): then a warning,
    and the reaper sends the message once the queue is back (the execution is in the
    database, waiting: ``reap``'s re-send of queued executions and due sleepers).
    Whether the message was sent."""
    try:
        send(execution_id, delay=delay, **_prio(priority))
    except Exception as exc:
        if outages.unavailable(exc) != outages.QUEUE:
            raise
        log.warning("flux: the queue is unavailable (%s); the reaper will send %s again "
                    "when it is back", exc, execution_id)
        return False
    return True


# what an execution runs ---------------------------------------------------------------

_versions: dict[int, str] = {}


def workflow_version(wf: Workflow) -> str:
    version = _versions.get(id(wf))
    if version is None:
        version = _versions[id(wf)] = registry.workflow_version(registry.workflow_source(wf))
    return version


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
    key = store.slot_keys.pop(execution_id, None)
    if key is not None:
        store.call(wake_waiters, key)  # its slot is free now (unless it still runs)
    if status == Status.SLEEPING and wake_at is not None:
        moment = clock.now()
        delay = max(0.0, (wake_at - moment).total_seconds())
        store.call(Execution.objects.filter(pk=execution_id).update, enqueued_at=moment)
        send_or_leave_to_reaper(execution_id, delay=delay)
    return status


# concurrency slots ------------------------------------------------------------------

def wake_waiters(key: str) -> list[str]:
    """Send the messages of the runs that may take the free slots of ``key`` now
    (``executions/core/admission.py``); their ids."""
    moment = clock.now()
    sent = []
    for pk, priority in admission.free_slots(key, clock.time()):
        Execution.objects.filter(pk=pk).update(enqueued_at=moment)
        send(pk, **_prio(priority))
        sent.append(pk)
    return sent


def wake_all_waiters(now: datetime, limit: int) -> list[str]:
    """A reaper pass: wake the waiters of keys whose waiters got no message for a
    couple of seconds (a slot freed by a lease that ran out, a lost message)."""
    sent = []
    for key in admission.waiting_keys(now - timedelta(seconds=2), limit):
        sent += wake_waiters(key)
    return sent


# the reaper -------------------------------------------------------------------------

@dataclass
class Reaped:
    """What one pass of the reaper did, by execution id (and what the apps' passes did)."""

    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    #: What each pass in :data:`REAPER_PASSES` returned, by its name (when truthy).
    passes: dict[str, Any] = field(default_factory=dict)

    @property
    def expired(self) -> list[int]:
        """Approvals whose deadline was applied (the inbox's ``deadlines`` pass)."""
        return self.passes.get("deadlines") or []

    def __bool__(self) -> bool:
        return bool(self.recovered or self.failed or self.requeued or self.woken
                    or self.passes)


#: More work for each reaper pass, added by the apps in ``AppConfig.ready``:
#: ``(name, fn)`` where ``fn(now: datetime, limit: int)`` returns what it did.
REAPER_PASSES: list[tuple[str, Callable[[datetime, int], Any]]] = []


def add_reaper_pass(name: str, fn: Callable[[datetime, int], Any]) -> None:
    """Run ``fn(now, limit)`` in every reaper pass (once per name)."""
    REAPER_PASSES[:] = [(n, f) for n, f in REAPER_PASSES if n != name]
    REAPER_PASSES.append((name, fn))


def reap(now: float | None = None, *, limit: int = 500) -> Reaped:
    """One pass: recover dead workers' executions, re-send lost and due messages, then
    the apps' passes (:data:`REAPER_PASSES`)."""
    now = clock.time() if now is None else now
    moment = datetime.fromtimestamp(now, UTC)
    done = Reaped()
    eng = engine()
    rows = Execution.objects.all()
    conf = app_settings()

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
    cutoff = moment - timedelta(seconds=conf.requeue_seconds)
    unclaimed = Q(lease_owner__isnull=True) | Q(lease_expires__lt=now)
    # A claimant's lease outlives the message it took by at least one lease period.
    claimant_died = Q(lease_owner__isnull=False, lease_expires__lt=now,
                      enqueued_at__lt=moment - timedelta(seconds=conf.lease_seconds))
    stale = (Q(enqueued_at__isnull=True, created_at__lt=cutoff) | Q(enqueued_at__lt=cutoff)
             | claimant_died)
    for pk in (rows.filter(unclaimed, stale, status__in=(Status.QUEUED, Status.INTERRUPTED))
               .values_list("pk", flat=True)[:limit]):
        if resend(pk, moment):
            done.requeued.append(pk)

    # (c) Sleepers whose timer should have fired.
    due = moment - timedelta(seconds=SLEEP_GRACE)
    not_resent = (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("wake_at"))
                  | Q(enqueued_at__lt=cutoff))
    for pk in (rows.filter(unclaimed, not_resent, status=Status.SLEEPING, wake_at__lt=due)
               .values_list("pk", flat=True)[:limit]):
        if resend(pk, moment):
            done.woken.append(pk)

    # (d) The apps' passes (the inbox's deadlines and reminders...).
    for name, fn in list(REAPER_PASSES):
        try:
            result = fn(moment, limit)
        except Exception:
            log.exception("flux reaper: the %s pass failed", name)
            continue
        if result:
            done.passes[name] = result
    if done:
        log.info("flux reaper: %s", done)
    return done


def resend(pk: str, moment: datetime) -> bool:
    """Send a new message unless another reaper just did (conditional update); for the
    reaper and the apps' passes."""
    previous = Execution.objects.filter(pk=pk).values_list("enqueued_at", flat=True).first()
    with transaction.atomic():
        won = (Execution.objects.filter(pk=pk, enqueued_at=previous)
               .update(enqueued_at=moment))
        if won:
            transaction.on_commit(lambda: send_or_leave_to_reaper(pk))
    return bool(won)


#: The longest wait between reaper passes while they fail (a database outage).
MAX_BACKOFF = 10.0


def backoff(failures: int, interval: float, ceiling: float = MAX_BACKOFF) -> float:
    """The wait after ``failures`` failed passes in a row: ``interval`` doubled each
    time, at most ``ceiling`` (2 s, then 4, 8, 10, 10...)."""
    if failures <= 0:
        return interval
    return min(max(ceiling, interval), interval * 2 ** failures)


def reaper_loop(stop: threading.Event, interval: float = 2.0,
                each_pass: Callable[[], None] | None = None) -> None:
    """Reap every ``interval`` seconds until ``stop`` is set (a worker's thread);
    ``each_pass()`` first, if given (the worker's heartbeat).

    A pass that fails (the database is down) closes the thread's connections (a
    broken one is replaced on the next try) and the next try waits longer
    (:func:`backoff`); an outage logs one line when it starts, every tenth try and when
    it ends, not a traceback every 2 s. Nothing is lost meanwhile: leases that expire
    are recovered and lost messages re-sent by the first pass that succeeds."""
    failures = 0
    try:
        while not stop.is_set():
            try:
                if each_pass is not None:
                    each_pass()
                reap()
            except Exception as exc:
                failures += 1
                wait = backoff(failures, interval)
                part = outages.unavailable(exc)
                if part is None:
                    log.exception("flux: reaper pass failed; trying again in %.0f s", wait)
                elif failures == 1 or failures % 10 == 0:
                    log.warning("flux reaper: the %s is unavailable (%s); trying again in "
                                "%.0f s", part, str(exc).splitlines()[0] if str(exc) else
                                type(exc).__name__, wait)
                connections.close_all()  # a broken connection is replaced next pass
            else:
                if failures:
                    log.warning("flux reaper: working again after %d failed passes", failures)
                failures, wait = 0, interval
            stop.wait(wait)
    finally:
        connections.close_all()
