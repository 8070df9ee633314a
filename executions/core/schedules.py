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
``next_fire_at`` has come. A worker claims due schedules by locking their rows, 100 at a time
(PostgreSQL ``FOR UPDATE SKIP LOCKED``: two workers share the work; SQLite's
transactions are serialised) and
moving ``next_fire_at`` past now in the transaction that starts the runs through
:func:`executions.core.commands.begin` with ``schedule`` and ``scheduled_for``. Those two
are unique together on the execution, so however many workers tick, a fire time gets
one run; a worker killed mid-tick rolls its transaction back and the next tick (any
worker's) fires the same times. Fires later than the catch-up window are recorded as
skipped (``skipped``, ``last_skipped_at``, ``last_skip_reason``), as are fires the
overlap policy refuses.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, transaction

from executions.access.permissions import MANAGE_SCHEDULES
from executions.core import commands, dates, starting
from executions.core.admission import WAITING
from executions.core.commands import Actor
from executions.core.conf import app_settings, clock
from executions.core.runner import engine
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
    with transaction.atomic():
        for when in times:
            outcome = commands.begin(row.workflow, row.input, actor=actor_for(row),
                                     schedule=row.name, scheduled_for=when,
                                     priority=row.priority, tags={"schedule": row.name,
                                                                  "backfill": "true"})
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

def tick(now: datetime | None = None, limit: int = 100) -> list[str]:
    """Fire what is due (every worker calls this; see the module docstring), ``limit``
    schedules per transaction, until nothing is due; the ids of the runs started."""
    now = clock.now() if now is None else now
    started: list[str] = []
    while True:
        with transaction.atomic():
            rows = list(Schedule.objects.select_for_update(skip_locked=True)
                        .filter(paused=False, next_fire_at__lte=now)
                        .order_by("next_fire_at")[:limit])
            for row in rows:
                try:
                    with transaction.atomic():
                        started += fire_due(row, now)
                except Exception:
                    log.exception("flux scheduler: firing schedule %s failed", row.name)
        if len(rows) < limit:
            return started


def fire_due(row: Schedule, now: datetime) -> list[str]:
    """Fire the due fire times of one schedule, locked by the caller's transaction."""
    started = []
    try:
        spec = row.spec()
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
        t = spec.next_fire(t)
    if t is not None and t < cutoff:
        t = spec.next_fire(cutoff - timedelta(microseconds=1))
    if missed:
        _skipped(row, last_missed, missed, "missed: later than the catch-up window "
                                           f"({row.catchup_seconds} s)")
    while t is not None and t <= now:
        execution_id = _fire(row, t)
        if execution_id:
            started.append(execution_id)
        t = spec.next_fire(t)
    row.next_fire_at = t
    row.save(update_fields=["next_fire_at", "last_fire_at", "last_execution_id",
                            "skipped", "last_skipped_at", "last_skip_reason"])
    return started


def _fire(row: Schedule, when: datetime) -> str | None:
    """Start the run of one fire time, as the overlap policy says; its id, or None."""
    policy = row.overlap
    slot = (f"schedule:{row.name}", 1) if policy == "buffer_one" else None
    if policy != "allow":
        active = Execution.objects.filter(schedule=row.name).exclude(
            status__in=Status.FINISHED)
        if policy == "skip" and active.exists():
            _skipped(row, when, 1, "skipped: the previous run has not finished (overlap "
                                   "'skip')")
            return None
        if policy == "buffer_one" and active.filter(status__in=WAITING,
                                                    started_at__isnull=True).exists():
            _skipped(row, when, 1, "skipped: a run is already waiting for the running one "
                                   "(overlap 'buffer_one')")
            return None
        if policy == "cancel_other":
            for pk in active.values_list("pk", flat=True):
                try:
                    commands.cancel(pk, actor=actor_for(row))
                except InvalidStateError:
                    pass  # it finished meanwhile
    row.last_fire_at = when
    try:
        started = commands.begin(row.workflow, row.input, actor=actor_for(row),
                                 schedule=row.name, scheduled_for=when,
                                 priority=row.priority, slot=slot,
                                 tags={"schedule": row.name})
    except ExecutionError as exc:  # the workflow is gone, the input no longer fits...
        _skipped(row, when, 1, f"not started: {exc}"[:200])
        return None
    row.last_execution_id = started.execution.pk
    return started.execution.pk if started.created else None


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
            stop.wait(pace)
    finally:
        connections.close_all()


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
