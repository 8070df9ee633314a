"""Errors raised by the flux engine.

Task failures reach workflow code as :class:`ExecutionError` (or a subclass), so
``except ExecutionError`` around ``await some_task()`` catches every task
failure. Control-flow signals that user code must not swallow (suspension,
cancellation) derive from ``BaseException``, so ``except Exception`` cannot
catch them.
"""

from __future__ import annotations

from typing import Any


class ExecutionError(Exception):
    """A task or workflow failed. ``inner_exception`` is the cause."""

    def __init__(
        self,
        inner_exception: BaseException | None = None,
        message: str | None = None,
        *,
        task_id: str | None = None,
        task_name: str | None = None,
    ) -> None:
        self.inner_exception = inner_exception
        self.task_id = task_id
        self.task_name = task_name
        if message is None:
            if inner_exception is not None:
                where = f"Task '{task_name}' failed" if task_name else "Execution failed"
                message = f"{where}: {type(inner_exception).__name__}: {inner_exception}"
            else:
                message = "Execution failed"
        super().__init__(message)
        if inner_exception is not None and self.__cause__ is None:
            self.__cause__ = inner_exception

    @property
    def message(self) -> str:
        return str(self)


class RetryError(ExecutionError):
    """A task failed on its first attempt and on every retry.

    ``inner_exception`` is the last attempt's error; ``attempts`` counts every
    attempt, the first included.
    """

    def __init__(
        self,
        inner_exception: BaseException | None = None,
        attempts: int = 0,
        delay: float = 0,
        backoff: float = 0,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.attempts = attempts
        self.delay = delay
        self.backoff = backoff
        if message is None:
            cause = (
                f"{type(inner_exception).__name__}: {inner_exception}"
                if inner_exception is not None
                else "unknown error"
            )
            message = f"Gave up after {attempts} attempts; last error: {cause}"
        super().__init__(inner_exception, message, **kwargs)


class ExecutionTimeoutError(ExecutionError):
    """A task ran longer than its ``timeout`` (seconds, in ``.timeout``)."""

    def __init__(
        self,
        type: str = "task",
        name: str | None = None,
        id: str | None = None,
        timeout: float = 0,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.type = type
        self.name = name
        self.id = id
        self.timeout = timeout
        if message is None:
            message = (
                f"{type.capitalize()} '{name or id}' timed out after {timeout}s. "
                "Raise its timeout= option if it legitimately needs longer."
            )
        kwargs.setdefault("task_name", name)
        kwargs.setdefault("task_id", id)
        super().__init__(None, message, **kwargs)


class WorkflowNotFoundError(ExecutionError):
    """No workflow is registered under that name."""

    def __init__(self, name: str = "", message: str | None = None, **kwargs: Any) -> None:
        self.name = name
        if message is None:
            message = (
                f"Workflow '{name}' is not registered. Import the module that defines it "
                "(or list it in FLUX_WORKFLOW_MODULES) before running it."
            )
        super().__init__(None, message, **kwargs)


class ExecutionNotFoundError(ExecutionError):
    """No execution exists with that id."""

    def __init__(self, execution_id: str = "", message: str | None = None) -> None:
        self.execution_id = execution_id
        super().__init__(None, message or f"Execution '{execution_id}' does not exist.")


class RejectedError(ExecutionError):
    """A person rejected a pause point; raised at ``await pause(...)``."""

    def __init__(
        self,
        pause_name: str = "",
        comment: str | None = None,
        actor: str | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.pause_name = pause_name
        self.comment = comment
        self.actor = actor
        if message is None:
            who = f" by {actor}" if actor else ""
            why = f": {comment}" if comment else ""
            message = f"Pause '{pause_name}' was rejected{who}{why}"
        super().__init__(None, message, **kwargs)


class ReplayDivergenceError(ExecutionError):
    """A resumed run called a different task than the log recorded at that point.

    The workflow's code is not deterministic (or changed between runs): code
    outside tasks must take the same path every time; put time, randomness and
    I/O in tasks (``flux.tasks.now``, ``uuid4``, ``randint``...).
    """

    def __init__(self, position: str, recorded: str, called: str) -> None:
        self.position = position
        self.recorded = recorded
        self.called = called
        super().__init__(
            None,
            f"Replay diverged at {position}: the log recorded task '{recorded}' but the "
            f"workflow now calls '{called}'. Workflow code outside tasks must be "
            "deterministic: move time, randomness and I/O into tasks, or start a new "
            "execution for changed code.",
        )


class SerializationError(ExecutionError, TypeError):
    """A value cannot be stored as JSON."""

    def __init__(self, what: str, value: Any, detail: str = "") -> None:
        self.what = what
        self.value_type = type(value).__qualname__
        extra = f" ({detail})" if detail else ""
        super().__init__(
            None,
            f"Cannot store {what}: values of type '{type(value).__module__}."
            f"{type(value).__qualname__}' are not JSON-serializable{extra}. Return JSON "
            "types, dataclasses, pydantic models, datetimes, UUIDs, Decimals, bytes, sets, "
            "tuples or enums.",
        )


class SecretNotFoundError(ExecutionError):
    """A task asked for a secret that is not configured."""

    def __init__(self, names: list[str], where: str = "") -> None:
        self.names = names
        hint = f" {where}" if where else ""
        super().__init__(
            None,
            f"Secret(s) {', '.join(repr(n) for n in names)} requested but not configured."
            f"{hint}",
        )


class InvalidStateError(ExecutionError):
    """The request makes no sense in the execution's current state."""

    def __init__(self, message: str, *, status: str | None = None) -> None:
        self.status = status
        super().__init__(None, message)


class InvalidInputError(ExecutionError, ValueError):
    """Input does not match the schema it must follow. ``errors`` has each problem."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        self.errors = errors or []
        super().__init__(None, message)


class LeaseLostError(Exception):
    """Another worker took over the execution: this one must stop writing."""


class GraphValidationError(ExecutionError, ValueError):
    """A Graph is malformed. ``errors`` lists each problem with the node or edge at fault."""

    def __init__(self, graph_name: str, errors: list[dict[str, Any]]) -> None:
        self.graph_name = graph_name
        self.errors = errors
        lines = "; ".join(e["message"] + (f" ({e['hint']})" if e.get("hint") else "")
                          for e in errors)
        super().__init__(None, f"Graph '{graph_name}' is invalid: {lines}")


class ExecutionSuspended(BaseException):  # noqa: N818 - a signal, not an error
    """Unwinds a run that paused or went to sleep. Never seen by user code."""

    def __init__(self, reason: str, wake_at: float | None = None,
                 waiting: list[dict[str, Any]] | None = None) -> None:
        #: "paused", "sleeping" or "waiting" (for children or events: see ``waiting``)
        self.reason = reason
        self.wake_at = wake_at
        #: What the run waits for: [{"kind": "child" | "event" | "sleep" | "pause", ...}]
        self.waiting = list(waiting or [])
        super().__init__(reason)


class ExecutionCancelled(BaseException):  # noqa: N818 - a signal, not an error
    """The execution was cancelled. Derives from BaseException on purpose."""

    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor
        super().__init__(f"Execution cancelled{f' by {actor}' if actor else ''}")
