"""Workflows that start other workflows: ``call`` (``continue_as_new`` is in
:mod:`flux.lineage`, the waits on the world in :mod:`flux.waits`).

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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from flux import children
from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionError, ExecutionSuspended
from flux.lineage import child_id
from flux.projection import Status
from flux.run import current_node, current_run, current_task, fail_task
from flux.serialization import decode_error, encode

if TYPE_CHECKING:
    from flux.run import Run
    from flux.store import ExecutionRecord
    from flux.workflowdef import Workflow

__all__ = ["call"]


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


def _payload(args: tuple[Any, ...]) -> Any:
    if not args:
        return None
    return args[0] if len(args) == 1 else list(args)


async def _call(workflow: Workflow | str, args: tuple[Any, ...], mode: str) -> Any:
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
    value = {"input": encoded, "workflow": name, "execution_id": kid}
    if rec is None or not rec.started:
        _start(run, workflow, name, payload, kid, task_name, call_id, parent, value)
        run.emit(T.TASK_STARTED, task_name, call_id, value, parent)
    elif rec.retried:  # the parent is retried: so is the child that failed it
        children.retry_child(run, kid)
        run.emit(T.TASK_STARTED, task_name, call_id, rec.start_value, parent)
    if mode == "async":
        run.emit(T.TASK_COMPLETED, task_name, call_id, kid, parent, durable=True)
        return kid
    child = await children.wait_child(run, kid, workflow)
    if child is None:  # recorded, but the run that started it crashed before creating it
        _start(run, workflow, name, payload, kid, task_name, call_id, parent, value)
        # Just created: it exists now.
        child = cast("ExecutionRecord", await children.wait_child(run, kid, workflow))
    if child.status not in Status.FINISHED:
        raise ExecutionSuspended("waiting", None, [{
            "kind": "child", "execution_id": child.id, "workflow": child.workflow,
            "status": child.status}])
    # Not a commit each: the child's row holds the outcome, so a run that crashes before
    # the next flush reads it again (a fan-out collects a thousand in one append).
    if child.status == Status.COMPLETED:
        run.emit(T.TASK_COMPLETED, task_name, call_id, child.output, parent)
        return run.replayed(run.index.tasks[call_id])
    fail_task(run, task_name, call_id, parent, _child_error(child, name), durable=False)


def _start(run: Run, workflow: Workflow | str, name: str, payload: Any, kid: str,
           task_name: str, call_id: str, parent: str | None, value: dict[str, Any]) -> None:
    from flux.workflowdef import Workflow

    engine = run.engine
    try:
        wf = workflow if isinstance(workflow, Workflow) else engine.workflow_for(name)
        children.start_child(run, wf, payload, kid)
    except ExecutionError as exc:  # an unknown workflow, an input it refuses
        rec = run.index.tasks.get(call_id)
        if rec is None or not rec.started:
            run.emit(T.TASK_STARTED, task_name, call_id, value, parent)
        fail_task(run, task_name, call_id, parent, exc)


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
