"""Running executions: claim, replay, record, finish.

:class:`Engine` is the only thing that writes an execution's log, and only
while it holds the execution's lease (see :mod:`flux.store`). A run re-runs
the workflow function from the top; every task call first looks its id up in
the :class:`~flux.replay.ReplayIndex` and returns the recorded result if
there is one, so only new work runs. A run ends when the workflow returns,
fails, is cancelled, or suspends (a pause, or a durable sleep in a runtime
with timers); a suspended execution holds no worker and no lease.

Events are recorded in memory as they happen and committed in groups (see
:mod:`flux.run`): at durability points (a ``durable=True`` task's end, a pause, a
sleep, a call, an event wait, progress, the run's end) at once, else once the oldest
is ``flush_delay`` seconds old; a one-task run is one commit, and a slow task is
visible while it runs. Requests from outside a run (resume, retry, cancel, and the
reapers' expire and recover) are in :mod:`flux.requests`; the executions a run starts
(children, continuations) in :mod:`flux.children`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flux import children, config, requests
from flux.clock import clock
from flux.context import ExecutionContext
from flux.domain.events import ExecutionEventType as T
from flux.errors import (
    ExecutionCancelled,
    ExecutionError,
    ExecutionSuspended,
    ExecutionTimeoutError,
    InvalidStateError,
    LeaseLostError,
    WorkflowNotFoundError,
)
from flux.lineage import ContinueAsNew
from flux.projection import Status
from flux.registry import registry, resolvers
from flux.run import Run, current_node, current_run, current_task, failed_tasks_of
from flux.serialization import SECRET_RESOLVER, decode, encode, encode_error
from flux.store import ExecutionRecord, Lease, Store
from flux.text import refuse_bad_text

if TYPE_CHECKING:
    from flux.secrets import SecretProvider
    from flux.workflowdef import Workflow

log = logging.getLogger("flux")


_HOST = socket.gethostname()


def worker_name() -> str:
    return f"{_HOST}:{os.getpid()}"


def _owner_is_dead_here(owner: str | None) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Engine:
    """Starts, runs, resumes, retries and cancels executions in one store."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
        secrets: SecretProvider | None = None,
        suspend_sleeps_after: float | None = None,
        flush_delay: float | None = None,
        registry: Mapping[str, Workflow] | None = None,
        dispatch: Callable[[list[ExecutionRecord]], None] | None = None,
    ) -> None:
        self.store = store if store is not None else config.default_store()
        self.owner = owner or f"{worker_name()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = float(lease_seconds or config.option("lease_seconds"))
        self.secret_provider = secrets if secrets is not None else config.default_secrets()
        #: Durable sleeps longer than this suspend the execution (None: sleep in-process).
        self.suspend_sleeps_after = suspend_sleeps_after
        self.flush_delay = float(flush_delay if flush_delay is not None
                                 else config.option("flush_delay"))
        self._registry = registry
        #: How a runtime with workers runs a new execution (a child, a continuation):
        #: ``dispatch(records)`` queues them. None (standalone): they run inline, here.
        self.dispatch = dispatch

    # creating ---------------------------------------------------------------
    def create(self, workflow: Workflow, input: Any = None, *, execution_id: str | None = None,
               status: str = Status.CREATED, actor: str | None = None,
               parent_id: str | None = None, meta: dict[str, Any] | None = None,
               parent_execution_id: str | None = None,
               continued_from: str | None = None) -> ExecutionRecord:
        """Store a new execution of ``workflow`` (validated, encoded input)."""
        record = self.record_for(workflow, input, execution_id=execution_id, status=status,
                                 actor=actor, parent_id=parent_id, meta=meta,
                                 parent_execution_id=parent_execution_id,
                                 continued_from=continued_from)
        self.store.create(record)
        return record

    def record_for(self, workflow: Workflow, input: Any = None, *,
                   execution_id: str | None = None, status: str = Status.CREATED,
                   actor: str | None = None, parent_id: str | None = None,
                   meta: dict[str, Any] | None = None, parent_execution_id: str | None = None,
                   continued_from: str | None = None) -> ExecutionRecord:
        """A new execution's record, not stored yet (the input validated and encoded)."""
        workflow.validate_input(input)
        encoded = encode(input, f"the input of workflow '{workflow.name}'")
        refuse_bad_text(encoded, f"The input of workflow '{workflow.name}'")
        return ExecutionRecord(
            id=execution_id or uuid.uuid4().hex,
            workflow=workflow.name,
            input=encoded,
            status=status,
            max_recovery_attempts=workflow.max_recovery_attempts,
            recover_on_worker_loss=workflow.recover_on_worker_loss,
            durable=workflow.durable,
            parent_id=parent_id,
            actor=actor,
            meta=dict(meta or {}),
            parent_execution_id=parent_execution_id,
            continued_from=continued_from,
        )

    async def start(self, workflow: Workflow, input: Any = None, **kwargs: Any
                    ) -> ExecutionContext[Any]:
        record = self.create(workflow, input, **kwargs)
        return await self.run(record.id, workflow=workflow)

    def workflow_for(self, name: str, record: ExecutionRecord | None = None) -> Workflow:
        """The workflow called ``name``: the registry, then the resolvers."""
        reg = self._registry if self._registry is not None else registry
        found = reg.get(name)
        if found is None:
            for resolve_workflow in resolvers:
                found = resolve_workflow(name, record)
                if found is not None:
                    break
        if found is None:
            raise WorkflowNotFoundError(name)
        return found

    def context(self, execution_id: str, workflow: Workflow | None = None,
                record: ExecutionRecord | None = None) -> ExecutionContext[Any]:
        """The execution as it is stored now (``record``: as just read)."""
        if record is None:
            record = self.store.get(execution_id)
        storage = workflow.output_storage if workflow else None
        return ExecutionContext(record, self.store.events(execution_id), decode(record.input),
                                storage)

    # leases -------------------------------------------------------------------
    def claim(self, execution_id: str) -> tuple[Lease, ExecutionRecord] | None:
        claimed = self.store.claim(execution_id, self.owner, self.lease_seconds)
        if claimed is None:
            holder = self.store.get(execution_id).lease_owner
            if _owner_is_dead_here(holder):
                claimed = self.store.claim(execution_id, self.owner, self.lease_seconds,
                                           steal_from=holder)
        return claimed

    def _busy(self, execution_id: str) -> InvalidStateError:
        rec = self.store.get(execution_id)
        if rec.lease_owner is None:  # the store declined it (e.g. a worker's filter)
            return InvalidStateError(f"Execution {execution_id} is {rec.status}: there is "
                                     "nothing to run.", status=rec.status)
        return InvalidStateError(
            f"Execution {execution_id} is {rec.status} on worker {rec.lease_owner}; "
            "wait for it to stop or cancel it.", status=rec.status)

    def session(self, execution_id: str) -> tuple[Run, Lease]:
        claimed = self.claim(execution_id)
        if claimed is None:
            raise self._busy(execution_id)
        lease, record = claimed
        return Run(self, lease, record, self.store.events(execution_id)), lease

    # running --------------------------------------------------------------------
    async def run(self, execution_id: str, *, workflow: Workflow | None = None,
                  actor: str | None = None, only_runnable: bool = False
                  ) -> ExecutionContext[Any]:
        """Run an execution until it finishes, pauses or sleeps; return its context.

        A paused one continues past its (first) pending pause with no input; a
        failed one is retried from its last successful state; a completed or
        cancelled one is returned as it is. With ``only_runnable`` (queue
        workers: a message says "look at it", not "resume it"), a paused or
        failed execution is returned as it is too.
        """
        ctx = await self._run_one(execution_id, workflow=workflow, actor=actor,
                                  only_runnable=only_runnable)
        # Standalone, a continue_as_new runs on here; with workers it was dispatched.
        while self.dispatch is None and ctx.record.continued_as:
            ctx = await self._run_one(ctx.record.continued_as, workflow=workflow)
        return ctx

    async def _run_one(self, execution_id: str, *, workflow: Workflow | None = None,
                       actor: str | None = None, only_runnable: bool = False
                       ) -> ExecutionContext[Any]:
        claimed = self.claim(execution_id)
        if claimed is None:
            rec = self.store.get(execution_id)
            if rec.status in Status.FINISHED or (only_runnable and rec.status == Status.PAUSED):
                return self.context(execution_id, workflow, rec)
            raise self._busy(execution_id)
        lease, record = claimed
        if only_runnable and record.status in (Status.PAUSED, Status.FAILED):
            self.store.release(lease)
            return self.context(execution_id, workflow)
        try:
            # A fresh execution has no log to load (the claim says where it ends).
            events = self.store.events(execution_id) if record.last_seq else []
            wf = workflow or self.workflow_for(record.workflow, record)
            run = Run(self, lease, record, events)
            run.workflow = wf
            ctx: ExecutionContext[Any] = ExecutionContext(record, run.events, None,
                                                          wf.output_storage)
            try:
                if self._prepare(run, wf, actor):
                    ctx._input = decode(record.input)
                    await self._execute(run, wf, ctx)
            except LeaseLostError:
                log.warning("flux: lost the lease on %s; another worker took over", execution_id)
            return ctx
        finally:
            self.store.release(lease)

    def _prepare(self, run: Run, wf: Workflow, actor: str | None) -> bool:
        """Write what starts this run; False when there is nothing to run."""
        rec = run.record
        status = rec.status
        if status in Status.FINAL:
            return False
        if rec.cancel_requested:
            run.emit(T.WORKFLOW_CANCELLED, rec.workflow, rec.id,
                       {"actor": rec.cancel_actor}, durable=True)
            return False
        started = bool(run.events)
        if rec.deadline is not None and clock.now() >= rec.deadline:
            self.time_out(run)
            return False
        if status == Status.RUNNING and started:
            # Its worker died (we could claim the lease): a recovery.
            if not self.note_interruption(run):
                return False
            status = Status.INTERRUPTED
        if not started:
            start: dict[str, Any] = {"input": rec.input, "actor": actor or rec.actor}
            if wf.timeout is not None:
                start["deadline"] = (clock.now() + timedelta(seconds=wf.timeout)).isoformat()
            run.emit(T.WORKFLOW_STARTED, rec.workflow, rec.id, start)
            return True
        reason = {Status.FAILED: "retry", Status.SLEEPING: "wake",
                  Status.INTERRUPTED: "recovery", Status.PAUSED: "resume"}.get(status, "resume")
        if status == Status.PAUSED:
            pending = run.index.pending_pauses()
            if pending:
                requests.decide(run, pending[0], None, approved=True, actor=actor,
                                comment=None)
        value: dict[str, Any] = {"reason": reason}
        if actor:
            value["actor"] = actor
        if reason == "recovery" and not rec.durable:
            value["restart"] = True
        run.emit(T.WORKFLOW_RESUMED, rec.workflow, rec.id, value)
        return True

    def note_interruption(self, run: Run, error: str | None = None) -> bool:
        """Record that the run's worker was lost; False when it may not recover."""
        rec = run.record
        run.emit(T.WORKFLOW_INTERRUPTED, rec.workflow, rec.id,
                   {"worker": rec.lease_owner if rec.lease_owner != self.owner else None,
                    "attempt": rec.recovery_attempts + 1,
                    "max_attempts": rec.max_recovery_attempts})
        if not rec.recover_on_worker_loss or rec.recovery_attempts > rec.max_recovery_attempts:
            why = ("recover_on_worker_loss is off" if not rec.recover_on_worker_loss else
                   f"{rec.max_recovery_attempts} recovery attempts are used up")
            err = {"type": "WorkerLostError", "module": "flux.errors",
                   "message": error or f"The worker running this execution stopped and {why}."}
            run.emit(T.WORKFLOW_FAILED, rec.workflow, rec.id, {"error": err}, durable=True)
            return False
        run.flush()
        return True

    async def _execute(self, run: Run, wf: Workflow, ctx: ExecutionContext[Any]) -> None:
        loop = asyncio.get_running_loop()
        cv = contextvars.copy_context()
        cv.run(current_run.set, run)
        cv.run(current_task.set, None)
        cv.run(current_node.set, None)
        cv.run(SECRET_RESOLVER.set, run.secret_value)
        if wf.secret_requests:
            ctx.secrets = run.secrets(list(wf.secret_requests))
        run.main = main = loop.create_task(wf.func(ctx), context=cv)
        interval = min(1.0, self.lease_seconds / 3)
        beat = loop.call_later(interval, self._heartbeat, run, interval)
        run.heartbeat = beat
        rec = run.record
        try:
            try:
                if rec.deadline is None:
                    result = await main
                else:
                    async with asyncio.timeout((rec.deadline - clock.now()).total_seconds()):
                        result = await main
            finally:
                if run.heartbeat is not None:
                    run.heartbeat.cancel()
                run.stop_timer()
                run.stop_progress()
                if run.pending_children and not run.lost:
                    children.start_pending(run)
        except ExecutionSuspended as s:
            self._suspend(run, s)
        except TimeoutError:
            if rec.deadline is None or clock.now() < rec.deadline or run.lost:
                raise
            self.time_out(run)
        except (asyncio.CancelledError, ExecutionCancelled):
            if run.lost:
                return
            if not run.cancel_requested:
                run.flush()
                raise
            run.emit(T.WORKFLOW_CANCELLED, rec.workflow, rec.id,
                       {"actor": run.cancel_actor}, durable=True)
            requests.cancel_children(self, rec.id, actor=run.cancel_actor)
        except LeaseLostError:
            raise
        except Exception as exc:
            run.emit(T.WORKFLOW_FAILED, rec.workflow, rec.id,
                       {"error": encode_error(exc), "failed_tasks": failed_tasks_of(exc)},
                       durable=True)
        else:
            if isinstance(result, ContinueAsNew):
                result = children.continue_as_new(run, wf, result)
            try:
                output = run.encode_output(wf.output_storage, f"{rec.id}/output", result,
                                           f"the output of workflow '{wf.name}'")
            except ExecutionError as exc:
                run.emit(T.WORKFLOW_FAILED, rec.workflow, rec.id,
                           {"error": encode_error(exc)}, durable=True)
            else:
                run.emit(T.WORKFLOW_COMPLETED, rec.workflow, rec.id, output, durable=True)

        if rec.status in Status.FINISHED and run.waited:
            self.store.forget_waits(rec.id)

    def _suspend(self, run: Run, s: ExecutionSuspended) -> None:
        """Record where the run stopped: paused for a person, or asleep until a timer, a
        child's end or an event wakes it; ``waiting_for`` says which."""
        rec = run.record
        pending = run.index.pending_pauses()
        waiting = [{"kind": "pause", "name": p.name, "title": (p.paused or {}).get("title"),
                    "task_id": p.id} for p in pending] + s.waiting
        if pending or s.reason == "paused":
            first = (pending[0].paused or {}) if pending else {}
            run.emit(T.WORKFLOW_PAUSED, rec.workflow, rec.id,
                     {"pauses": [p.name for p in pending],
                      "name": pending[0].name if pending else None,
                      "output": first.get("output"), "waiting_for": waiting}, durable=True)
            return
        wake_at = s.wake_at
        if s.reason == "sleeping" and wake_at is not None:
            waiting.append({"kind": "sleep",
                            "until": datetime.fromtimestamp(wake_at, UTC).isoformat()})
        if rec.deadline is not None:  # the timeout wakes it too
            end = rec.deadline.timestamp()
            wake_at = end if wake_at is None else min(wake_at, end)
        wake = datetime.fromtimestamp(wake_at, UTC).isoformat() if wake_at is not None else None
        run.emit(T.WORKFLOW_SLEEPING, rec.workflow, rec.id,
                 {"wake_at": wake, "waiting_for": waiting}, durable=True)

    def time_out(self, run: Run) -> None:
        """The whole run's ``timeout`` ran out: it fails, its children are cancelled."""
        rec = run.record
        wf_timeout = None
        try:
            wf_timeout = self.workflow_for(rec.workflow, rec).timeout
        except WorkflowNotFoundError:
            pass
        exc = ExecutionTimeoutError(
            "workflow", rec.workflow, rec.id, wf_timeout or 0,
            message=f"Workflow '{rec.workflow}' ran out of time: its timeout"
                    + (f" of {wf_timeout:g}s" if wf_timeout else "")
                    + f" ended at {rec.deadline.isoformat() if rec.deadline else '?'}.")
        run.emit(T.WORKFLOW_FAILED, rec.workflow, rec.id,
                 {"error": encode_error(exc), "failed_tasks": []}, durable=True)
        requests.cancel_children(self, rec.id, actor="timeout")

    # the lease while running --------------------------------------------------
    def keep_alive(self, run: Run) -> None:
        """Renew the lease now if the heartbeat is overdue: work that holds the event
        loop for long (a fan-out starting a thousand children) keeps its lease."""
        now = time.monotonic()
        if now - run.renewed_at < min(1.0, self.lease_seconds / 3):
            return
        run.renewed_at = now
        try:
            if not run.holding:
                run.flush()  # what it did so far shows, and survives a crash
            self.store.renew(run.lease, self.lease_seconds)
        except LeaseLostError:
            run._lose()
            raise

    def _heartbeat(self, run: Run, interval: float) -> None:
        """Renew the lease every ``interval`` seconds while the run goes on (a timer
        callback on the run's loop, not a task: most runs end before the first beat),
        and stop the run when its row asks for a cancel."""
        run.heartbeat = None
        run.renewed_at = time.monotonic()
        try:
            rec = self.store.renew(run.lease, self.lease_seconds)
        except LeaseLostError:
            run._lose()
            return
        except Exception:
            log.exception("flux: heartbeat for %s failed", run.record.id)
        else:
            if rec.cancel_requested and not run.cancel_requested:
                run.cancel_requested = True
                run.cancel_actor = rec.cancel_actor
                if run.main is not None:
                    run.main.cancel("flux: cancelled")
                return
        loop = asyncio.get_running_loop()
        run.heartbeat = loop.call_later(interval, self._heartbeat, run, interval)


    # requests from outside a run (flux/requests.py) ------------------------------
    def request_resume(self, execution_id: str, input: Any = None, *, pause: str | None = None,
                       approved: bool = True, actor: str | None = None,
                       comment: str | None = None) -> ExecutionRecord:
        """Answer a pending pause (:func:`flux.requests.request_resume`)."""
        return requests.request_resume(self, execution_id, input, pause=pause,
                                       approved=approved, actor=actor, comment=comment)

    def request_retry(self, execution_id: str, *, actor: str | None = None) -> ExecutionRecord:
        """Queue a failed execution to run again (:func:`flux.requests.request_retry`)."""
        return requests.request_retry(self, execution_id, actor=actor)

    def cancel(self, execution_id: str, *, actor: str | None = None) -> ExecutionRecord:
        """Cancel an execution (:func:`flux.requests.cancel`)."""
        return requests.cancel(self, execution_id, actor=actor)

    def expire(self, execution_id: str) -> bool:
        """Fail a suspended execution past its timeout (:func:`flux.requests.expire`)."""
        return requests.expire(self, execution_id)

    def recover(self, execution_id: str) -> ExecutionRecord | None:
        """Mark a run whose worker died as interrupted (:func:`flux.requests.recover`)."""
        return requests.recover(self, execution_id)
