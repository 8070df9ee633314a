"""The engine's side of the executions a run starts: a ``call``'s children
(:mod:`flux.compose`) and a ``continue_as_new``'s next execution (:mod:`flux.lineage`).

Standalone (an :class:`~flux.engine.Engine` without ``dispatch``) a child is created
at once and run inline when the parent waits for it. With workers (``dispatch`` set),
children are created and queued in batches: one insert for the calls of a fan-out,
right after they were made and before the run suspends or ends; the parent then
waits without a worker.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionError, ExecutionNotFoundError
from flux.lineage import ContinueAsNew, continuation_id
from flux.projection import Status
from flux.requests import request_retry
from flux.serialization import encode
from flux.store import ExecutionRecord

if TYPE_CHECKING:
    from flux.run import Run
    from flux.workflowdef import Workflow

log = logging.getLogger("flux")

#: Children created (and queued) per insert.
BATCH = 500


def start_child(run: Run, wf: Workflow, input: Any, child_id: str) -> None:
    """Start the child execution ``child_id`` of ``run`` (once: a replay finds it)."""
    engine = run.engine
    if engine.dispatch is None:
        run.flush()  # a call is a durability point (see start_pending)
        try:
            engine.create(wf, input, execution_id=child_id, actor=run.record.actor,
                          parent_execution_id=run.record.id)
        except ValueError as exc:
            if isinstance(exc, ExecutionError):  # an input the child refuses
                raise
        return
    record = engine.record_for(wf, input, execution_id=child_id, status=Status.QUEUED,
                               actor=run.record.actor, parent_execution_id=run.record.id)
    if not run.pending_children:
        asyncio.get_running_loop().call_soon(_start_pending_soon, run)
    run.pending_children.append(record)
    run.started_children.add(child_id)


def start_pending(run: Run) -> None:
    """Create and queue the children the run's calls asked for (in batches).

    The run's log is committed first: a call is a durability point, so the log
    records every call whose child exists (and what led to it)."""
    engine = run.engine
    dispatch = engine.dispatch
    assert dispatch is not None, "children are only pending in a runtime with workers"
    if run.pending_children and not run.holding:
        run.flush()
    while run.pending_children:
        batch = run.pending_children[:BATCH]
        engine.store.create_many(batch)  # those a crashed run created are kept
        del run.pending_children[:len(batch)]
        dispatch(batch)
        engine.keep_alive(run)


def _start_pending_soon(run: Run) -> None:
    try:
        start_pending(run)
    except Exception:  # the run's end tries again, and fails the run if it must
        log.exception("flux: starting the children of %s failed", run.record.id)


def retry_child(run: Run, child_id: str) -> None:
    """The parent is retried: a child that failed is retried too."""
    engine = run.engine
    if engine.store.get(child_id).status == Status.FAILED:
        record = request_retry(engine, child_id, actor=run.record.actor)
        if engine.dispatch is not None:
            engine.dispatch([record])
    run.started_children.add(child_id)
    if run.children is not None:
        run.children.pop(child_id, None)


async def wait_child(run: Run, child_id: str, workflow: Any) -> ExecutionRecord | None:
    """The child as it is now (None: it does not exist, its start was lost in a
    crash); standalone, it is first run (inline) to its end or suspension. A child
    that continued as new is followed to its last execution."""
    engine = run.engine
    if engine.dispatch is None:
        wf = workflow if not isinstance(workflow, str) else None
        try:
            child = (await engine.run(child_id, workflow=wf)).record
        except ExecutionNotFoundError:
            return None
        if child.status in Status.FINISHED or child.status == Status.PAUSED:
            return child
        return engine.store.get(child_id)
    while True:
        if child_id in run.started_children:
            return ExecutionRecord(id=child_id, workflow=str(getattr(workflow, "name",
                                                                     workflow)),
                                   status=Status.QUEUED)
        if run.children is None:  # one query for all of them, once per run
            run.children = {c.id: c for c in engine.store.children(run.record.id)}
        found = run.children.get(child_id)
        if found is None:
            try:
                found = engine.store.get(child_id)
            except ExecutionNotFoundError:
                return None
        if found.status == Status.COMPLETED and found.continued_as:
            child_id = found.continued_as
            continue
        return found


def continue_as_new(run: Run, wf: Workflow, nxt: ContinueAsNew) -> dict[str, str]:
    """Start the next execution of ``wf`` with the given input; this one's output
    says which (``{"continued_as": id}``)."""
    engine = run.engine
    rec = run.record
    new_id = continuation_id(rec.id)
    # What the next input was computed from is committed before the next execution
    # exists: a crash after this never re-runs those tasks into a different input.
    run.flush()
    created: ExecutionRecord | None
    try:
        created = engine.create(wf, nxt.input, execution_id=new_id,
                                status=Status.QUEUED if engine.dispatch else Status.CREATED,
                                actor=rec.actor, parent_execution_id=rec.parent_execution_id,
                                continued_from=rec.id, meta=rec.meta)
    except ValueError as exc:  # created by a run that crashed before recording it
        if isinstance(exc, ExecutionError):
            raise
        created = None
    run.emit(T.WORKFLOW_CONTINUED, rec.workflow, rec.id,
             {"execution_id": new_id, "input": encode(nxt.input, "the next input")})
    if created is not None and engine.dispatch is not None:
        engine.dispatch([created])
    return {"continued_as": new_id}
