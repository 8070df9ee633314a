"""The executions list (``/executions/``), an execution's page and their actions.

Actions are POSTs that go through ``executions.core.commands`` with the user as actor; a
request that makes no sense in the execution's state (cancelling a finished run...)
comes back as a message on the page, never an error page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.views.decorators.http import require_POST

from executions.access import permissions
from executions.core import commands
from executions.core.commands import Actor
from executions.models import Event, Execution, Workflow
from executions.views import composition, filters, render as fast, timeline
from executions.views.common import (
    FINISHED,
    STATUSES,
    back_to,
    capabilities,
    duration,
    error_chain,
    human_duration,
    pretty,
    worker_lost,
)
from flux.errors import ExecutionError
from flux.projection import Status
from flux.text import printable

#: Event rows an execution page renders (the newest; the JSON download has all).
LOG_ROWS = 500
#: Things a suspended run waits for listed on its page (a fan-out may wait for 1,000).
WAITING_SHOWN = 20
#: "Everything matching the filter" acts on at most this many executions per request.
BULK_LIMIT = 1000
ERROR_TYPES = ("TASK_FAILED", "TASK_RETRY_FAILED", "TASK_FALLBACK_FAILED",
               "TASK_ROLLBACK_FAILED", "WORKFLOW_FAILED", "WORKFLOW_INTERRUPTED")
#: Where the graphs app may put the live DAG (rendered inside <div id="graph-slot">).
GRAPH_SLOT_TEMPLATE = "graphs/execution_slot.html"


def _decorate(rows: list[Execution]) -> list[Execution]:
    for e in rows:
        e.worker_lost = worker_lost(e)
        e.duration = human_duration(duration(e.started_at, e.finished_at))
    return rows


# --- the list ------------------------------------------------------------------------

@permissions.page_requires(permissions.VIEW)
def execution_list(request: HttpRequest) -> HttpResponse:
    f = filters.parse(request.GET)
    rows, cursor = filters.page(f)
    _decorate(rows)
    context = {
        "f": f, "rows": rows, "next_cursor": cursor, "statuses": STATUSES,
        "sorts": filters.SORTS,
        "workflows": list(Workflow.objects.values_list("name", flat=True)),
        "first_page": f.cursor is None, "query": f.query(), "can": capabilities(request),
        "live_props": {"statuses": f.statuses, "workflow": f.workflow, "id": f.id,
                       "live": f.cursor is None and f.sort == filters.DEFAULT_SORT
                       and not f.until},
    }
    template = ("executions/_execution_rows.html" if request.GET.get("fragment") == "rows"
                else "executions/execution_list.html")
    return render(request, template, context)


@require_POST
@permissions.page_requires(permissions.VIEW)
def bulk(request: HttpRequest) -> HttpResponse:
    """Cancel or re-run the selected executions, or every one the filter matches."""
    action = request.POST.get("action", "")
    back = reverse("executions") + ("?" + request.POST.get("query", "")
                                    if request.POST.get("query") else "")
    if action not in ("cancel", "rerun"):
        messages.error(request, f"Unknown bulk action '{action}'.")
        return HttpResponseRedirect(back)
    permissions.require(request.user, permissions.ACTIONS[action])
    if request.POST.get("scope") == "filter":
        from django.http import QueryDict

        f = filters.parse(QueryDict(request.POST.get("query", "")))
        rows = filters.matching(f)
        if action == "cancel":
            rows = rows.exclude(status__in=FINISHED)
        ids = list(rows.order_by("-created_at", "-id").values_list("pk", flat=True)
                   [:BULK_LIMIT + 1])
    else:
        ids = request.POST.getlist("ids")
    truncated = len(ids) > BULK_LIMIT
    ids = ids[:BULK_LIMIT]
    if not ids:
        messages.warning(request, "Nothing selected: tick some runs, or choose "
                                  "“all matching the filter”.")
        return HttpResponseRedirect(back)
    actor = Actor.of(request.user)
    outcomes = (commands.cancel_many(ids, actor=actor) if action == "cancel"
                else commands.rerun_many(ids, actor=actor))
    done = sum(1 for o in outcomes if o.ok)
    refused = [f"{str(o.id)[:8]}: {o.detail}" for o in outcomes if not o.ok]
    verb = "Cancelled" if action == "cancel" else "Re-ran"
    messages.success(request, f"{verb} {done} run{'s' if done != 1 else ''}."
                     + (f" Stopped at {BULK_LIMIT}: run it again for the rest."
                        if truncated else ""))
    if refused:
        messages.warning(request, f"{len(refused)} refused: " + "; ".join(refused[:5])
                         + ("…" if len(refused) > 5 else ""))
    return HttpResponseRedirect(back)


# --- one execution -------------------------------------------------------------------

def _summary(value: Any, limit: int = 160) -> str:
    """An event value on one line (as frontend/lib/format.ts summarizes live rows)."""
    if value is None:
        return ""
    text = printable(value if isinstance(value, str)
                     else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _get(execution_id: str) -> Execution:
    execution = Execution.read(execution_id)
    if execution is None:
        raise Http404(f"No execution with id '{execution_id}'.")
    return execution


def _graph_slot_template() -> str | None:
    try:
        return select_template([GRAPH_SLOT_TEMPLATE]).template.name
    except TemplateDoesNotExist:
        return None


@permissions.page_requires(permissions.VIEW)
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    execution = _get(execution_id)
    execution.worker_lost = worker_lost(execution)
    events = Event.objects.filter(execution_id=execution.pk)
    compact = list(events.order_by("seq").values_list("type", "name", "source_id",
                                                       "parent_id", "time"))
    now = datetime.now(UTC)
    line = timeline.build(compact, execution.finished_at,
                          None if execution.has_finished else now)
    # By name; tasks of one name in the order they started (as the live page adds them).
    task_names = sorted(dict.fromkeys((source, name) for etype, name, source, _, _ in compact
                                      if etype == "TASK_STARTED"), key=lambda t: t[1])
    has_graph = any(t == "GRAPH_STARTED" for t, *_ in compact)
    errors_only = request.GET.get("errors") == "1"
    task = request.GET.get("task", "")
    log = events
    notice = None
    if errors_only:
        log = log.filter(type__in=ERROR_TYPES)
    if task:
        if task not in {s for s, _ in task_names}:
            notice = f"This execution has no task '{task}': showing every task."
            task = ""
        else:
            log = log.filter(source_id=task)
    log_rows = list(log.order_by("-seq")[:LOG_ROWS])[::-1]
    for row in log_rows:
        row.value_text = _summary(row.value)
    log_total = len(compact) if not (errors_only or task) else log.count()
    last_seq = len(compact)  # seq runs 1..n without gaps
    context = {
        "e": execution,
        "worker_lost": execution.worker_lost,
        "duration": human_duration(duration(execution.started_at, execution.finished_at
                                            or (None if execution.has_finished else now))),
        "input_json": pretty(execution.input),
        "output_json": pretty(execution.output),
        "errors": error_chain(execution.error),
        "timeline": line,
        "events": log_rows,
        "events_html": fast.event_rows(log_rows, ERROR_TYPES),
        "gantt_html": fast.gantt_rows(line.bars),
        "task_options_html": fast.task_options(task_names, task),
        "log_total": log_total,
        "log_truncated": log_total > len(log_rows),
        "errors_only": errors_only,
        "task": task,
        "task_names": task_names,
        "notice": notice,
        "has_graph": has_graph,
        "graph_slot_template": _graph_slot_template() if has_graph else None,
        "can": capabilities(request),
        "finished": execution.has_finished,
        "retryable": execution.status == Status.FAILED,
        "cancellable": not execution.has_finished,
        "is_paused": execution.status == Status.PAUSED,
        "page_props": {
            "executionId": execution.pk, "after": last_seq,
            "lastSeq": last_seq, "errorsOnly": errors_only, "task": task, "logRows": LOG_ROWS,
            "errorTypes": ERROR_TYPES, "tasks": [b.to_dict() for b in line.bars],
            "timelineStart": line.start, "finishedAt": (execution.finished_at.timestamp()
                                                        * 1000 if execution.finished_at
                                                        else None),
            "done": line.done, "total": line.total, "status": execution.status,
        },
    }
    waits = composition.waiting(execution)
    context.update({
        "waiting": waits[:WAITING_SHOWN], "waiting_more": max(0, len(waits) - WAITING_SHOWN),
        "waiting_text": composition.summary(waits),
        "children": composition.tree(execution),
        "task_progress": composition.progress(execution),
    })
    context["page_props"]["progress"] = execution.progress or {}
    return render(request, "executions/execution_detail.html", context)


@permissions.page_requires(permissions.VIEW)
def execution_events(request: HttpRequest, execution_id: str) -> HttpResponse:
    """The whole event log as a JSON array (a download), streamed in seq order."""
    execution = _get(execution_id)
    rows = Event.objects.filter(execution_id=execution.pk).order_by("seq")

    def chunks():
        yield "["
        first = True
        for row in rows.iterator(chunk_size=2000):
            yield ("" if first else ",\n") + printable(json.dumps(row.to_dict(),
                                                                  ensure_ascii=False))
            first = False
        yield "]\n"

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="execution-{execution.pk}.json"'
    return response


def _back(request: HttpRequest, execution: Execution) -> HttpResponseRedirect:
    return back_to(request, reverse("execution", args=[execution.pk]))


@require_POST
@permissions.page_requires(permissions.VIEW)
def execution_action(request: HttpRequest, execution_id: str, action: str) -> HttpResponse:
    """cancel | retry | rerun (same or edited input) on one execution."""
    if action not in ("cancel", "retry", "rerun"):
        raise Http404(f"No action '{action}'.")
    execution = _get(execution_id)
    permissions.require(request.user, permissions.ACTIONS[action])
    actor = Actor.of(request.user)
    try:
        if action == "cancel":
            commands.cancel(execution.pk, actor=actor)
            messages.success(request, "Cancel requested.")
        elif action == "retry":
            commands.retry(execution.pk, actor=actor)
            messages.success(request, "Retrying from the failed task.")
        else:
            if "input" in request.POST:
                value = commands.parse_json(request.POST["input"], "The edited input")
                new = commands.rerun(execution, input=value, actor=actor)
            else:
                new = commands.rerun(execution, actor=actor)
            messages.success(request, f"Re-ran as {new.pk}.")
            return HttpResponseRedirect(reverse("execution", args=[new.pk]))
    except ExecutionError as exc:
        messages.error(request, str(exc) or exc.__class__.__name__)
    return _back(request, execution)

