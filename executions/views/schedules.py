"""The schedule pages: ``/schedules/`` (every schedule, and a form making one) and
``/schedules/<name>/`` (its sentence, next fire times, recent runs, and pause, resume,
trigger, backfill, change and delete). Plain forms over ``executions.core.schedules``; the
form's "check as you type" asks ``POST /api/schedules/preview`` (frontend/schedules.ts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from executions.access.permissions import MANAGE_SCHEDULES, VIEW, allowed, page_requires
from executions.core import commands, schedules
from executions.core.commands import Actor
from executions.core.conf import clock
from executions.models import Execution, Schedule
from executions.views.common import pretty
from flux.errors import ExecutionError
from flux.schedule import OVERLAP_POLICIES


def _form_fields(post: Any) -> dict[str, Any]:
    """A schedule form's fields as the schedule layer takes them."""
    fields: dict[str, Any] = {
        "workflow": post.get("workflow", "").strip(),
        "timezone": post.get("timezone", "").strip() or "UTC",
        "input": commands.parse_json(post.get("input"), "The input"),
        "overlap": post.get("overlap") or "skip",
        "note": post.get("note", ""),
    }
    if post.get("kind") == "interval":
        fields["interval_seconds"] = _int(post.get("interval_seconds"), "The interval")
        fields["cron"] = ""
    else:
        fields["cron"] = post.get("cron", "")
        fields["interval_seconds"] = None
    for name, label in (("catchup_seconds", "The catch-up window"), ("priority",
                                                                     "The priority")):
        if post.get(name, "").strip():
            fields[name] = _int(post.get(name), label)
    return fields


def _int(text: str | None, what: str) -> int:
    from flux.errors import InvalidInputError

    try:
        return int((text or "").strip())
    except ValueError:
        raise InvalidInputError(f"{what} must be a whole number, not {text!r}.") from None


def _context(request: HttpRequest, row: Schedule | None = None, **extra: Any
             ) -> dict[str, Any]:
    """The page's context; ``f`` holds the form's values: what was posted, else the
    schedule's (or a new one's defaults)."""
    f: dict[str, Any] = {"new": row is None, "name": "", "workflow": "", "kind": "cron",
                         "cron": "", "interval_seconds": "", "timezone": "UTC", "input": "",
                         "overlap": "skip", "catchup_seconds": "", "priority": "", "note": ""}
    if row is not None:
        f.update(workflow=row.workflow, kind="interval" if row.interval_seconds else "cron",
                 cron=row.cron, interval_seconds=row.interval_seconds or "",
                 timezone=row.timezone, overlap=row.overlap,
                 input=pretty(row.input) if row.input is not None else "",
                 catchup_seconds=row.catchup_seconds, priority=row.priority, note=row.note)
    posted = extra.get("form") or {}
    f.update({k: v for k, v in posted.items() if k in f and k != "new"})
    return {"can_manage": allowed(request.user, MANAGE_SCHEDULES),
            "overlaps": OVERLAP_POLICIES, "f": f, **extra}


@page_requires(VIEW)
def schedule_list(request: HttpRequest) -> HttpResponse:
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = request.POST.dict()
        name = request.POST.get("name", "").strip()
        try:
            row = schedules.create(name, actor=Actor.of(request.user),
                                   **_form_fields(request.POST))
        except ExecutionError as exc:
            form["message"] = str(exc)
        else:
            messages.success(request, f"Schedule {row.name} created.")
            return redirect(reverse("schedule", args=[row.name]))
    now = clock.now()
    rows = [(s, s.next_fires(now, 1)) for s in Schedule.objects.order_by("name")]
    status = 422 if form.get("message") else 200
    return render(request, "schedules/schedule_list.html",
                  _context(request, rows=rows, form=form), status=status)


ACTIONS = ("pause", "resume", "trigger", "backfill", "update", "delete")


@page_requires(VIEW)
def schedule_detail(request: HttpRequest, name: str) -> HttpResponse:
    row = Schedule.objects.filter(name=name).first()
    if row is None:
        raise Http404(f"No schedule named '{name}'.")
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = request.POST.dict()
        try:
            done = _act(request, row)
        except (ExecutionError, schedules.ScheduleNotFound) as exc:
            form["message"] = str(exc)
        else:
            messages.success(request, done)
            if request.POST.get("action") == "delete":
                return redirect(reverse("schedules"))
            return redirect(reverse("schedule", args=[row.name]))
    row.refresh_from_db()
    now = clock.now()
    recent = Execution.objects.filter(schedule=row.name).order_by("-created_at")[:20]
    status = 422 if form.get("message") else 200
    return render(request, "schedules/schedule_detail.html", _context(
        request, row, s=row, next_fires=row.next_fires(now), recent=recent, form=form),
        status=status)


def _act(request: HttpRequest, row: Schedule) -> str:
    action = request.POST.get("action")
    actor = Actor.of(request.user)
    if action == "pause":
        schedules.pause(row.name, actor=actor, note=request.POST.get("note") or None)
        return f"Paused {row.name}."
    if action == "resume":
        schedules.resume(row.name, actor=actor)
        return f"Resumed {row.name}: it fires again from now on."
    if action == "trigger":
        execution = schedules.trigger(row.name, actor=actor)
        return f"Started run {execution.pk[:8]}."
    if action == "backfill":
        start = _moment(request.POST.get("start"), "The start")
        end = _moment(request.POST.get("end"), "The end")
        done = schedules.backfill(row.name, start, end, actor=actor)
        return (f"Backfill: {len(done.started)} run(s) started, {len(done.existing)} fire "
                "time(s) had one already.")
    if action == "update":
        schedules.update(row.name, actor=actor, **_form_fields(request.POST))
        return f"Saved {row.name}."
    if action == "delete":
        schedules.delete(row.name, actor=actor)
        return f"Deleted {row.name}; its runs stay."
    from flux.errors import InvalidInputError

    raise InvalidInputError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")


def _moment(text: str | None, what: str) -> datetime:
    from flux.errors import InvalidInputError

    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInputError(f"{what} must be a time such as 2026-01-01T09:00+01:00, not "
                                f"{text!r}.") from None
    if value.tzinfo is None:
        raise InvalidInputError(f"{what} needs its offset, e.g. 2026-01-01T09:00+01:00.")
    return value
