"""The overview (``/``) and the workflow pages (``/workflows/``, ``/workflows/<name>/``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean, median

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDay, TruncHour
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from executions.access import permissions
from executions.core import commands, workers
from executions.core.commands import Actor
from executions.core.conf import clock
from executions.models import EventWait, Execution, Workflow
from executions.views.common import (
    STATUSES,
    capabilities,
    human_duration,
    pretty,
    worker_lost,
)
from flux.errors import InvalidInputError, WorkflowNotFoundError
from flux.projection import Status

RANGES = {"24h": (timedelta(hours=24), timedelta(hours=1), TruncHour),
          "7d": (timedelta(days=7), timedelta(days=1), TruncDay)}
SERIES = (("started", "Started"), ("completed", "Completed"), ("failed", "Failed"))
#: Seconds the overview's aggregates (counts by status, the chart) are reused for, per
#: web process. Every open overview re-renders within a second of changes, and counting
#: all executions by status reads every row (~170 ms at a million on PostgreSQL): with
#: this, that is one count per process per period, whatever the number of viewers.
OVERVIEW_REUSE_SECONDS = 2.0


def _reused(key: str, compute):
    """``compute()``, or its value from the last OVERVIEW_REUSE_SECONDS (Django's cache;
    the age is told by the runtime's clock)."""
    now = clock.time()
    kept = cache.get(key)
    if kept is not None and 0 <= now - kept[0] < OVERVIEW_REUSE_SECONDS:
        return kept[1]
    value = compute()
    cache.set(key, (now, value), OVERVIEW_REUSE_SECONDS * 10)
    return value


# --- overview --------------------------------------------------------------------------

def chart(range_key: str, now: datetime | None = None) -> dict:
    """Started/completed/failed runs per interval (by the time they were started),
    with the SVG geometry the template draws."""
    now = now or datetime.now(UTC)
    span, step, trunc = RANGES[range_key]
    first = _floor(now - span + step, step)
    buckets = [first + step * i for i in range(int(span / step))]
    counts = {b: {"started": 0, "completed": 0, "failed": 0} for b in buckets}
    rows = (Execution.objects.filter(created_at__gte=first)
            .annotate(bucket=trunc("created_at", tzinfo=UTC))
            .values("bucket", "status").annotate(n=Count("id")))
    for row in rows:
        slot = counts.get(row["bucket"])
        if slot is None:
            continue
        slot["started"] += row["n"]
        if row["status"] in ("completed", "failed"):
            slot[row["status"]] += row["n"]
    peak = max([1] + [c["started"] for c in counts.values()])
    width, height, pad = 720, 160, 24
    slot_w = (width - pad) / len(buckets)
    bar_w = max(slot_w / 4, 1.5)
    bars = []
    for i, bucket in enumerate(buckets):
        c = counts[bucket]
        for j, (key, _label) in enumerate(SERIES):
            h = (height - pad) * c[key] / peak
            bars.append({"x": round(pad + i * slot_w + j * bar_w + bar_w / 2, 2),
                         "y": round(height - pad - h, 2), "w": round(bar_w, 2),
                         "h": round(h, 2), "series": key, "n": c[key],
                         "label": bucket.strftime("%d %b %H:%M" if step.days == 0 else "%d %b")})
    ticks = [{"x": round(pad + i * slot_w, 2),
              "label": b.strftime("%H:%M" if step.days == 0 else "%d %b")}
             for i, b in enumerate(buckets) if i % max(1, len(buckets) // 6) == 0]
    totals = {key: sum(c[key] for c in counts.values()) for key, _ in SERIES}
    return {"bars": bars, "ticks": ticks, "peak": peak, "width": width, "height": height,
            "pad": pad, "range": range_key,
            "legend": [(key, label, totals[key]) for key, label in SERIES],
            "ranges": list(RANGES)}


def _floor(moment: datetime, step: timedelta) -> datetime:
    if step >= timedelta(days=1):
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


@permissions.page_requires(permissions.VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    range_key = request.GET.get("range", "24h")
    notice = None
    if range_key not in RANGES:
        notice = f"Unknown range '{range_key}': showing the last 24 hours (use 24h or 7d)."
        range_key = "24h"
    by_status = _reused("flux:overview:by-status", lambda: dict(
        Execution.objects.values_list("status").annotate(n=Count("id"))
        .values_list("status", "n")))
    counts = [{"status": s, "n": by_status.get(s, 0)} for s in STATUSES]
    failures = list(Execution.objects.filter(status=Status.FAILED)
                    .order_by("-created_at", "-id").defer("input", "output", "meta")[:8])
    paused = list(Execution.objects.filter(status=Status.PAUSED)
                  .order_by("-created_at", "-id").defer("input", "output", "error", "meta")[:8])
    running = list(Execution.objects.filter(status__in=(Status.RUNNING, Status.CANCELLING))
                   .order_by("-created_at", "-id").defer("input", "output", "error", "meta")[:8])
    for e in running:
        e.worker_lost = worker_lost(e)
    alive = list(workers.alive())
    # Only asked with nobody to run them (an index range, not the reused counts).
    waiting = 0 if alive else Execution.objects.filter(
        status__in=(Status.QUEUED, Status.INTERRUPTED)).count()
    # Runs suspended until an event arrives (wait_for_event), and until a child ends.
    on_events = _reused("flux:overview:on-events", lambda: EventWait.objects.filter(
        delivered=False, closed=False).values("execution_id").distinct().count())
    on_children = _reused("flux:overview:on-children", lambda: Execution.objects.filter(
        status=Status.SLEEPING, children__status__in=Status.RUNNABLE | {
            Status.RUNNING, Status.PAUSED}).distinct().count())
    context = {"counts": counts, "total": sum(by_status.values()), "failures": failures,
               "waiting_on_events": on_events, "waiting_on_children": on_children,
               "paused": paused, "running": running, "workers": alive,
               "no_workers": not alive, "waiting": waiting,
               "alive_seconds": int(workers.ALIVE_SECONDS),
               "chart": _reused(f"flux:overview:chart:{range_key}", lambda: chart(range_key)),
               "notice": notice}
    template = ("executions/_overview_body.html" if request.GET.get("fragment")
                else "executions/overview.html")
    return render(request, template, context)


# --- workflows ---------------------------------------------------------------------------

@permissions.page_requires(permissions.VIEW)
def workflow_list(request: HttpRequest) -> HttpResponse:
    workflows = list(Workflow.objects.filter(is_active=True))
    runs = dict(Execution.objects.filter(workflow__in=[w.name for w in workflows])
                .values_list("workflow").annotate(n=Count("id")).values_list("workflow", "n"))
    for w in workflows:
        w.runs = runs.get(w.name, 0)
        w.summary = (w.description or "").strip().split("\n\n")[0]
    return render(request, "executions/workflow_list.html", {"workflows": workflows})


def stats(workflow: str, sample: int = 1000) -> dict:
    """Success rate and duration statistics over the last ``sample`` finished runs."""
    rows = list(Execution.objects.filter(workflow=workflow, status__in=Status.FINISHED)
                .order_by("-created_at").values_list("status", "started_at", "finished_at")
                [:sample])
    finished = len(rows)
    completed = sum(1 for s, _, _ in rows if s == Status.COMPLETED)
    durations = sorted((f - s).total_seconds() for st, s, f in rows
                       if st == Status.COMPLETED and s and f)
    out = {"finished": finished, "completed": completed,
           "failed": sum(1 for s, _, _ in rows if s == Status.FAILED),
           "success_rate": round(100 * completed / finished) if finished else None,
           "p50": None, "p95": None, "mean": None, "max": None}
    if durations:
        out.update(p50=human_duration(median(durations)),
                   p95=human_duration(durations[min(len(durations) - 1,
                                                    int(0.95 * len(durations)))]),
                   mean=human_duration(mean(durations)), max=human_duration(durations[-1]))
    return out


def example_input(schema: dict | None) -> str:
    """A starting point for the Run form: the schema's defaults or examples."""
    if not schema:
        return "null"
    if "default" in schema:
        return pretty(schema["default"])
    if schema.get("examples"):
        return pretty(schema["examples"][0])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        value = {k: v.get("default", v.get("examples", [None])[0]) for k, v in props.items()
                 if k in (schema.get("required") or []) or "default" in v}
        return pretty(value)
    return {"string": '""', "integer": "0", "number": "0", "boolean": "false",
            "array": "[]"}.get(kind, "null")


@permissions.page_requires(permissions.VIEW)
def workflow_detail(request: HttpRequest, name: str) -> HttpResponse:
    workflow = Workflow.objects.filter(name=name).first()
    if workflow is None:
        raise Http404(f"No workflow called '{name}'.")
    form = {"input": example_input(workflow.input_schema), "errors": [], "message": None}
    status = 200
    if request.method == "POST":
        permissions.require(request.user, permissions.RUN)
        form, execution = _run(request, workflow)
        if execution is not None:
            messages.success(request, f"Started {workflow.name} as {execution.pk}.")
            return redirect(reverse("execution", args=[execution.pk]))
        status = 422
    recent = list(Execution.objects.filter(workflow=name).order_by("-created_at", "-id")
                  .defer("input", "output", "meta")[:20])
    for e in recent:
        e.worker_lost = worker_lost(e)
    context = {"workflow": workflow, "recent": recent, "stats": stats(name), "form": form,
               "schema_json": pretty(workflow.input_schema) if workflow.input_schema else "",
               "can": capabilities(request)}
    return render(request, "executions/workflow_detail.html", context, status=status)


def _run(request: HttpRequest, workflow: Workflow) -> tuple[dict, Execution | None]:
    text = request.POST.get("input", "").strip() or "null"
    key = request.POST.get("idempotency_key", "").strip() or None
    priority = request.POST.get("priority", "").strip()
    form = {"input": text, "errors": [], "message": None, "idempotency_key": key or "",
            "priority": priority}
    try:
        value = commands.parse_json(text)
        if priority and not priority.lstrip("-").isdigit():
            raise InvalidInputError(f"The priority must be a whole number, not {priority!r}.")
        execution = commands.start(workflow.name, value, actor=Actor.of(request.user),
                                   idempotency_key=key, priority=int(priority or 0))
    except InvalidInputError as exc:
        form["message"] = str(exc)
        form["errors"] = [{"path": "/".join(str(p) for p in e.get("path", [])) or "(input)",
                           "message": e.get("message", "")}
                          for e in getattr(exc, "errors", None) or []]
        return form, None
    except WorkflowNotFoundError as exc:
        form["message"] = f"{exc} (is its module in FLUX_WORKFLOW_MODULES on this server?)"
        return form, None
    return form, execution
