"""The inbox page (``/inbox/``) and its form posts (which work without JavaScript).

The page lists pending approvals the user may see, with filters in the URL
(``workflow``, ``assigned=me``, ``overdue=1``, ``order=newest|due``). Each item
carries its decide form; ``frontend/inbox.ts`` generates the input fields
from the pause's JSON schema (or a JSON box, "Edit as JSON"), decides through
``/api/approvals/`` (whose 422 ``errors`` it shows at the fields) and follows
``/ws/inbox/`` (through ``frontend/live.ts``).
Without JavaScript the form posts here, to :func:`decide_view`.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from executions.access.permissions import APPROVE, allowed
from executions.core import approvals, commands
from executions.core.commands import Actor
from executions.core.conf import clock
from executions.models import Approval, Event
from executions.views.common import back_to
from flux.errors import InvalidInputError

PAGE_SIZE = 200
#: Recorded task results shown per item (the latest ones before the pause).
RESULTS_SHOWN = 10


def item_dict(approval: Approval, user: Any) -> dict[str, Any]:
    """An approval's JSON plus what this user's page needs (the consumer sends it too)."""
    data = approval.to_dict()
    reason = approvals.refusal(user, approval) if approval.is_pending else None
    if reason is None and approval.is_pending:
        reason = approvals.not_decidable_now(approval)
    data["may_decide"] = approval.is_pending and reason is None
    data["refusal"] = reason
    return data


def _results(approval: Approval) -> list[dict[str, Any]]:
    rows = (Event.objects.filter(execution_id=approval.execution_id, type="TASK_COMPLETED")
            .exclude(source_id=approval.source_id).order_by("-seq")[:RESULTS_SHOWN])
    return [{"name": e.name, "value": json.dumps(e.value, indent=1, default=str)[:2000]}
            for e in reversed(rows)]


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_approve = allowed(user, APPROVE)
    rows = approvals.visible(user).filter(status=approvals.PENDING)
    filters = {"workflow": request.GET.get("workflow", ""),
               "assigned": request.GET.get("assigned", ""),
               "overdue": request.GET.get("overdue", ""),
               "order": request.GET.get("order", "newest")}
    if filters["workflow"]:
        rows = rows.filter(workflow=filters["workflow"])
    if filters["assigned"] == "me":
        rows = rows.filter(approvals.assigned_to(user))
    if filters["overdue"]:
        rows = rows.filter(deadline__lt=clock.now())
    if filters["order"] == "due":
        rows = rows.order_by(F("deadline").asc(nulls_last=True), "id")
    else:
        rows = rows.order_by("-requested_at", "-id")
    items = []
    for approval in rows[:PAGE_SIZE]:
        data = item_dict(approval, user)
        data["results"] = _results(approval)
        data["output_json"] = (json.dumps(approval.output, indent=1, default=str)
                               if approval.output is not None else "")
        data["default_json"] = (json.dumps(approval.default)
                                if approval.default is not None else "")
        data["overdue"] = bool(approval.deadline and approval.deadline < clock.now())
        items.append(data)
    workflows = (approvals.visible(user).filter(status=approvals.PENDING)
                 .order_by("workflow").values_list("workflow", flat=True).distinct())
    props = {"kind": "inbox", "username": user.get_username(), "filters": filters,
             "schemas": {str(i["id"]): i["schema"] for i in items}}
    return render(request, "inbox/inbox.html", {
        "items": items, "filters": filters, "workflows": list(workflows),
        "may_approve": may_approve, "props": props,
    })


def _back(request: HttpRequest) -> HttpResponse:
    return back_to(request, reverse("inbox"))


@login_required
@require_POST
def decide_view(request: HttpRequest, approval_id: int) -> HttpResponse:
    """The decide form without JavaScript: ``action``, ``comment``, ``input`` (JSON)."""
    action = request.POST.get("action")
    try:
        value = commands.parse_json(request.POST.get("input"))
        done = commands.decide(approval_id, actor=Actor.of(request.user),
                               approve=action == "approve", input=value,
                               comment=request.POST.get("comment"))
    except approvals.ApprovalError as exc:
        messages.error(request, exc.detail)
        return _back(request)
    except InvalidInputError as exc:
        messages.error(request, str(exc))
        return _back(request)
    messages.success(request, f"{done.status.capitalize()}: {done.title or done.pause_name}.")
    return _back(request)


@login_required
@require_POST
def bulk_view(request: HttpRequest) -> HttpResponse:
    """Approve or reject the selected items (``ids``), each on its own."""
    results = commands.decide_many(request.POST.getlist("ids"), actor=Actor.of(request.user),
                                   approve=request.POST.get("action") == "approve",
                                   comment=request.POST.get("comment"))
    ok = sum(1 for r in results if r.ok)
    if ok:
        messages.success(request, f"Decided {ok} item{'s' if ok != 1 else ''}.")
    for r in results:
        if not r.ok:
            messages.error(request, f"#{r.id}: {r.detail}")
    return _back(request)
