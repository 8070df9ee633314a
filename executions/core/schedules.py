"""Schedules: runs started by the clock. The one way to change a schedule, and the
scheduler that fires them (docs/schedules.md).

Doors (the API, ``flux schedules``, the pages, the admin) are adapters over the
functions here, as they are over ``executions.core.commands`` for executions: each takes
an :class:`~executions.core.commands.Actor` (``manage_schedules`` to change anything),
validates everything before writing (the spec with :mod:`flux.schedule`, the input
with the workflow's schema), and raises :class:`ScheduleNotFound` (404),
:class:`ScheduleExists` (409) or ``InvalidInputError`` (422) having written nothing.

Firing. Every worker runs :func:`scheduler_loop` (a thread beside the reaper; its own
loop because the reaper's 2 s pace would make a run start up to 2 s late): every
``FLUX_SCHEDULES["tick_seconds"]`` (0.5 s) :func:`tick` looks for schedules whose
``next_fire_at`` has come. A worker claims due schedules by locking their rows,
:data:`TICK_BATCH` at a time (PostgreSQL ``FOR UPDATE SKIP LOCKED``: two workers share
the work; SQLite's transactions are serialised) and moving ``next_fire_at`` past now in
the transaction that starts all their runs at once through
:func:`executions.core.commands.begin_many` with ``schedule`` and ``scheduled_for`` (one
INSERT on PostgreSQL, one pipelined enqueue after the commit; the rows' bookkeeping is
one UPDATE: :func:`fire_due`). Those two
are unique together on the execution, so however many workers tick, a fire time gets
one run; a worker killed mid-tick rolls its transaction back and the next tick (any
worker's) fires the same times. Fires later than the catch-up window are recorded as
skipped (``skipped``, ``last_skipped_at``, ``last_skip_reason``), as are fires the
overlap policy refuses.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, transaction

from executions.access.permissions import MANAGE_SCHEDULES
from executions.core import commands, dates, runner, starting
from executions.core.admission import WAITING
from executions.core.commands import Actor
from executions.core.conf import app_settings, clock
from executions.core.runner import engine
from executions.core.store import adapter, bound_cursor
from executions.models import Execution, Schedule
from flux.errors import ExecutionError, InvalidInputError, InvalidStateError
from flux.projection import Status
from flux.schedule import OVERLAP_POLICIES, Schedule as Spec, ScheduleError

log = logging.getLogger("executions.schedules")

#: What a code-declared schedule is called: ``<workflow>_auto``.
AUTO_SUFFIX = "_auto"
#: The most missed fires one tick counts one by one before jumping ahead.
MAX_COUNTED_SKIPS = 10_000


class ScheduleNotFound(LookupError):
    http_status, code = 404, "schedule_not_found"
    fallback = "No such schedule."

    def __init__(self, name: str) -> None:
        super().__init__(f"No schedule named '{name}'.")


class ScheduleExists(InvalidStateError):
    http_status, code = 409, "schedule_exists"
    fallback = "A schedule of that name exists already."


def get(name: str) -> Schedule:
    found = Schedule.objects.filter(name=name).first() if isinstance(name, str) else None
    if found is None:
        raise ScheduleNotFound(str(name))
    return found


def actor_for(schedule: Schedule | str) -> Actor:
    """Who starts a schedule's runs (shown as the execution's ``actor``)."""
    name = schedule.name if isinstance(schedule, Schedule) else schedule
    return Actor.system(f"schedule:{name}")


# changing schedules ---------------------------------------------------------------------

#: Fields a create or an update may set.
FIELDS = ("workflow", "cron", "interval_seconds", "timezone", "input", "overlap",
          "catchup_seconds", "priority", "paused", "note")


def create(name: str, *, actor: Actor, **fields: Any) -> Schedule:
    """A new schedule (``workflow`` and ``cron`` or ``interval_seconds`` required)."""
    actor.require(MANAGE_SCHEDULES, "create a schedule")
    row = Schedule(name=name, catchup_seconds=app_settings().schedules["catchup_seconds"])
    _apply(row, fields, actor)
    with transaction.atomic():
        if Schedule.objects.select_for_update().filter(name=name).exists():
            raise ScheduleExists(f"A schedule named '{name}' exists already.")
        row.save()
    return row


def update(name: str, *, actor: Actor, **fields: Any) -> Schedule:
    """Change the given fields (``cron`` and ``interval_seconds`` replace each other)."""
    actor.require(MANAGE_SCHEDULES, "change a schedule")
    with transaction.atomic():
        row = _locked(name)
        if "cron" in fields and fields["cron"] and "interval_seconds" not in fields:
            fields["interval_seconds"] = None
        if fields.get("interval_seconds") and "cron" not in fields:
            fields["cron"] = ""
        _apply(row, fields, actor)
        row.save()
    return row


def pause(name: str, *, actor: Actor, note: str | None = None) -> Schedule:
    return update(name, actor=actor, paused=True, **({"note": note} if note is not None
                                                     else {}))


def resume(name: str, *, actor: Actor, note: str | None = None) -> Schedule:
    """Active again from now on: fires missed while paused are not run."""
    return update(name, actor=actor, paused=False, **({"note": note} if note is not None
                                                      else {}))


def delete(name: str, *, actor: Actor) -> None:
    """Delete the schedule (its runs stay, still naming it)."""
    actor.require(MANAGE_SCHEDULES, "delete a schedule")
    if not Schedule.objects.filter(name=name).delete()[0]:
        raise ScheduleNotFound(name)


def trigger(name: str, *, actor: Actor) -> Execution:
    """Start a run now, outside the schedule's fire times (``scheduled_for`` empty)."""
    actor.require(MANAGE_SCHEDULES, "trigger a schedule")
    row = get(name)
    execution = commands.begin(row.workflow, row.input, actor=actor_for(row),
                               schedule=row.name, priority=row.priority,
                               tags={"schedule": row.name, "trigger": actor.name or "-"}
                               if actor.name else {"schedule": row.name}).execution
    Schedule.objects.filter(pk=row.pk).update(last_execution_id=execution.pk)
    return execution


@dataclass
class Backfill:
    """What a backfill did: the runs started, and the fire times that had one already."""

    started: list[Execution]
    existing: list[Execution]


def backfill(name: str, start: datetime, end: datetime, *, actor: Actor) -> Backfill:
    """One run per fire time in ``[start, end]`` (none for a fire time that has one);
    at most ``FLUX_SCHEDULES["max_backfill"]`` fire times, else nothing is started."""
    actor.require(MANAGE_SCHEDULES, "backfill a schedule")
    row = get(name)
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("Give the backfill's start and end with their offset, e.g. "
                                "2026-01-01T00:00:00+00:00.")
    try:
        start, end = dates.utc(start), dates.utc(end)
    except dates.BadMoment as exc:
        raise InvalidInputError(f"The backfill's range: {exc}") from None
    if end < start:
        raise InvalidInputError("The backfill's end is before its start.")
    limit = app_settings().schedules["max_backfill"]
    try:
        times = row.spec().fires_between(start, end, limit)
    except ScheduleError as exc:
        raise InvalidInputError(f"{exc} (at most {limit} per backfill: "
                                "FLUX_SCHEDULES['max_backfill'])") from None
    done = Backfill([], [])
    items = [commands.StartItem(row.workflow, row.input, priority=row.priority,
                                tags={"schedule": row.name, "backfill": "true"},
                                schedule=row.name, scheduled_for=when, actor=actor_for(row))
             for when in times]
    with transaction.atomic():
        outcomes = (commands.begin_many(items, actor=actor_for(row), plain_errors=True)
                    if items else [])
    for outcome in outcomes:
        assert outcome is not None  # no `refused`: a bad item raises
        (done.started if outcome.created else done.existing).append(outcome.execution)
    return done


def _locked(name: str) -> Schedule:
    row = Schedule.objects.select_for_update().filter(name=name).first()
    if row is None:
        raise ScheduleNotFound(name)
    return row


def _apply(row: Schedule, fields: dict[str, Any], actor: Actor) -> None:
    """Set ``fields`` on ``row`` after checking all of them (nothing is saved here)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise InvalidInputError(f"Unknown schedule field(s): {', '.join(sorted(unknown))}.")
    was_paused, old_spec = row.paused, (row.cron, row.interval_seconds, row.timezone)
    for key, value in fields.items():
        if key == "cron":
            value = (value or "").strip()
        if key == "note":
            value = value or ""
        if key == "paused":
            value = bool(value)
        setattr(row, key, value)
    try:
        row.full_clean(exclude=["next_fire_at", "last_fire_at"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInputError(_validation_message(exc)) from None
    try:
        spec = row.spec()
    except ScheduleError as exc:
        raise InvalidInputError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The schedule is not valid: {exc}") from None
    try:
        wf = engine().workflow_for(row.workflow)
    except ExecutionError as exc:
        raise InvalidInputError(f"Unknown workflow '{row.workflow}': {exc}") from None
    commands.check_input(row.input, "The schedule's input")
    wf.validate_input(row.input)
    starting.check_priority(row.priority)
    row.updated_by = actor.name or ""
    now = clock.now()
    spec_changed = old_spec != (row.cron, row.interval_seconds, row.timezone)
    if row.paused:
        row.next_fire_at = None
    elif row.next_fire_at is None or was_paused or spec_changed:
        row.next_fire_at = spec.next_fire(now)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for field, messages in exc.message_dict.items():
        parts.append(f"{field}: {' '.join(messages)}")
    return "The schedule is not valid: " + "; ".join(parts)


# schedules declared in code -----------------------------------------------------------

def sync_declared(workflows: dict[str, Any], using: str = "default") -> list[str]:
    """Create or update ``<workflow>_auto`` for each workflow with a ``schedule=``
    option, and delete the code-declared schedules whose workflow no longer declares
    one (registry.sync_workflows calls this in its transaction). Paused, the note and
    the bookkeeping are kept; the names of the schedules written are returned."""
    now = clock.now()
    rows = {r.name: r for r in Schedule.objects.using(using).filter(from_code=True)}
    written = []
    for name, wf in sorted(workflows.items()):
        spec: Spec | None = getattr(wf, "schedule", None)
        if spec is None:
            continue
        sname = f"{name}{AUTO_SUFFIX}"
        row = rows.pop(sname, None) or Schedule.objects.using(using).filter(
            name=sname).first() or Schedule(name=sname, from_code=True)
        values = {"workflow": name, "cron": spec.cron or "",
                  "interval_seconds": spec.interval_seconds, "timezone": spec.timezone,
                  "input": spec.input, "overlap": spec.overlap,
                  "catchup_seconds": spec.catchup_seconds, "priority": spec.priority,
                  "from_code": True}
        spec_changed = any(getattr(row, k) != values[k]
                           for k in ("cron", "interval_seconds", "timezone"))
        if row.pk is not None and not spec_changed and all(
                getattr(row, k) == v for k, v in values.items()):
            continue
        for key, value in values.items():
            setattr(row, key, value)
        if row.pk is None and spec.note:
            row.note = spec.note
        if not row.paused and (row.next_fire_at is None or spec_changed):
            row.next_fire_at = spec.next_fire(now)
        row.updated_by = "code"
        row.save(using=using)
        written.append(sname)
    for row in rows.values():  # declared once, no longer
        row.delete()
    return written


# the scheduler ------------------------------------------------------------------------

#: Schedules one tick's transaction claims and fires together.
TICK_BATCH = 1000


def tick(now: datetime | None = None, limit: int = TICK_BATCH) -> list[str]:
    """Fire what is due (every worker calls this; see the module docstring), ``limit``
    schedules per transaction, until nothing is due; the ids of the runs started."""
    now = clock.now() if now is None else now
    started: list[str] = []
    # The runs' queue messages go out once every batch of the tick is committed: worker
    # threads that began running the first batch's runs would slow the next batches
    # (the same processes, one GIL); a crash before they are sent leaves the runs to
    # the reaper's re-send, as a queue outage does.
    messages: list[tuple[str, int]] = []
    resume_gc = _pause_gc()
    try:
        while True:
            with transaction.atomic():
                rows = list(Schedule.objects.select_for_update(skip_locked=True)
                            .filter(paused=False, next_fire_at__lte=now)
                            .order_by("next_fire_at")[:limit])
                if rows:
                    started += fire_due(rows, now, messages)
            if len(rows) < limit:
                return started
    finally:
        resume_gc()
        if messages:
            runner.send_many(messages)


def _pause_gc() -> Callable[[], None]:
    """Pause the cyclic garbage collector for a tick (a function that resumes it). A
    tick of thousands of fires allocates hundreds of thousands of short-lived objects,
    freed by reference counting; the collections they trigger walk every object of the
    process, a quarter of the tick's CPU (measured: 0.65-0.75 s against 0.50 s for
    10,000 fires). Left as it was when something else had paused it."""
    if not gc.isenabled():
        return lambda: None
    gc.disable()
    return gc.enable


class _Times:
    """Fire times for one tick: a spec per (cron, interval, timezone) and its next fire
    after a moment computed once (10,000 schedules of ``* * * * *`` share both)."""

    def __init__(self) -> None:
        self.specs: dict[tuple, Spec] = {}
        self.after: dict[tuple, datetime | None] = {}

    def spec(self, row: Schedule) -> tuple[tuple, Spec]:
        key = (row.cron or None, row.interval_seconds, row.timezone)
        spec = self.specs.get(key)
        if spec is None:
            spec = self.specs[key] = Spec(cron=key[0], interval_seconds=key[1],
                                          timezone=key[2])
        return key, spec

    def next(self, key: tuple, spec: Spec, moment: datetime) -> datetime | None:
        found = self.after.get((key, moment), _NONE)
        if found is _NONE:
            found = self.after[(key, moment)] = spec.next_fire(moment)
        return found


_NONE: Any = object()


def fire_due(rows: list[Schedule], now: datetime,
             messages: list[tuple[str, int]] | None = None) -> list[str]:
    """Fire the due fire times of ``rows`` (locked by the caller's transaction): every
    run through one ``commands.begin_many`` (its INSERTs; the queue messages sent
    together after the commit, or added to ``messages`` then for the caller to send),
    the rows' bookkeeping in one statement; the ids of the runs started."""
    times = _Times()
    active = _active_runs([r.name for r in rows if r.overlap != "allow"])
    items: list[commands.StartItem] = []
    fires: list[tuple[Schedule, datetime]] = []
    for row in rows:
        for when, item in _plan(row, now, times, active.get(row.name)):
            items.append(item)
            fires.append((row, when))

    def refused(index: int, exc: ExecutionError) -> None:
        row, when = fires[index]
        _skipped(row, when, 1, f"not started: {exc}"[:200])

    outcomes = commands.begin_many(items, actor=Actor.system(None), refused=refused,
                                   messages=messages)
    started = []
    for outcome, (row, when) in zip(outcomes, fires, strict=True):
        row.last_fire_at = when
        if outcome is not None:
            row.last_execution_id = outcome.id
            if outcome.created:
                started.append(outcome.id)
    _save(rows)
    return started


def _plan(row: Schedule, now: datetime, times: _Times, active: dict[str, Any] | None
          ) -> list[tuple[datetime, commands.StartItem]]:
    """The runs to start for one schedule's due fire times, as its overlap policy says;
    fires older than the catch-up window and those the policy refuses are counted as
    skipped on ``row``, whose ``next_fire_at`` moves past ``now``."""
    try:
        key, spec = times.spec(row)
    except ScheduleError as exc:
        row.paused, row.next_fire_at = True, None
        row.note = f"Paused by the scheduler: {exc}"
        row.save(update_fields=["paused", "next_fire_at", "note", "updated_at"])
        return []
    # Fires older than the catch-up window: skipped (counted up to a bound).
    cutoff = now - timedelta(seconds=row.catchup_seconds)
    t: datetime | None = row.next_fire_at
    missed, last_missed = 0, None
    while t is not None and t < cutoff and missed < MAX_COUNTED_SKIPS:
        missed, last_missed = missed + 1, t
        t = times.next(key, spec, t)
    if t is not None and t < cutoff:
        t = times.next(key, spec, cutoff - timedelta(microseconds=1))
    if missed:
        _skipped(row, last_missed, missed, "missed: later than the catch-up window "
                                           f"({row.catchup_seconds} s)")
    due = []
    while t is not None and t <= now:
        due.append(t)
        t = times.next(key, spec, t)
    row.next_fire_at = t
    policy = row.overlap
    if policy == "cancel_other" and len(due) > 1:
        # Each fire would cancel the one before it: the last one runs.
        for when in due[:-1]:
            row.last_fire_at = when
            _skipped(row, when, 1, "skipped: a later fire replaces it (overlap "
                                   "'cancel_other')")
        due = due[-1:]
    slot = (f"schedule:{row.name}", 1) if policy == "buffer_one" else None
    out = []
    state = active or {"ids": [], "waiting": False}
    for when in due:
        row.last_fire_at = when
        if policy == "skip" and state["ids"]:
            _skipped(row, when, 1, "skipped: the previous run has not finished (overlap "
                                   "'skip')")
            continue
        if policy == "buffer_one" and state["waiting"]:
            _skipped(row, when, 1, "skipped: a run is already waiting for the running one "
                                   "(overlap 'buffer_one')")
            continue
        if policy == "cancel_other":
            for pk in state["ids"]:
                try:
                    commands.cancel(pk, actor=actor_for(row))
                except InvalidStateError:
                    pass  # it finished meanwhile
        out.append((when, commands.StartItem(
            row.workflow, row.input, priority=row.priority, tags={"schedule": row.name},
            schedule=row.name, scheduled_for=when, slot=slot, actor=actor_for(row))))
        # The run just planned is unfinished and waits for its start (cancel_other has
        # one fire left at most: nothing cancels it in this tick).
        state = {"ids": [*state["ids"], None], "waiting": True}
    return out


def _active_runs(names: list[str]) -> dict[str, dict[str, Any]]:
    """The unfinished runs of these schedules: per schedule, their ids and whether one
    of them still waits for its start (what the overlap policies look at)."""
    out: dict[str, dict[str, Any]] = {}
    if not names:
        return out
    rows = (Execution.objects.filter(schedule__in=names).exclude(status__in=Status.FINISHED)
            .values_list("schedule", "pk", "status", "started_at"))
    for name, pk, status, started_at in rows:
        state = out.setdefault(name, {"ids": [], "waiting": False})
        state["ids"].append(pk)
        if status in WAITING and started_at is None:
            state["waiting"] = True
    return out


#: The bookkeeping columns a fire changes.
_SAVED = ("next_fire_at", "last_fire_at", "last_execution_id", "skipped", "last_skipped_at",
          "last_skip_reason")


def _save(rows: list[Schedule]) -> None:
    """Write the fired rows' bookkeeping: on PostgreSQL one UPDATE from arrays, on SQLite
    one statement per row in the caller's transaction (local: cheap)."""
    conn = connections["default"]
    qn = conn.ops.quote_name
    fields = [Schedule._meta.get_field(name) for name in _SAVED]
    preps = [(f.attname, adapter(f, conn)) for f in fields]
    values = [[getattr(r, name) if prep is None else prep(getattr(r, name), conn)
               for name, prep in preps] for r in rows]
    table = qn(Schedule._meta.db_table)
    with bound_cursor(conn) as cur:
        if conn.vendor == "postgresql":
            types = [Schedule._meta.pk.rel_db_type(conn), *(f.db_type(conn) for f in fields)]
            arrays = ", ".join(f"%b::{t}[]" for t in types)
            sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
            columns = ", ".join(qn(c) for c in ["id", *(f.column for f in fields)])
            cur.execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v ({columns}) "
                        f"WHERE {table}.id = v.id",
                        [[r.pk for r in rows], *([v[i] for v in values]
                                                 for i in range(len(fields)))])
        else:
            sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
            cur.executemany(f"UPDATE {table} SET {sets} WHERE id = %s",
                            [[*v, r.pk] for v, r in zip(values, rows, strict=True)])


def _skipped(row: Schedule, when: datetime | None, count: int, reason: str) -> None:
    row.skipped += count
    row.last_skipped_at = when
    row.last_skip_reason = reason[:200]
    log.info("flux scheduler: schedule %s: %d fire(s) up to %s %s", row.name, count,
             when, reason)


def scheduler_loop(stop: threading.Event, interval: float | None = None) -> None:
    """Tick every ``interval`` seconds (FLUX_SCHEDULES["tick_seconds"]) until ``stop``
    is set: a worker's thread."""
    pace = interval if interval is not None else app_settings().schedules["tick_seconds"]
    cpu, started, since = 0.0, 0, time.monotonic()
    try:
        while not stop.is_set():
            before = time.thread_time()
            try:
                started += len(tick())
            except Exception:
                log.exception("flux scheduler: tick failed")
                connections.close_all()
            cpu += time.thread_time() - before
            if time.monotonic() - since >= 60:
                # What the scheduler costs this worker (docs/benchmarks.md reads this).
                log.info("flux scheduler: %.3f s CPU over the last %.0f s, %d runs started",
                         cpu, time.monotonic() - since, started)
                cpu, started, since = 0.0, 0, time.monotonic()
            stop.wait(_until_next_fire(pace))
    finally:
        connections.close_all()


#: The shortest wait between two ticks (a fire that is due but locked by another worker).
MIN_WAIT = 0.05


def _until_next_fire(pace: float) -> float:
    """How long to wait before the next tick: ``pace``, or less when the next fire
    time comes sooner, so a fire at 09:00:00 is seen at 09:00:00 and not up to a tick
    later. A failed look-up waits ``pace``."""
    try:
        due = (Schedule.objects.filter(paused=False, next_fire_at__isnull=False)
               .order_by("next_fire_at").values_list("next_fire_at", flat=True).first())
    except Exception:
        connections.close_all()
        return pace
    if due is None:
        return pace
    return min(pace, max(MIN_WAIT, (due - clock.now()).total_seconds()))


def preview(cron: str | None, interval_seconds: int | None, timezone: str = "UTC",
            count: int = 5) -> dict[str, Any]:
    """What a spec means, for a form that checks it as you type: ``{"valid", "error",
    "description", "next_fires"}``."""
    try:
        spec = Spec(cron=cron or None, interval_seconds=interval_seconds,
                    timezone=timezone or "UTC")
    except ScheduleError as exc:
        return {"valid": False, "error": str(exc), "description": None, "next_fires": []}
    return {"valid": True, "error": None, "description": spec.describe(),
            "next_fires": [t.isoformat() for t in spec.next_fires(clock.now(), count)]}


__all__ = ["OVERLAP_POLICIES", "Backfill", "ScheduleExists", "ScheduleNotFound", "backfill",
           "create", "delete", "pause", "preview", "resume", "sync_declared", "tick",
           "trigger", "update"]
