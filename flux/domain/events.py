"""The event log: every step of an execution is one immutable event.

An execution *is* its events; its status, output and finished tasks are a
projection of them (see :mod:`flux.projection`). Events are numbered per
execution by ``seq``, starting at 1 with no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class ExecutionEventType(StrEnum):
    # Workflow events
    WORKFLOW_STARTED = "WORKFLOW_STARTED"
    WORKFLOW_COMPLETED = "WORKFLOW_COMPLETED"
    WORKFLOW_FAILED = "WORKFLOW_FAILED"
    WORKFLOW_PAUSED = "WORKFLOW_PAUSED"
    WORKFLOW_RESUMING = "WORKFLOW_RESUMING"  # a pause was answered; the run comes next
    WORKFLOW_RESUMED = "WORKFLOW_RESUMED"
    WORKFLOW_QUEUED = "WORKFLOW_QUEUED"
    WORKFLOW_SLEEPING = "WORKFLOW_SLEEPING"
    WORKFLOW_INTERRUPTED = "WORKFLOW_INTERRUPTED"
    WORKFLOW_CANCELLED = "WORKFLOW_CANCELLED"
    WORKFLOW_CONTINUED = "WORKFLOW_CONTINUED"  # continue_as_new: the next execution's id
    # Task events
    TASK_STARTED = "TASK_STARTED"
    TASK_COMPLETED = "TASK_COMPLETED"
    TASK_FAILED = "TASK_FAILED"
    TASK_PAUSED = "TASK_PAUSED"
    TASK_RESUMED = "TASK_RESUMED"
    TASK_RETRY_STARTED = "TASK_RETRY_STARTED"
    TASK_RETRY_COMPLETED = "TASK_RETRY_COMPLETED"
    TASK_RETRY_FAILED = "TASK_RETRY_FAILED"
    TASK_FALLBACK_STARTED = "TASK_FALLBACK_STARTED"
    TASK_FALLBACK_COMPLETED = "TASK_FALLBACK_COMPLETED"
    TASK_FALLBACK_FAILED = "TASK_FALLBACK_FAILED"
    TASK_ROLLBACK_STARTED = "TASK_ROLLBACK_STARTED"
    TASK_ROLLBACK_COMPLETED = "TASK_ROLLBACK_COMPLETED"
    TASK_ROLLBACK_FAILED = "TASK_ROLLBACK_FAILED"
    # Graph structure, so a dashboard can draw it and colour its nodes
    GRAPH_STARTED = "GRAPH_STARTED"
    GRAPH_NODE_SKIPPED = "GRAPH_NODE_SKIPPED"


#: Events after which the execution does not run again unless someone acts.
TERMINAL_WORKFLOW_EVENTS = frozenset(
    {
        ExecutionEventType.WORKFLOW_COMPLETED,
        ExecutionEventType.WORKFLOW_FAILED,
        ExecutionEventType.WORKFLOW_CANCELLED,
    }
)

#: Events that end a task (its recorded result or failure).
TASK_END_EVENTS = frozenset(
    {
        ExecutionEventType.TASK_COMPLETED,
        ExecutionEventType.TASK_FAILED,
        ExecutionEventType.TASK_FALLBACK_COMPLETED,
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ExecutionEvent:
    """One entry of an execution's log.

    ``value`` is JSON-compatible (see :mod:`flux.serialization`). ``source_id``
    is the task id for task events and the execution id for workflow events;
    ``parent_id`` is the enclosing task (None at the workflow's top level).
    """

    type: ExecutionEventType
    name: str
    source_id: str
    value: Any = None
    time: datetime = field(default_factory=utcnow)
    seq: int = 0
    execution_id: str = ""
    parent_id: str | None = None
    attempt: int = 0

    @property
    def id(self) -> str:
        return f"{self.execution_id}:{self.seq}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type.value,
            "name": self.name,
            "source_id": self.source_id,
            "parent_id": self.parent_id,
            "attempt": self.attempt,
            "value": self.value,
            "time": self.time.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], execution_id: str = "") -> ExecutionEvent:
        time = data.get("time")
        if isinstance(time, str):
            time = datetime.fromisoformat(time)
        return cls(
            type=ExecutionEventType(data["type"]),
            name=data.get("name", ""),
            source_id=data.get("source_id", ""),
            value=data.get("value"),
            time=time or utcnow(),
            seq=int(data.get("seq", 0)),
            execution_id=execution_id or data.get("execution_id", ""),
            parent_id=data.get("parent_id"),
            attempt=int(data.get("attempt", 0)),
        )
