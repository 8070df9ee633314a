"""What the log says each task did: the lookup table replay runs on.

:class:`ReplayIndex` folds events one at a time (O(1) each) into a dict of
:class:`TaskRecord` keyed by task id, so a resumed run finds a task's
recorded result by key, never by scanning the log. It also keeps, per parent
task, the order in which tasks were first recorded, which is how divergence
is detected (see :meth:`ReplayIndex.children`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flux.domain.events import ExecutionEvent, ExecutionEventType as T


@dataclass(slots=True)
class TaskRecord:
    id: str
    name: str
    parent_id: str | None
    started: bool = False
    start_value: Any = None
    done: bool = False
    failed: bool = False
    result: Any = None  # encoded value, or encoded error when failed
    attempt: int = 1  # the attempt the log says is current (retries)
    attempt_started_at: datetime | None = None
    retry_delay: float = 0.0
    exhausted: bool = False  # every attempt failed; rollback/fallback pending
    last_error: Any = None  # encoded error of the last failed attempt
    paused: Any = None  # TASK_PAUSED value, for pause points
    decision: Any = None  # TASK_RESUMED value: the answer to a pause
    retried: bool = False  # its failure was forgotten by a retry; not started again yet


@dataclass
class ReplayIndex:
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    #: parent id -> task ids in the order they were first recorded
    order: dict[str | None, list[str]] = field(default_factory=dict)
    #: task ids whose failure failed the workflow; forgotten when it is retried
    failed_tasks: list[str] = field(default_factory=list)
    #: graph task ids whose structure is recorded; (graph task id, node) skipped
    graphs: set[str] = field(default_factory=set)
    skipped: set[tuple[str, str]] = field(default_factory=set)

    def children(self, parent_id: str | None) -> list[str]:
        return self.order.get(parent_id, [])

    def _task(self, e: ExecutionEvent) -> TaskRecord:
        rec = self.tasks.get(e.source_id)
        if rec is None:
            rec = TaskRecord(e.source_id, e.name, e.parent_id)
            self.tasks[e.source_id] = rec
            self.order.setdefault(e.parent_id, []).append(e.source_id)
        return rec

    def apply(self, e: ExecutionEvent) -> None:
        t = e.type
        if t is T.TASK_STARTED:
            rec = self._task(e)
            rec.started = True
            rec.retried = False
            rec.start_value = e.value
            rec.attempt_started_at = e.time
        elif t is T.TASK_COMPLETED or t is T.TASK_FALLBACK_COMPLETED:
            rec = self._task(e)
            rec.done, rec.failed, rec.result = True, False, e.value
        elif t is T.TASK_FAILED:
            rec = self._task(e)
            rec.done, rec.failed, rec.result = True, True, e.value
        elif t is T.TASK_RETRY_STARTED:
            rec = self._task(e)
            rec.attempt = e.attempt
            rec.attempt_started_at = e.time
            rec.retry_delay = float((e.value or {}).get("delay") or 0)
            if (e.value or {}).get("error"):
                rec.last_error = e.value["error"]
        elif t is T.TASK_RETRY_FAILED:
            rec = self._task(e)
            rec.last_error = (e.value or {}).get("error")
            if (e.value or {}).get("final"):
                rec.exhausted = True
        elif t is T.TASK_PAUSED:
            rec = self._task(e)
            rec.started = True
            rec.paused = e.value
        elif t is T.TASK_RESUMED:
            self._task(e).decision = e.value
        elif t is T.GRAPH_STARTED:
            self.graphs.add(e.source_id)
        elif t is T.GRAPH_NODE_SKIPPED:
            self.skipped.add((e.source_id, (e.value or {}).get("node", e.name)))
        elif t is T.WORKFLOW_FAILED:
            self.failed_tasks = list((e.value or {}).get("failed_tasks") or [])
        elif (t is T.WORKFLOW_QUEUED or t is T.WORKFLOW_RESUMED) and (
            (e.value or {}).get("reason") == "retry"
        ):
            self._forget_failures()
        elif t is T.WORKFLOW_RESUMED and (e.value or {}).get("restart"):
            # A transient workflow restarts from the beginning after a crash.
            self.tasks.clear()
            self.order.clear()
            self.graphs.clear()
            self.skipped.clear()

    def _forget_failures(self) -> None:
        """A retried execution runs its failed tasks again; completed ones stay."""
        for task_id in self.failed_tasks:
            rec = self.tasks.get(task_id)
            if rec is not None and rec.failed:
                rec.done = rec.failed = rec.exhausted = False
                rec.result = rec.last_error = rec.decision = rec.paused = None
                rec.attempt = 1
                rec.retry_delay = 0.0
                rec.retried = True
        self.failed_tasks = []

    def pending_pauses(self) -> list[TaskRecord]:
        return [r for r in self.tasks.values()
                if r.paused is not None and not r.done and r.decision is None]
