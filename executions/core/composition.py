"""Composition in the Django runtime: children that wake their parents, events that wake
their waiters, workflow timeouts, expiring kept events (issue 15; docs/workflows.md).

Installed from ``ExecutionsConfig.ready``:

* the append hook :data:`HOOK`, inside each append's transaction:

  - a call's recorded outcome (``TASK_COMPLETED``/``TASK_FAILED`` of a
    ``call_workflow_*`` task) marks that child ``collected``;
  - a child's end (not a ``continue_as_new``: its continuation carries on) wakes its
    parent: the parent's row is made claimable (``wake_at`` cleared) and a message is
    sent after the commit;
  - a run that suspends waiting for children or events wakes itself when a child it
    has not collected has ended, or an event was delivered, before its suspension
    committed (a sender's or child's message found the lease still held);
  - a run that fails by its whole-run timeout closes its pending approvals.

  Lock order: an append holds its execution's row; a child's end then locks the
  parent's row; a send locks the event name, then the waiters' rows. Nothing takes
  them the other way round.

* the reaper passes: ``timeouts`` (suspended runs past their deadline fail with
  ``ExecutionTimeoutError``), ``kept_events`` (drop kept events past their time) and
  ``wakeups`` (a sleeping run with an uncollected finished child or a delivered event,
  whose message was lost, gets a new one).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from executions.core import runner
from executions.core.conf import app_settings
from executions.core.store import AppendHook
from executions.models import Approval, EventWait, Execution
from flux.clock import clock
from flux.domain.events import TERMINAL_WORKFLOW_EVENTS, ExecutionEvent, ExecutionEventType as T
from flux.lineage import child_id
from flux.projection import Status
from flux.store import ExecutionRecord

log = logging.getLogger("executions.composition")

_CALL_PREFIX = "call_workflow_"
_CALL_ENDS = (T.TASK_COMPLETED, T.TASK_FAILED)
#: Statuses the timeouts pass fails once the deadline passed (running ones time out in
#: their worker; a sleeping one's timer fires at the deadline, this is the backstop).
_SUSPENDED = (Status.PAUSED, Status.SLEEPING, Status.QUEUED, Status.INTERRUPTED,
              Status.CREATED)


def _waits_on(event: ExecutionEvent) -> set[str]:
    if event.type is not T.WORKFLOW_SLEEPING:
        return set()
    return {w.get("kind") for w in (event.value or {}).get("waiting_for") or ()} & {
        "child", "event"}


def _timed_out(event: ExecutionEvent) -> bool:
    """The run failed because its whole-run ``timeout`` ran out (not a task's)."""
    if event.type is not T.WORKFLOW_FAILED or not isinstance(event.value, dict):
        return False
    error = event.value.get("error") or {}
    return (error.get("type") == "ExecutionTimeoutError"
            and (error.get("attrs") or {}).get("type") == "workflow")


def wants(events: Sequence[ExecutionEvent], record: ExecutionRecord) -> bool:
    """Cheap: a plain run's appends (no parent, no calls, no waits) never concern it."""
    for e in events:
        t = e.type
        if ((t in TERMINAL_WORKFLOW_EVENTS and record.parent_execution_id)
                or t is T.WORKFLOW_CONTINUED or _waits_on(e) or _timed_out(e)
                or (t in _CALL_ENDS and e.name.startswith(_CALL_PREFIX))):
            return True
    return False


def write(record: ExecutionRecord, events: Sequence[ExecutionEvent], using: str) -> None:
    eid = record.id
    rows = Execution.objects.using(using)
    collected = [child_id(eid, e.source_id) for e in events
                 if e.type in _CALL_ENDS and e.name.startswith(_CALL_PREFIX)]
    continued = any(e.type is T.WORKFLOW_CONTINUED for e in events)
    if continued:
        collected.append(eid)  # its parent now waits for the continuation
    while collected:  # a collected child's continuations are collected with it
        rows.filter(pk__in=collected).update(collected=True)
        collected = [pk for pk in rows.filter(continued_from__in=collected)
                     .values_list("pk", flat=True)]
    ended = next((e for e in events if e.type in TERMINAL_WORKFLOW_EVENTS), None)
    if ended is not None and record.parent_execution_id and not continued:
        wake(record.parent_execution_id, using)
    if ended is not None and _timed_out(ended):  # nobody can answer its pauses now
        (Approval.objects.using(using).filter(execution_id=eid, status=Approval.StatusChoices
                                              .PENDING)
         .update(status=Approval.StatusChoices.CANCELLED, decided_by="timeout",
                 decided_at=ended.time, comment="The workflow's timeout ran out."))
    kinds = set().union(*(_waits_on(e) for e in events))
    if kinds and record.status == Status.SLEEPING:
        due = ("child" in kinds and _finished_children(using).filter(
            parent_execution_id=eid).exists()) or ("event" in kinds and EventWait.objects.using(
                using).filter(execution_id=eid, delivered=True).exists())
        if due:
            wake(eid, using)


def _finished_children(using: str):
    return Execution.objects.using(using).filter(status__in=Status.FINISHED, collected=False)


def wake(execution_id: str, using: str = "default") -> bool:
    """Make a sleeping execution claimable now and send it a message after the commit."""
    moment = clock.now()
    woken = (Execution.objects.using(using).filter(pk=execution_id, status=Status.SLEEPING)
             .update(wake_at=None, enqueued_at=moment))
    if woken:
        transaction.on_commit(lambda: runner.send(execution_id), using=using)
    return bool(woken)


HOOK = AppendHook("composition", wants=wants, write=write)


# reaper passes ------------------------------------------------------------------------

def apply_timeouts(now: datetime, limit: int = 100) -> list[str]:
    """Fail the suspended executions whose whole-run timeout passed."""
    done = []
    due = (Execution.objects.filter(deadline__lte=now, status__in=_SUSPENDED)
           .order_by("deadline").values_list("pk", flat=True)[:limit])
    eng = runner.engine()
    for pk in list(due):
        try:
            if eng.expire(pk):
                done.append(pk)
        except Exception:
            log.exception("flux: timing out %s failed", pk)
    return done


def drop_kept_events(now: datetime, limit: int = 100) -> int:
    return runner.engine().store.drop_expired_events(now)


def resend_lost_wakeups(now: datetime, limit: int = 100) -> list[str]:
    """Sleeping runs that should be awake (a child ended, an event arrived) and whose
    message seems lost: none sent for a requeue period."""
    cutoff = now - timedelta(seconds=app_settings().requeue_seconds)
    done_child = Exists(_finished_children("default").filter(parent_execution=OuterRef("pk")))
    delivered = Exists(EventWait.objects.filter(execution=OuterRef("pk"), delivered=True))
    rows = (Execution.objects.filter(status=Status.SLEEPING, lease_owner__isnull=True)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff))
            .filter(done_child | delivered).values_list("pk", flat=True)[:limit])
    return [pk for pk in list(rows) if runner.resend(pk, now)]


def install() -> None:
    from executions.core import store

    store.add_append_hook(HOOK)
    runner.add_reaper_pass("timeouts", apply_timeouts)
    runner.add_reaper_pass("kept_events", drop_kept_events)
    runner.add_reaper_pass("wakeups", resend_lost_wakeups)
