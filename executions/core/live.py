"""Live events: committed events reach the websocket consumers, without a connection per event.

Two ways in, chosen by the channel layer (``mode()``):

* **push** (a layer that crosses processes: Redis pub/sub, the scaled shape). Every
  process that commits events (workers, web processes running actions) forwards
  :data:`executions.core.signals.events_committed` to one :class:`Publisher`: a
  long-lived thread with its own event loop and channel layer, fed by a queue.
  Whatever is queued when it wakes up is merged per execution and sent as one
  message to the execution's group at once; the lists' group gets one message
  for all executions that changed, at most every ``LIST_INTERVAL`` seconds (a
  busy worker commits hundreds of batches a second; a list page needs to hear of
  them a few times a second). The committing thread only appends to the queue
  (microseconds); no ``async_to_sync`` per event (6-7 ms each, it opens a
  connection per call).
* **poll** (the in-memory layer of the embedded shape, where workers are other
  processes that cannot reach this process's layer). Each web process runs one
  :class:`DatabasePoller` task in its event loop while any consumer is
  connected. It reads new ``Event`` rows by primary key every ``POLL_INTERVAL``
  seconds (SQLite has one writer at a time, so ids become visible in commit
  order) and sends them to the local groups, batched per execution.

Either way consumers drop events at or below the last seq they sent and read
any gap from the database, so a lost or duplicated message never shows as a
missed or doubled event: the database is the truth.

Group messages:

* ``execution.<id>``: ``{"type": "flux.events", "execution_id", "events": [EVENT...],
  "execution": EXECUTION}``
* ``executions``: ``{"type": "flux.executions", "executions": [EXECUTION...]}`` (each
  execution once, its latest JSON). Consumers also accept the older single form
  ``{"type": "flux.execution", "execution": EXECUTION}``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.layers import BaseChannelLayer, channel_layers, get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from flux.projection import Status

log = logging.getLogger("executions.live")

#: The lists' and overview's group.
LIST_GROUP = "executions"
#: Seconds between two reads of new events in poll mode.
POLL_INTERVAL = float(getattr(settings, "FLUX_LIVE_POLL_INTERVAL", 0.05))
#: How often the poller reads running executions' task progress (poll mode).
PROGRESS_POLL_INTERVAL = 0.5
#: Events read per poll at most (the next poll reads the rest at once).
POLL_BATCH = 2000
#: Seconds between two messages to the lists' group from one publisher.
LIST_INTERVAL = float(getattr(settings, "FLUX_LIVE_LIST_INTERVAL", 0.05))


def execution_group(execution_id: str) -> str:
    return f"execution.{execution_id}"


def mode(layer: BaseChannelLayer | None = None) -> str:
    """``"poll"`` for a layer that stays in this process, else ``"push"``."""
    from channels.layers import InMemoryChannelLayer

    layer = layer if layer is not None else get_channel_layer()
    return "poll" if layer is None or isinstance(layer, InMemoryChannelLayer) else "push"


def _latest(a: dict | None, b: dict | None) -> dict | None:
    """The newer of two JSONs of one execution (by last_seq; the later one on a tie)."""
    if a is None or b is None:
        return b if a is None else a
    return a if (a.get("last_seq") or 0) > (b.get("last_seq") or 0) else b


def merge(batch: Iterable[tuple[str, list[dict], dict | None]]
          ) -> dict[str, tuple[list[dict], dict | None]]:
    """Per execution: its events in seq order without duplicates, and its latest JSON."""
    merged: dict[str, tuple[dict[int, dict], dict | None]] = {}
    for execution_id, events, execution in batch:
        seen, latest = merged.get(execution_id, ({}, None))
        for event in events:
            seen[event["seq"]] = event
        merged[execution_id] = (seen, _latest(latest, execution))
    return {eid: ([seen[s] for s in sorted(seen)], latest)
            for eid, (seen, latest) in merged.items()}


async def _gather(sends: list) -> None:
    results = await asyncio.gather(*sends, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.warning("live: a group_send failed (clients catch up from the database): %s",
                        result)


async def send_events(layer: BaseChannelLayer,
                      merged: dict[str, tuple[list[dict], dict | None]]) -> None:
    """One message per execution to its group."""
    await _gather([layer.group_send(execution_group(execution_id), {
        "type": "flux.events", "execution_id": execution_id, "events": events,
        "execution": execution}) for execution_id, (events, execution) in merged.items()])


async def send_list(layer: BaseChannelLayer, executions: list[dict]) -> None:
    """One message to the lists' group carrying every execution given."""
    if executions:
        await _gather([layer.group_send(LIST_GROUP, {"type": "flux.executions",
                                                     "executions": executions})])


async def send_batch(layer: BaseChannelLayer,
                     merged: dict[str, tuple[list[dict], dict | None]]) -> None:
    """One message per execution to its group, and one to the lists' group."""
    await send_events(layer, merged)
    await send_list(layer, [ex for _, ex in merged.values() if ex is not None])


# push mode ---------------------------------------------------------------------------

class Publisher:
    """One thread with its own loop and channel layer, sending queued events in batches."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self._queue: queue.SimpleQueue[tuple[str, list[dict], dict | None] | None] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wakeup: threading.Event = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, execution_id: str, events: list[dict], execution: dict | None) -> None:
        """Queue events for publishing (called by the committing thread; never blocks)."""
        self._ensure_thread()
        self._idle.clear()
        self._queue.put((execution_id, events, execution))
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop closed at exit
                pass

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until everything queued so far was sent (tests, process exit)."""
        return self._idle.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                started = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(started,),
                                                name="flux-live-publisher", daemon=True)
                self._thread.start()
                started.wait(5)

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    def _run(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._event = asyncio.Event()
            self._loop = loop
            started.set()
            layer = channel_layers.make_backend(self.alias)
            # The lists' group hears of changed executions at most every LIST_INTERVAL.
            listed: dict[str, dict] = {}
            list_due = 0.0
            while True:
                batch = self._drain()
                if batch:
                    merged = merge(batch)
                    for eid, (_, execution) in merged.items():
                        if execution is not None:
                            listed[eid] = _latest(listed.get(eid), execution) or execution
                    try:
                        await send_events(layer, merged)
                    except Exception:
                        log.exception("live: publishing failed (clients catch up from the "
                                      "database)")
                now = loop.time()
                if listed and now >= list_due:
                    executions, listed = list(listed.values()), {}
                    list_due = now + LIST_INTERVAL
                    try:
                        await send_list(layer, executions)
                    except Exception:
                        log.exception("live: publishing failed")
                if batch:
                    continue
                if not listed:
                    self._idle.set()
                    if not self._queue.empty():
                        self._idle.clear()
                        continue
                try:
                    timeout = max(0.0, list_due - loop.time()) if listed else None
                    await asyncio.wait_for(self._event.wait(), timeout)
                except TimeoutError:
                    pass
                self._event.clear()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def _drain(self) -> list[tuple[str, list[dict], dict | None]]:
        out: list[tuple[str, list[dict], dict | None]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return out
            if item is not None:
                out.append(item)


_publisher: Publisher | None = None


def publisher() -> Publisher:
    global _publisher
    if _publisher is None:
        _publisher = Publisher()
        atexit.register(_publisher.flush, 1.0)
    return _publisher


def on_events_committed(sender: Any, execution_id: str, events: list[dict],
                        execution: dict | None = None, **kwargs: Any) -> None:
    """The ``events_committed`` receiver: queue them; never raise on the engine's path."""
    try:
        publisher().submit(execution_id, events, execution)
    except Exception:
        log.exception("live: could not queue events of %s", execution_id)


def on_progress_saved(sender: Any, execution_id: str, progress: dict, **kwargs: Any) -> None:
    """The ``progress_saved`` receiver: publish the execution's JSON (its ``progress``)."""
    try:
        from executions.models import Execution

        row = Execution.objects.filter(pk=execution_id).first()
        if row is not None:
            publisher().submit(execution_id, [], row.to_dict())
    except Exception:
        log.exception("live: could not queue the progress of %s", execution_id)


def install() -> None:
    """Connect the publisher to ``events_committed`` (and task progress) when the layer
    crosses processes.

    Called from ``ExecutionsConfig.ready`` in every process (web and workers).
    """
    from executions.core.signals import events_committed, progress_saved

    if getattr(settings, "CHANNEL_LAYERS", None) and mode() == "push":
        events_committed.connect(on_events_committed, dispatch_uid="executions.live.publish")
        progress_saved.connect(on_progress_saved, dispatch_uid="executions.live.progress")


# poll mode ---------------------------------------------------------------------------

class DatabasePoller:
    """Reads new events by id and sends them to this process's groups (embedded shape)."""

    def __init__(self, layer: BaseChannelLayer, interval: float = POLL_INTERVAL) -> None:
        self.layer = layer
        self.interval = interval
        self.users = 0
        self.last_id: int | None = None
        self.task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="flux-live-poller")
        #: Running executions' progress as last sent, and when it is next read.
        self.progress: dict[str, Any] = {}
        self.progress_due = 0.0

    async def _db(self, fn: Any, *args: Any) -> Any:
        def call() -> Any:
            close_old_connections()
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def start(self) -> None:
        if self.last_id is None:
            self.last_id = await self._db(last_event_id)
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        try:
            while True:
                try:
                    more = await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("live: polling events failed; trying again")
                    more = False
                if not more:
                    await asyncio.sleep(self.interval)
        finally:
            await asyncio.get_running_loop().run_in_executor(self._executor, _close_db)

    async def poll_once(self) -> bool:
        """Send the events committed since the last poll; True when there may be more."""
        last_id, merged, full = await self._db(read_new_events, self.last_id or 0, POLL_BATCH)
        self.last_id = last_id
        if merged:
            await send_batch(self.layer, merged)
        now = asyncio.get_running_loop().time()
        if now >= self.progress_due:  # task progress is no event: read it on its own
            self.progress_due = now + PROGRESS_POLL_INTERVAL
            changed = await self._db(read_progress, self.progress)
            if changed:
                await send_events(self.layer, {eid: ([], ex) for eid, ex in changed.items()})
        return full


def _close_db() -> None:
    from django.db import connections

    connections.close_all()


def last_event_id() -> int:
    from executions.models import Event

    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def read_progress(seen: dict[str, Any]) -> dict[str, dict]:
    """Running executions whose task progress changed since ``seen`` (updated in place):
    their JSON, by id."""
    from executions.models import Execution

    rows = dict(Execution.objects.filter(status=Status.RUNNING).exclude(progress={})
                .values_list("pk", "progress")[:500])
    changed = [pk for pk, value in rows.items() if seen.get(pk) != value]
    seen.clear()
    seen.update(rows)
    return {e.pk: e.to_dict() for e in Execution.objects.filter(pk__in=changed)}


def read_new_events(after_id: int, limit: int
                    ) -> tuple[int, dict[str, tuple[list[dict], dict | None]], bool]:
    """Events with id > after_id (oldest first), merged per execution with its JSON."""
    from executions.models import Event, Execution

    rows = list(Event.objects.filter(id__gt=after_id).order_by("id")[:limit])
    if not rows:
        return after_id, {}, False
    by_execution: dict[str, list[dict]] = {}
    for row in rows:
        by_execution.setdefault(row.execution_id, []).append(row.to_dict())
    executions = {e.pk: e.to_dict() for e in Execution.objects.filter(pk__in=by_execution)}
    merged = merge((eid, events, executions.get(eid)) for eid, events in by_execution.items())
    return rows[-1].id, merged, len(rows) == limit


_pollers: dict[asyncio.AbstractEventLoop, DatabasePoller] = {}


async def attach() -> None:
    """A consumer connected: in poll mode, make sure this loop's poller runs."""
    layer = get_channel_layer()
    if mode(layer) != "poll":
        return
    loop = asyncio.get_running_loop()
    poller = _pollers.get(loop)
    if poller is None:
        poller = _pollers[loop] = DatabasePoller(layer)
        poller.users += 1
        await poller.start()
    else:
        poller.users += 1


async def detach() -> None:
    """A consumer left: the last one stops the poller (it restarts with the next)."""
    loop = asyncio.get_running_loop()
    poller = _pollers.get(loop)
    if poller is None:
        return
    poller.users -= 1
    if poller.users <= 0:
        _pollers.pop(loop, None)
        if poller.task is not None:
            poller.task.cancel()
            try:
                await poller.task
            except (asyncio.CancelledError, Exception):
                pass
        poller._executor.shutdown(wait=False)
