"""One run of one execution: its log in memory, its replay index, its write buffer.

The engine (:mod:`flux.engine`) creates a :class:`Run` for each run it starts; tasks
reach the current one through :data:`current_run`. A run records events (``emit``),
folds them into the replay index and the execution's projection, and commits them in
groups: at durability points (``emit(..., durable=True)``: a ``durable=True`` task's
end, a pause, a sleep, a call, an event wait, progress, the run's end), else once the
oldest uncommitted event is ``flush_delay`` old (a timer while the loop is idle, a
check on each event while it is busy) or :data:`GROUP_MAX` events wait. A crash loses
only uncommitted events: the next run re-runs those tasks (tasks are at-least-once)
and records each once. It also gives each task call its deterministic id and notices
when a resumed run diverges from its log.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flux import projection
from flux.domain.events import ExecutionEvent, ExecutionEventType as T
from flux.errors import LeaseLostError, ReplayDivergenceError, SerializationError
from flux.output_storage import make_ref, resolve
from flux.replay import ReplayIndex, TaskRecord
from flux.secrets import scrub
from flux.serialization import decode_error, encode_error
from flux.store import ExecutionRecord, Lease

if TYPE_CHECKING:
    from flux.engine import Engine
    from flux.workflowdef import Workflow

log = logging.getLogger("flux")

#: Progress values are saved at most this often per execution (and when the run ends).
PROGRESS_INTERVAL = 0.5
#: A group commit holds at most this many events (one append stays a modest statement).
GROUP_MAX = 500

#: The run the current coroutine belongs to (None outside workflows).
current_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("flux_run", default=None)
#: The id of the task whose body is running (None at the workflow's top level).
current_task: contextvars.ContextVar[str | None] = contextvars.ContextVar("flux_task",
                                                                         default=None)
#: The graph node a task call is made for (set by Graph for the call only).
current_node: contextvars.ContextVar[str | None] = contextvars.ContextVar("flux_node",
                                                                         default=None)


class Run:
    """One run of one execution: the log in memory, the replay index, the buffer."""

    def __init__(self, engine: Engine, lease: Lease, record: ExecutionRecord,
                 events: list[ExecutionEvent]) -> None:
        self.engine = engine
        self.store = engine.store
        self.lease = lease
        self.record = record
        self.events = events
        self.index = ReplayIndex()
        for e in events:
            self.index.apply(e)
        self.has_history = bool(self.index.tasks)
        self.next_seq = (events[-1].seq if events else 0) + 1
        self.buffer: list[ExecutionEvent] = []
        #: When the oldest event in the buffer was recorded (monotonic).
        self._buffered_at = 0.0
        self.flush_delay = engine.flush_delay
        self._flush_handle: asyncio.TimerHandle | None = None
        #: The next lease renewal (Engine._heartbeat), while the run goes on.
        self.heartbeat: asyncio.TimerHandle | None = None
        self._occurrences: dict[tuple[str | None, str], int] = {}
        self._replay_pos: dict[str | None, int] = {}
        self.called: set[str] = set()
        self.secret_values: dict[str, str] = {}
        self.cancel_requested = False
        self.cancel_actor: str | None = None
        self.lost = False
        #: When the lease was last renewed (monotonic; see Engine.keep_alive).
        self.renewed_at = time.monotonic()
        #: While True, emit() leaves events in the buffer for the caller's flush (events
        #: that must be committed together, outside the event loop too).
        self.holding = False
        self.main: asyncio.Task[Any] | None = None
        self.workflow: Workflow | None = None
        self.suspend_sleeps_after = engine.suspend_sleeps_after
        #: Children's records as this run last read them (``call``), and the ones it started.
        self.children: dict[str, ExecutionRecord] | None = None
        self.started_children: set[str] = set()
        #: Whether this run registered an event wait (its end drops what is left open).
        self.waited = False
        #: Children asked for and not created yet (see flux.children.start_child).
        self.pending_children: list[ExecutionRecord] = []
        #: The last progress() value of each task, and when it was last saved.
        self.progress: dict[str, dict[str, Any]] = dict(record.progress or {})
        self._progress_dirty = False
        self._progress_saved = 0.0
        self._progress_handle: asyncio.TimerHandle | None = None

    # recording ---------------------------------------------------------------
    def emit(self, type: T, name: str, source_id: str, value: Any = None,
               parent_id: str | None = None, attempt: int = 0,
               durable: bool = False) -> ExecutionEvent:
        if self.secret_values:
            value = scrub(value, self.secret_values)
        event = ExecutionEvent(type, name, source_id, value, datetime.now(UTC), self.next_seq,
                               self.record.id, parent_id, attempt)
        self.next_seq += 1
        self.events.append(event)
        self.index.apply(event)
        projection.apply(self.record, event)
        buffer = self.buffer
        buffer.append(event)
        if len(buffer) == 1:
            self._buffered_at = time.monotonic()
        if durable:
            self.flush()
        elif self.holding:
            pass
        elif self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
            else:
                self._flush_handle = loop.call_later(self.flush_delay, self._timed_flush)
        elif (len(buffer) >= GROUP_MAX
              or time.monotonic() - self._buffered_at >= self.flush_delay):
            self._deferred_flush()  # a busy loop (quick tasks back to back) runs no timer
        return event

    def flush(self) -> None:
        """Commit the buffered events (one append). A failed append leaves a gap no
        later append can follow (the store refuses it: LeaseLostError), so the run
        ends there and is recovered: its uncommitted tasks run again."""
        # The deferred-flush timer is left to fire (re-arming one per task costs more
        # than the flush); it finds an empty buffer, or events younger than flush_delay.
        if not self.buffer:
            return
        batch, self.buffer = self.buffer, []
        self.store.append(self.lease, batch, self.record)

    def _timed_flush(self) -> None:
        self._flush_handle = None
        self._deferred_flush()

    def _deferred_flush(self) -> None:
        """A flush no caller waits on; when it fails (a lost lease, a database error)
        the run stops, as it would at its next flush (see :meth:`flush`)."""
        try:
            self.flush()
        except LeaseLostError:
            self._lose()
        except Exception:
            log.exception("flux: committing the events of %s failed; the run stops and "
                          "is recovered", self.record.id)
            self._lose()

    def stop_timer(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    def _lose(self) -> None:
        self.lost = True
        if self.main is not None:
            self.main.cancel("flux: lease lost")

    # progress ------------------------------------------------------------------
    def note_progress(self, task_id: str, name: str, value: Any) -> None:
        """Keep ``value`` as the task's progress; save it now, or within the interval."""
        self.progress[task_id] = {"name": name, "value": value,
                                  "time": datetime.now(UTC).isoformat()}
        self._progress_dirty = True
        if self._progress_handle is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._progress_saved + PROGRESS_INTERVAL - loop.time()
        if wait <= 0:
            self.save_progress()
        else:
            self._progress_handle = loop.call_later(wait, self.save_progress)

    def save_progress(self) -> None:
        self._progress_handle = None
        if not self._progress_dirty:
            return
        self._progress_dirty = False
        if not self.holding and not self.lost:
            # Progress is a durability point: the log shows what it reports on.
            self._deferred_flush()
        try:
            self._progress_saved = asyncio.get_running_loop().time()
        except RuntimeError:
            pass
        try:
            self.store.set_progress(self.record.id, dict(self.progress))
        except Exception:  # progress is best effort; the run goes on
            log.exception("flux: saving the progress of %s failed", self.record.id)

    def stop_progress(self) -> None:
        if self._progress_handle is not None:
            self._progress_handle.cancel()
            self._progress_handle = None
        self.save_progress()

    # identity and replay -----------------------------------------------------
    def task_id(self, name: str, encoded_args: Any, parent: str | None,
                node: str | None = None) -> str:
        payload = json.dumps([parent, node, name, encoded_args], sort_keys=True,
                             separators=(",", ":"), ensure_ascii=False)
        base = f"{name}_{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
        key = (parent, base)
        n = self._occurrences.get(key, 0)
        self._occurrences[key] = n + 1
        task_id = base if n == 0 else f"{base}~{n}"
        self.called.add(task_id)
        return task_id

    def _first_unreplayed(self, parent: str | None) -> str | None:
        order = self.index.order.get(parent)
        if not order:
            return None
        pos = self._replay_pos.get(parent, 0)
        while pos < len(order) and order[pos] in self.called:
            pos += 1
        self._replay_pos[parent] = pos
        return order[pos] if pos < len(order) else None

    async def check_divergence(self, parent: str | None, task_id: str) -> None:
        """A new task is called: fail if the log recorded something else at this point.

        Sibling coroutines may replay their recorded calls in a different order
        than they first ran, so give them a few turns of the loop first.
        """
        if not self.has_history or self._first_unreplayed(parent) is None:
            return
        for _ in range(20):
            await asyncio.sleep(0)
            if self._first_unreplayed(parent) is None:
                return
        recorded = self._first_unreplayed(parent)
        if recorded is None:
            return
        where = f"task '{parent}'" if parent else f"workflow '{self.record.workflow}'"
        raise ReplayDivergenceError(f"{where} (call #{self._replay_pos[parent] + 1})",
                                    recorded, task_id)

    def replayed(self, rec: TaskRecord, storage: Any = None) -> Any:
        if rec.failed:
            exc = decode_error(rec.result)
            mark_failed(exc, rec.id)
            raise exc
        return resolve(rec.result, storage)

    # secrets -------------------------------------------------------------------
    def secrets(self, names: list[str]) -> dict[str, str]:
        values = self.engine.secret_provider.get_many(names)
        self.secret_values.update(values)
        return values

    def secret_value(self, name: str) -> str:
        if name not in self.secret_values:
            self.secrets([name])
        return self.secret_values[name]

    def encode_output(self, storage: Any, key: str, value: Any, what: str) -> Any:
        try:
            return make_ref(storage, key, value)
        except SerializationError as exc:
            raise SerializationError(what, value, str(exc.value_type)) from None


def fail_task(run: Run, name: str, task_id: str, parent: str | None, exc: Exception,
              durable: bool = True) -> None:
    """Record ``exc`` as the task's failure (TASK_FAILED) and raise it."""
    mark_failed(exc, task_id)
    run.emit(T.TASK_FAILED, name, task_id, encode_error(exc), parent, durable=durable)
    raise exc


def mark_failed(exc: BaseException, task_id: str) -> None:
    ids = getattr(exc, "__flux_tasks__", None)
    if ids is None:
        try:
            exc.__flux_tasks__ = [task_id]  # type: ignore[attr-defined]
        except AttributeError:
            pass
    elif task_id not in ids:
        ids.append(task_id)


def failed_tasks_of(exc: BaseException) -> list[str]:
    seen: set[int] = set()
    out: list[str] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.extend(t for t in getattr(e, "__flux_tasks__", ()) if t not in out)
        todo.extend([getattr(e, "inner_exception", None), e.__cause__, e.__context__])
    return out
