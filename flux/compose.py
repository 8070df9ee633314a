"""Workflows that compose and wait on the world: ``call``, ``continue_as_new``,
``wait_for_event`` and ``progress``.

``await call(other_workflow, input)`` starts a child execution (its own id, log and
worker) and returns its output; its failure raises :class:`~flux.errors.ExecutionError`
at the call. The child's id is derived from the parent's id and the call's task id,
so a replayed or recovered parent finds the child it started (never a second one),
even when it crashed between starting the child and recording it. The call is
recorded in the parent's log as the task ``call_workflow_<name>`` (flux-core's name):
``TASK_STARTED`` (its value names the child: ``execution_id``) and ``TASK_COMPLETED``
/ ``TASK_FAILED``.

How the parent waits depends on the runtime. Standalone (an :class:`~flux.engine.Engine`
without ``dispatch``) the child runs inline, in the same process and store. In a runtime
with workers (the Django app) the child is queued for any worker and the parent
suspends (status ``sleeping``, ``waiting_for`` naming the child) holding no worker;
the child's end wakes it.

``await wait_for_event("payment", match={"order": 7}, timeout=3600)`` suspends until
an event of that name whose payload has every field of ``match`` is sent (by name, or
to this execution) and returns the payload; after ``timeout`` it raises
:class:`~flux.errors.ExecutionTimeoutError`. An event sent before the wait is kept
for it (see :meth:`flux.store.Store.send_event`).

``await progress(value)`` inside a task keeps ``value`` as the task's latest progress
(no event per call: the last value per task, saved at most every
:data:`PROGRESS_INTERVAL` seconds and when the task ends).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flux.clock import clock
from flux.domain.events import ExecutionEventType as T
from flux.errors import (
    ExecutionError,
    ExecutionSuspended,
    ExecutionTimeoutError,
    InvalidInputError,
)
from flux.projection import Status
from flux.run import current_node, current_run, current_task, mark_failed
from flux.serialization import decode_error, encode, encode_error

if TYPE_CHECKING:
    from flux.run import Run
    from flux.store import ExecutionRecord
    from flux.workflowdef import Workflow

#: The largest event payload, as JSON bytes (the Django app applies FLUX_MAX_INPUT_BYTES).
MAX_PAYLOAD_BYTES = 1_048_576
#: Progress values are saved at most this often per execution (and when a task ends).
PROGRESS_INTERVAL = 0.5

__all__ = ["call", "continue_as_new", "progress", "wait_for_event"]


def child_id(parent_id: str, call_id: str) -> str:
    """The id of the child a parent's call starts: the same on every replay."""
    return hashlib.sha256(f"{parent_id}/{call_id}".encode()).hexdigest()[:32]


# call -------------------------------------------------------------------------------

class _CallFunction:
    """``call(workflow, *args)``; ``call.map(workflow, inputs)`` fans out."""

    def __call__(self, workflow: Workflow | str, *args: Any, mode: str = "sync") -> Any:
        """Start ``workflow`` (a Workflow or its name) as a child execution with ``args``
        as its input (one argument: that value; several: a list) and return its output
        (``mode="sync"``), or its execution id at once (``mode="async"``: the parent
        does not wait)."""
        if mode not in ("sync", "async"):
            raise ValueError(f"mode must be 'sync' or 'async', got: '{mode}'")
        return _call(workflow, args, mode)

    def map(self, workflow: Workflow | str, inputs: Iterable[Any], *,
            max_concurrent: int | None = None, raise_on_error: bool = True) -> Any:
        """One child per input, concurrently (as ``Task.map``); outputs in order."""
        from flux.tasks import parallel

        return parallel(*(self(workflow, item) for item in inputs),
                        max_concurrent=max_concurrent, raise_on_error=raise_on_error)

    def __repr__(self) -> str:
        return "<flux.call>"


call = _CallFunction()


def _payload(args: tuple) -> Any:
    if not args:
        return None
    return args[0] if len(args) == 1 else list(args)


async def _call(workflow: Workflow | str, args: tuple, mode: str) -> Any:
    from flux.workflowdef import Workflow

    name = workflow.name if isinstance(workflow, Workflow) else str(workflow)
    payload = _payload(args)
    run = current_run.get()
    if run is None:  # outside a workflow: just run it
        from flux.engine import Engine

        engine = Engine()
        wf = workflow if isinstance(workflow, Workflow) else engine.workflow_for(name)
        ctx = await engine.start(wf, payload)
        return ctx.execution_id if mode == "async" else _outcome(ctx.record, name)
    parent, node = current_task.get(), current_node.get()
    task_name = f"call_workflow_{name}"
    encoded = encode(payload, f"the input of the call to workflow '{name}'")
    call_id = run.task_id(task_name, {"workflow": name, "input": encoded, "mode": mode},
                          parent, node)
    rec = run.index.tasks.get(call_id)
    if rec is not None and rec.done:
        return run.replayed(rec)
    if rec is None:
        await run.check_divergence(parent, call_id)
    kid = child_id(run.record.id, call_id)
    engine = run.engine
    value = {"input": encoded, "workflow": name, "execution_id": kid}
    if rec is None or not rec.started:
        _start(run, workflow, name, payload, kid, task_name, call_id, parent, value)
        run.emit(T.TASK_STARTED, task_name, call_id, value, parent)
    elif rec.retried:  # the parent is retried: so is the child that failed it
        engine.retry_child(run, kid)
        run.emit(T.TASK_STARTED, task_name, call_id, rec.start_value, parent)
    if mode == "async":
        run.emit(T.TASK_COMPLETED, task_name, call_id, kid, parent, durable=True)
        return kid
    child = await engine.wait_child(run, kid, workflow)
    if child is None:  # recorded, but the run that started it crashed before creating it
        _start(run, workflow, name, payload, kid, task_name, call_id, parent, value)
        child = await engine.wait_child(run, kid, workflow)
    if child.status not in Status.FINISHED:
        raise ExecutionSuspended("waiting", None, [{
            "kind": "child", "execution_id": child.id, "workflow": child.workflow,
            "status": child.status}])
    # Not a commit each: the child's row holds the outcome, so a run that crashes before
    # the next flush reads it again (a fan-out collects a thousand in one append).
    if child.status == Status.COMPLETED:
        run.emit(T.TASK_COMPLETED, task_name, call_id, child.output, parent)
        return run.replayed(run.index.tasks[call_id])
    _fail(run, task_name, call_id, parent, _child_error(child, name), durable=False)


def _start(run: Run, workflow: Workflow | str, name: str, payload: Any, kid: str,
           task_name: str, call_id: str, parent: str | None, value: dict) -> None:
    from flux.workflowdef import Workflow

    engine = run.engine
    try:
        wf = workflow if isinstance(workflow, Workflow) else engine.workflow_for(name)
        engine.start_child(run, wf, payload, kid)
    except ExecutionError as exc:  # an unknown workflow, an input it refuses
        rec = run.index.tasks.get(call_id)
        if rec is None or not rec.started:
            run.emit(T.TASK_STARTED, task_name, call_id, value, parent)
        _fail(run, task_name, call_id, parent, exc)


def _fail(run: Run, name: str, task_id: str, parent: str | None, exc: Exception,
          durable: bool = True) -> None:
    mark_failed(exc, task_id)
    run.emit(T.TASK_FAILED, name, task_id, encode_error(exc), parent, durable=durable)
    raise exc


def _child_error(child: ExecutionRecord, name: str) -> ExecutionError:
    if child.status == Status.CANCELLED:
        return ExecutionError(message=f"Child execution {child.id} of workflow '{name}' "
                                      "was cancelled.")
    inner = decode_error(child.error) if child.error else None
    detail = f": {inner}" if inner is not None else ""
    return ExecutionError(inner if isinstance(inner, BaseException) else None,
                          f"Child execution {child.id} of workflow '{name}' failed{detail}")


def _outcome(record: ExecutionRecord, name: str) -> Any:
    from flux.output_storage import resolve

    if record.status == Status.COMPLETED:
        return resolve(record.output, None)
    if record.status in Status.FINISHED:
        raise _child_error(record, name)
    raise ExecutionError(message=f"Execution {record.id} of workflow '{name}' is "
                                 f"{record.status}; it has no output yet.")


# continue-as-new ----------------------------------------------------------------------

@dataclass(frozen=True)
class ContinueAsNew:
    """Returned by a workflow: end this execution and start a fresh one of the same
    workflow with ``input`` (linked: ``continued_from`` / ``continued_as``)."""

    input: Any = None


def continue_as_new(input: Any = None) -> ContinueAsNew:
    """``return continue_as_new(next_input)``: this execution completes, and a new one
    of the same workflow starts with ``next_input`` and an empty log. A workflow that
    loops forever keeps each log short this way."""
    return ContinueAsNew(input)


def continuation_id(execution_id: str) -> str:
    return hashlib.sha256(f"{execution_id}/continued".encode()).hexdigest()[:32]


# events from the world ------------------------------------------------------------------

def check_match(match: Any) -> dict | None:
    """``match`` as wait_for_event takes it: None, or an object of field -> JSON value."""
    if match is None:
        return None
    if not isinstance(match, dict) or not all(isinstance(k, str) for k in match):
        raise InvalidInputError(f"match must be an object of field names to values, got "
                                f"{match!r}")
    try:
        encoded = encode(match, "the match of wait_for_event")
    except Exception as exc:
        raise InvalidInputError(str(exc)) from None
    if encoded != match:
        raise InvalidInputError("match values must be plain JSON values (text, numbers, "
                                f"booleans, null, lists, objects), got {match!r}")
    return match


def check_event_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInputError(f"An event name must be text of 1 to 200 characters, got "
                                f"{name!r}")
    return name


def _seconds(value: timedelta | float | int | None) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise ValueError("timeout must be more than 0 seconds")
    return seconds


async def wait_for_event(name: str, *, match: dict | None = None,
                         timeout: timedelta | float | None = None) -> Any:
    """Wait (holding no worker) for an event called ``name`` whose payload has every
    field of ``match``; return its payload. After ``timeout`` (seconds or a timedelta)
    raise :class:`~flux.errors.ExecutionTimeoutError` (catchable)."""
    check_event_name(name)
    match = check_match(match)
    seconds = _seconds(timeout)
    run = current_run.get()
    if run is None:
        raise RuntimeError("wait_for_event() only works inside a running workflow")
    parent, node = current_task.get(), current_node.get()
    wait_id = run.task_id("wait_for_event", {"name": name, "match": match}, parent, node)
    rec = run.index.tasks.get(wait_id)
    if rec is not None and rec.done:
        return run.replayed(rec)
    if rec is None:
        await run.check_divergence(parent, wait_id)
    store = run.store
    if rec is None or not rec.started:
        expires = (clock.now() + timedelta(seconds=seconds)) if seconds else None
        run.emit(T.TASK_STARTED, name, wait_id,
                 {"input": {"name": name, "match": match, "timeout": seconds},
                  "event": name, "match": match,
                  "expires_at": expires.isoformat() if expires else None}, parent,
                 durable=True)
        start_value = run.index.tasks[wait_id].start_value
    else:
        start_value = rec.start_value or {}
    expires_at = start_value.get("expires_at")
    run.waited = True
    delivered, payload = store.wait_event(run.record.id, wait_id, name, match,
                                          datetime.fromisoformat(expires_at)
                                          if expires_at else None)
    if not delivered and expires_at and clock.now() >= datetime.fromisoformat(expires_at):
        delivered, payload = store.close_wait(run.record.id, wait_id)
        if not delivered:
            err = ExecutionTimeoutError("event", name, wait_id, seconds or 0,
                                        message=f"No event '{name}' matching {match or {}} "
                                                f"arrived within {seconds}s.")
            try:
                _fail(run, name, wait_id, parent, err)
            finally:
                store.forget_waits(run.record.id, wait_id)
    if delivered:
        run.emit(T.TASK_COMPLETED, name, wait_id, payload, parent, durable=True)
        store.forget_waits(run.record.id, wait_id)
        return run.replayed(run.index.tasks[wait_id])
    wake = datetime.fromisoformat(expires_at).timestamp() if expires_at else None
    raise ExecutionSuspended("waiting", wake, [{"kind": "event", "name": name,
                                                "match": match, "until": expires_at}])


def send_event(name: str, payload: Any = None, *, execution_id: str | None = None,
               store: Any = None, keep_for: float | None = None) -> tuple[list[str], bool]:
    """Standalone delivery (the Django app has its command, ``send_event``): deliver
    ``payload`` to the waiting executions of ``store`` (default: the configured one)
    and return ``(delivered ids, kept)``; run the delivered executions again
    (``wf.run(execution_id=...)``) to continue them."""
    from flux import config

    check_event_name(name)
    store = store if store is not None else config.default_store()
    keep = keep_for if keep_for is not None else float(config.option("event_keep_seconds"))
    now = clock.now()
    return store.send_event(name, encode(payload, f"the payload of event '{name}'"),
                            execution_id=execution_id,
                            keep_until=now + timedelta(seconds=keep), now=now)


# progress -------------------------------------------------------------------------------

async def progress(value: Any) -> None:
    """Report progress from inside a task (``{"processed": i, "total": n}`` draws a bar
    on the execution page). Kept as the task's last value, never as an event: cheap to
    call in a tight loop. Outside a task it does nothing (as flux-core)."""
    run = current_run.get()
    task_id = current_task.get()
    if run is None or task_id is None:
        return
    task = run.index.tasks.get(task_id)
    run.note_progress(task_id, task.name if task else task_id,
                      encode(value, "a progress value"))
