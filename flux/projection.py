"""The execution projection: what the event log says about an execution now.

:func:`apply` folds one event into an :class:`~flux.store.ExecutionRecord`.
Every store calls it on append, so the status, output and timings they keep
are always those the log implies. It only looks at the new event: O(1).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flux.domain.events import ExecutionEvent, ExecutionEventType as T

if TYPE_CHECKING:
    from flux.store import ExecutionRecord


class Status:
    """Execution statuses: lowercase strings everywhere (API, CLI, models)."""

    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SLEEPING = "sleeping"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    ALL = (CREATED, QUEUED, RUNNING, PAUSED, SLEEPING, INTERRUPTED, COMPLETED, FAILED,
           CANCELLING, CANCELLED)
    #: No run will happen unless someone acts (failed can be retried on purpose).
    FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})
    #: Completed and cancelled never change again.
    FINAL = frozenset({COMPLETED, CANCELLED})
    #: Waiting for a worker to run it.
    RUNNABLE = frozenset({CREATED, QUEUED, INTERRUPTED, SLEEPING})


def apply(record: ExecutionRecord, event: ExecutionEvent) -> None:
    """Fold ``event`` into ``record`` (in place)."""
    record.last_seq = event.seq
    t = event.type
    if t is T.WORKFLOW_STARTED or t is T.WORKFLOW_RESUMED:
        record.status = Status.RUNNING
        record.wake_at = None
        record.waiting_for = None
        if record.started_at is None:
            record.started_at = event.time
        deadline = (event.value or {}).get("deadline") if t is T.WORKFLOW_STARTED else None
        if isinstance(deadline, str):
            record.deadline = datetime.fromisoformat(deadline)
    elif t is T.WORKFLOW_QUEUED:
        record.status = Status.QUEUED
        record.waiting_for = None
        if (event.value or {}).get("reason") == "retry":
            record.error = None
            record.finished_at = None
    elif t is T.WORKFLOW_COMPLETED:
        record.status = Status.COMPLETED
        record.output = event.value
        record.error = None
        record.finished_at = event.time
        record.waiting_for = None
    elif t is T.WORKFLOW_FAILED:
        record.status = Status.FAILED
        record.error = (event.value or {}).get("error")
        record.finished_at = event.time
        record.waiting_for = None
    elif t is T.WORKFLOW_CANCELLED:
        record.status = Status.CANCELLED
        record.finished_at = event.time
        record.wake_at = None
        record.waiting_for = None
    elif t is T.WORKFLOW_PAUSED:
        record.status = Status.PAUSED
        record.waiting_for = (event.value or {}).get("waiting_for")
    elif t is T.WORKFLOW_SLEEPING:
        record.status = Status.SLEEPING
        wake = (event.value or {}).get("wake_at")
        record.wake_at = datetime.fromisoformat(wake) if isinstance(wake, str) else wake
        record.waiting_for = (event.value or {}).get("waiting_for")
    elif t is T.WORKFLOW_CONTINUED:
        record.continued_as = (event.value or {}).get("execution_id")
    elif t is T.WORKFLOW_INTERRUPTED:
        record.status = Status.INTERRUPTED
        record.recovery_attempts += 1
    elif t is T.TASK_RESUMED and record.status == Status.PAUSED:
        record.status = Status.QUEUED
        record.waiting_for = None
