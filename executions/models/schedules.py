"""The ``Schedule`` model: a workflow that starts by itself (``executions/core/schedules.py``).

A row holds the spec (a cron expression or an interval, a timezone), what each run
gets (``input``, ``priority``), the overlap policy and catch-up window, paused/active
with a note, and the scheduler's bookkeeping: ``next_fire_at`` (the next fire time
no run was started for yet; every worker's scheduler claims fires by moving it), the
last fire and run, and the fires skipped. Rows declared in code (``<workflow>_auto``)
have ``from_code`` set and are rewritten by each sync; the rest are made through the
API, the CLI, the pages or the admin. ``to_dict`` is the public JSON (DESIGN.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.validators import RegexValidator
from django.db import models

from flux.schedule import OVERLAP_POLICIES, Schedule as Spec

#: A schedule's name: letters, digits, ``_ - .`` (it appears in URLs and on the CLI).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"


class Schedule(models.Model):
    """A schedule: when a workflow starts by itself, with what."""

    name = models.CharField(max_length=200, unique=True, validators=[RegexValidator(
        NAME_PATTERN, "Use letters, digits, '_', '-' and '.' (starting with a letter or "
                      "digit).")])
    workflow = models.CharField(max_length=200)
    cron = models.CharField(max_length=200, blank=True, default="")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    input = models.JSONField(null=True, blank=True)
    overlap = models.CharField(max_length=16, default="skip",
                               choices=[(p, p) for p in OVERLAP_POLICIES])
    catchup_seconds = models.PositiveIntegerField(default=300)
    priority = models.IntegerField(default=0)
    paused = models.BooleanField(default=False)
    note = models.TextField(blank=True, default="")
    #: Declared in code (``@workflow.with_options(schedule=...)``): the sync rewrites it.
    from_code = models.BooleanField(default=False)
    #: The next fire time no run was started (or skipped) for; None when paused or done.
    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fire_at = models.DateTimeField(null=True, blank=True)
    last_execution_id = models.CharField(max_length=64, null=True, blank=True)
    skipped = models.PositiveIntegerField(default=0, help_text="Fires skipped so far.")
    last_skipped_at = models.DateTimeField(null=True, blank=True)
    last_skip_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["paused", "next_fire_at"], name="schedule_due")]
        permissions = [("manage_schedules", "Can create, change, pause and trigger "
                                            "schedules")]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> Spec:
        """The engine's :class:`flux.schedule.Schedule` for this row."""
        return Spec(cron=self.cron or None, interval_seconds=self.interval_seconds,
                    timezone=self.timezone, overlap=self.overlap,
                    catchup_seconds=self.catchup_seconds, input=self.input,
                    priority=self.priority)

    def sentence(self) -> str:
        try:
            return self.spec().describe()
        except ValueError:
            return self.cron or f"every {self.interval_seconds} s"

    def next_fires(self, now: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` fire times (none while paused)."""
        if self.paused:
            return []
        spec = self.spec()
        start = self.next_fire_at if self.next_fire_at and self.next_fire_at > now else now
        first = [self.next_fire_at] if self.next_fire_at and self.next_fire_at > now else []
        return (first + spec.next_fires(start, count))[:count]

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "workflow": self.workflow,
            "cron": self.cron or None,
            "interval_seconds": self.interval_seconds,
            "timezone": self.timezone,
            "input": self.input,
            "overlap": self.overlap,
            "catchup_seconds": self.catchup_seconds,
            "priority": self.priority,
            "paused": self.paused,
            "note": self.note,
            "from_code": self.from_code,
            "description": self.sentence(),
            "next_fires": [_iso(t) for t in self.next_fires(now)],
            "last_fire_at": _iso(self.last_fire_at),
            "last_execution_id": self.last_execution_id,
            "skipped": self.skipped,
            "last_skipped_at": _iso(self.last_skipped_at),
            "last_skip_reason": self.last_skip_reason or None,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "updated_by": self.updated_by or None,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
