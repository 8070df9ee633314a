"""``ExecutionContext``: what a workflow sees of its execution, and what a run returns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from flux.domain.events import ExecutionEvent
from flux.projection import Status
from flux.serialization import decode

if TYPE_CHECKING:
    from flux.store import ExecutionRecord

TInput = TypeVar("TInput")


class ExecutionContext(Generic[TInput]):  # noqa: UP046 - docs spell it ExecutionContext[str]
    """The state of one execution.

    A workflow receives it as its first argument (``ctx.input``); ``await
    wf.run(...)`` returns it. ``ExecutionContext[str]`` works as an annotation;
    the type parameter documents the input's type.
    """

    def __init__(self, record: ExecutionRecord, events: list[ExecutionEvent],
                 input: Any = None, output_storage: Any = None) -> None:
        self._record = record
        self._events = events
        self._input = input
        self._output_storage = output_storage
        #: Values of the workflow's ``secret_requests`` (never recorded).
        self.secrets: dict[str, str] = {}

    # identity -------------------------------------------------------------
    @property
    def execution_id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.workflow

    @property
    def workflow(self) -> str:
        return self._record.workflow

    @property
    def input(self) -> TInput:
        return cast(TInput, self._input)

    @property
    def events(self) -> list[ExecutionEvent]:
        return self._events

    # state ----------------------------------------------------------------
    @property
    def state(self) -> str:
        """The status as a lowercase string (``completed``, ``paused``...)."""
        return self._record.status

    status = state

    @property
    def has_finished(self) -> bool:
        return self._record.status in Status.FINISHED

    @property
    def has_succeeded(self) -> bool:
        return self._record.status == Status.COMPLETED

    @property
    def has_failed(self) -> bool:
        return self._record.status == Status.FAILED

    @property
    def is_paused(self) -> bool:
        return self._record.status == Status.PAUSED

    @property
    def is_sleeping(self) -> bool:
        return self._record.status == Status.SLEEPING

    @property
    def is_cancelled(self) -> bool:
        return self._record.status == Status.CANCELLED

    @property
    def output(self) -> Any:
        """The workflow's return value once completed; once failed, the exception that
        failed it (as flux-core: an ``ExecutionError`` whose ``inner_exception`` is the
        cause, an ``ExecutionTimeoutError`` for a timeout), rebuilt from the log; None
        otherwise. :attr:`error` has the failure as recorded (JSON)."""
        status = self._record.status
        if status == Status.FAILED and self._record.error:
            from flux.serialization import decode_error

            return decode_error(self._record.error)
        if status != Status.COMPLETED:
            return None
        from flux.output_storage import resolve

        return resolve(self._record.output, self._output_storage)

    @property
    def error(self) -> dict[str, Any] | None:
        """The failure, as recorded (type, message, cause chain), when failed."""
        return self._record.error

    @property
    def started_at(self) -> datetime | None:
        return self._record.started_at

    @property
    def finished_at(self) -> datetime | None:
        return self._record.finished_at

    @property
    def recovery_attempts(self) -> int:
        return self._record.recovery_attempts

    @property
    def max_recovery_attempts(self) -> int:
        return self._record.max_recovery_attempts

    @property
    def record(self) -> ExecutionRecord:
        return self._record

    def to_dict(self) -> dict[str, Any]:
        """The execution as JSON (the shape the API and CLI print)."""
        return record_to_dict(self._record)

    def __repr__(self) -> str:
        return (f"<ExecutionContext {self.name} {self.execution_id} {self.state} "
                f"events={len(self._events)}>")


WorkflowExecutionContext = ExecutionContext


def record_to_dict(rec: ExecutionRecord) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v is not None else None

    return {
        "id": rec.id,
        "workflow": rec.workflow,
        "status": rec.status,
        "input": rec.input,
        "output": rec.output,
        "error": rec.error,
        "created_at": iso(rec.created_at),
        "started_at": iso(rec.started_at),
        "finished_at": iso(rec.finished_at),
        "recovery_attempts": rec.recovery_attempts,
        "max_recovery_attempts": rec.max_recovery_attempts,
        "parent_id": rec.parent_id,
        "worker": rec.worker,
    }


def decoded_input(rec: ExecutionRecord) -> Any:
    return decode(rec.input)
