"""Waiting on the world: ``wait_for_event`` and its delivery (``send_event``), and
``progress`` from inside a task.

``await wait_for_event("payment", match={"order": 7}, timeout=3600)`` suspends until
an event of that name whose payload has every field of ``match`` is sent (by name, or
to this execution) and returns the payload; after ``timeout`` it raises
:class:`~flux.errors.ExecutionTimeoutError`. An event sent before the wait is kept
for it (see :meth:`flux.store.Store.send_event`).

``await progress(value)`` inside a task keeps ``value`` as the task's latest progress
(no event per call: the last value per task, saved at most every
:data:`flux.run.PROGRESS_INTERVAL` seconds and when the run ends).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flux.clock import clock
from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionSuspended, ExecutionTimeoutError, InvalidInputError
from flux.run import current_node, current_run, current_task, fail_task
from flux.serialization import encode

if TYPE_CHECKING:
    from flux.store import Store

__all__ = ["progress", "send_event", "wait_for_event"]


# events from the world ------------------------------------------------------------------

def check_match(match: Any) -> dict[str, Any] | None:
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


async def wait_for_event(name: str, *, match: dict[str, Any] | None = None,
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
                fail_task(run, name, wait_id, parent, err)
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
               store: Store | None = None, keep_for: float | None = None
               ) -> tuple[list[str], bool]:
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
