"""Requests from outside a run: answer a pause, retry, cancel; the reapers' expire
and recover.

Each takes the execution's lease for the length of one short write (so it never
races a worker: a running execution is asked, through its row, to stop) and records
what was decided in the log. :class:`~flux.engine.Engine` exposes them as its
methods (``engine.request_resume(...)``, ``engine.cancel(...)``...); the Django
app reaches them through ``executions/core/commands.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flux.clock import clock
from flux.domain.events import ExecutionEventType as T
from flux.errors import InvalidInputError, InvalidStateError
from flux.projection import Status
from flux.run import Run
from flux.serialization import encode
from flux.text import refuse_bad_text

if TYPE_CHECKING:
    from flux.engine import Engine
    from flux.replay import TaskRecord
    from flux.store import ExecutionRecord


def request_resume(engine: Engine, execution_id: str, input: Any = None, *,
                   pause: str | None = None, approved: bool = True,
                   actor: str | None = None, comment: str | None = None) -> ExecutionRecord:
    """Answer a pending pause (approve with ``input``, or reject). Returns the record.

    The execution becomes ``queued``: run it (``Engine.run``) or let a worker.
    """
    run, lease = engine.session(execution_id)
    try:
        rec = run.record
        pending = run.index.pending_pauses()
        # Queued with a pause still pending: pauses in parallel branches, one of
        # them answered already; the next run passes both.
        if rec.status not in (Status.PAUSED, Status.QUEUED) or not pending:
            raise InvalidStateError(
                f"Execution {execution_id} is {rec.status}, not paused: only a paused "
                "execution can be resumed.", status=rec.status)
        target = pending[0]
        if pause is not None:
            matches = [p for p in pending if p.name == pause or p.id == pause]
            if not matches:
                names = ", ".join(p.name for p in pending)
                raise InvalidStateError(
                    f"Execution {execution_id} is not paused at '{pause}' "
                    f"(pending: {names}).", status=rec.status)
            target = matches[0]
        if approved:
            validate_pause_input(target, input)
            refuse_bad_text(encode(input, f"the answer to pause '{target.name}'"),
                            f"The answer to pause '{target.name}'")
        refuse_bad_text(comment, "The comment")
        decide(run, target, input, approved=approved, actor=actor, comment=comment)
        run.flush()
        return run.record
    finally:
        engine.store.release(lease)


def decide(run: Run, pause: TaskRecord, input: Any, *, approved: bool,
           actor: str | None, comment: str | None) -> None:
    """Record the answer to ``pause`` (committed by the caller's next flush)."""
    encoded = encode(input, "the resume input")
    value = {"input": encoded, "approved": approved, "actor": actor, "comment": comment,
             "name": pause.name}
    run.holding = True  # both in one append: the first alone would end the lease
    try:
        if approved:  # flux-core's event: its value is the resume input
            run.emit(T.WORKFLOW_RESUMING, run.record.workflow, run.record.id, encoded)
        run.emit(T.TASK_RESUMED, pause.name, pause.id, value, pause.parent_id)
    finally:
        run.holding = False


def validate_pause_input(pause: TaskRecord, input: Any) -> None:
    """Refuse ``input`` that does not match the pause's JSON schema (if it has one)."""
    schema = (pause.paused or {}).get("schema")
    if not schema:
        return
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a dependency
        return
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(input),
                    key=lambda e: list(e.path))
    if errors:
        raise InvalidInputError(
            f"Input for pause '{pause.name}' does not match its schema: "
            + "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
                        for e in errors),
            errors=[{"path": list(e.path), "message": e.message} for e in errors])


def request_retry(engine: Engine, execution_id: str, *,
                  actor: str | None = None) -> ExecutionRecord:
    """Queue a failed execution to run again from its last successful state."""
    run, lease = engine.session(execution_id)
    try:
        rec = run.record
        if rec.status != Status.FAILED:
            raise InvalidStateError(
                f"Execution {execution_id} is {rec.status}: only a failed execution can "
                "be retried.", status=rec.status)
        run.emit(T.WORKFLOW_QUEUED, rec.workflow, rec.id,
                 {"reason": "retry", "actor": actor}, durable=True)
        return run.record
    finally:
        engine.store.release(lease)


def cancel(engine: Engine, execution_id: str, *, actor: str | None = None) -> ExecutionRecord:
    """Cancel now if nothing runs it; else flag it and its worker stops it within ~1 s."""
    store = engine.store
    for _ in range(2):
        claimed = engine.claim(execution_id)
        if claimed is not None:
            lease, record = claimed
            try:
                if record.status in Status.FINISHED:
                    raise InvalidStateError(
                        f"Execution {execution_id} already {record.status}: there is "
                        "nothing to cancel.", status=record.status)
                run = Run(engine, lease, record, store.events(execution_id))
                run.emit(T.WORKFLOW_CANCELLED, record.workflow, record.id,
                         {"actor": actor or record.cancel_actor}, durable=True)
            finally:
                store.release(lease)
            store.forget_waits(execution_id)
            cancel_children(engine, execution_id, actor=actor)
            return run.record
        rec = store.request_cancel(execution_id, actor)
        if rec.status in Status.FINISHED:
            raise InvalidStateError(
                f"Execution {execution_id} already {rec.status}: there is nothing to "
                "cancel.", status=rec.status)
        if rec.lease_is_live():
            return rec
    return store.get(execution_id)


def cancel_children(engine: Engine, execution_id: str, *,
                    actor: str | None = None) -> list[str]:
    """Cancel the unfinished children of an execution (it was cancelled or timed out)."""
    done = []
    for child in engine.store.children(execution_id):
        if child.status in Status.FINISHED:
            continue
        try:
            cancel(engine, child.id, actor=actor)
            done.append(child.id)
        except InvalidStateError:
            pass
    return done


def expire(engine: Engine, execution_id: str) -> bool:
    """For reapers: fail a suspended execution whose whole-run timeout passed (a
    running one times out in its worker). True when it was failed here."""
    claimed = engine.claim(execution_id)
    if claimed is None:
        return False
    lease, record = claimed
    try:
        if (record.status in Status.FINISHED or record.deadline is None
                or clock.now() < record.deadline):
            return False
        engine.time_out(Run(engine, lease, record, engine.store.events(execution_id)))
    finally:
        engine.store.release(lease)
    engine.store.forget_waits(execution_id)
    return True


def recover(engine: Engine, execution_id: str) -> ExecutionRecord | None:
    """For reapers: mark a running execution whose lease expired as interrupted.

    Returns the record when it should be run again, None otherwise (the lease is
    live again, it was not running, or it may not recover and is now failed).
    """
    claimed = engine.store.claim(execution_id, engine.owner, engine.lease_seconds)
    if claimed is None:
        return None
    lease, record = claimed
    try:
        if record.status not in (Status.RUNNING, Status.CANCELLING):
            return None
        run = Run(engine, lease, record, engine.store.events(execution_id))
        if record.cancel_requested:
            run.emit(T.WORKFLOW_CANCELLED, record.workflow, record.id,
                     {"actor": record.cancel_actor}, durable=True)
            return None
        return run.record if engine.note_interruption(run) else None
    finally:
        engine.store.release(lease)
