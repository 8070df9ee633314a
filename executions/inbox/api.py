"""``/api/approvals/``: list, read, approve and reject approvals (docs/inbox.md).

Mounted by ``fluxweb/api.py``. Every operation needs the ``decide_approval``
permission (``executions/permissions.py``: 403 without it); deciding goes
through :func:`executions.approvals.decide`, so the rules are the page's:
409 ``already_decided`` for the loser of a race or an item decided before,
409 ``execution_not_paused``, 422 ``invalid_input`` with ``errors`` for input
failing the pause's schema, 403 for who may not decide this item.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, Literal

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, Field, Query, Router, Schema

from executions import approvals, dates
from executions.models import Approval
from executions.permissions import APPROVE, api_requires
from executions.schemas import Text
from fluxweb.api import ApiError, error

router = Router(tags=["approvals"])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
STATUSES = {choice.value for choice in Approval.StatusChoices}


class ListQuery(Schema):
    status: str | None = None
    workflow: str | None = None
    assigned: Literal["me"] | None = None
    overdue: bool = False
    order: Literal["newest", "due"] = "newest"
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, max_length=500)


class DecisionIn(Schema):
    input: Any = None
    comment: Text | None = None


class BulkIn(Schema):
    ids: list[int]
    action: Literal["approve", "reject"]
    input: Any = None
    comment: Text | None = None


def _answer(request: HttpRequest, exc: approvals.ApprovalError) -> HttpResponse:
    extra = {"errors": exc.errors} if exc.errors else {}
    return error(request, exc.status, exc.detail, exc.code, **extra)


def _cursor(parts: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _uncursor(cursor: str, *, nullable: bool) -> tuple[datetime | None, int]:
    """A cursor's ``(moment, id)``: 400 ``bad_cursor`` for any cursor we did not give."""
    try:
        when, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError(pk)
        return (None if when is None and nullable else dates.parse(when)), pk
    except (ValueError, TypeError, binascii.Error):
        raise ApiError(400, "The cursor is not valid: pass the `next` of a previous page.",
                       "bad_cursor") from None


def _page(rows: QuerySet[Approval], query: ListQuery) -> dict[str, Any]:
    limit = query.limit
    if query.order == "due":
        rows = rows.order_by(F("deadline").asc(nulls_last=True), "id")
        if query.cursor:
            when, pk = _uncursor(query.cursor, nullable=True)
            if when is None:
                rows = rows.filter(deadline__isnull=True, id__gt=pk)
            else:
                rows = rows.filter(Q(deadline__gt=when) | Q(deadline=when, id__gt=pk)
                                   | Q(deadline__isnull=True))
    else:
        rows = rows.order_by("-requested_at", "-id")
        if query.cursor:
            when, pk = _uncursor(query.cursor, nullable=False)
            rows = rows.filter(Q(requested_at__lt=when) | Q(requested_at=when, id__lt=pk))
    found = list(rows[:limit + 1])
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if found else None
    key = None
    if more and last is not None:
        when = last.deadline if query.order == "due" else last.requested_at
        key = _cursor([when.isoformat() if when else None, last.pk])
    return {"items": [a.to_dict() for a in found], "next": key}


@router.get("/", summary="List approvals")
@api_requires(APPROVE)
def list_approvals(request: HttpRequest, query: Query[ListQuery]) -> dict[str, Any]:
    """Approvals the caller may see: `?status=pending` (or any status; all when
    unset), `workflow=`, `assigned=me` (naming you or your group), `overdue=1`,
    `order=newest|due` (due-soonest first), keyset pages (`limit`, `cursor`)."""
    rows = approvals.visible(request.user)
    if query.status:
        if query.status not in STATUSES:
            raise ApiError(400, f"Unknown status '{query.status}': use one of "
                                f"{', '.join(sorted(STATUSES))}.", "bad_status")
        rows = rows.filter(status=query.status)
    if query.workflow:
        rows = rows.filter(workflow=query.workflow)
    if query.assigned == "me":
        rows = rows.filter(approvals.assigned_to(request.user))
    if query.overdue:
        rows = rows.filter(status=approvals.PENDING, deadline__lt=datetime.now(UTC))
    return _page(rows, query)


@router.get("/{int:approval_id}", summary="Read an approval")
@api_requires(APPROVE)
def get_approval(request: HttpRequest, approval_id: int) -> Any:
    approval = approvals.visible(request.user).filter(pk=approval_id).first()
    if approval is None:
        raise ApiError(404, f"No approval {approval_id}.", "not_found")
    data = approval.to_dict()
    data["may_decide"] = approval.is_pending and approvals.refusal(request.user, approval) is None
    return data


def _decide(request: HttpRequest, approval_id: int, payload: DecisionIn | None,
            approve: bool) -> Any:
    payload = payload or DecisionIn()
    try:
        done = approvals.decide(approval_id, request.user, approve=approve,
                                input=payload.input, comment=payload.comment)
    except approvals.ApprovalError as exc:
        return _answer(request, exc)
    return done.to_dict()


@router.post("/{int:approval_id}/approve", summary="Approve (answers the pause with `input`)")
@api_requires(APPROVE)
def approve(request: HttpRequest, approval_id: int,
            payload: DecisionIn | None = Body(None)) -> Any:  # noqa: B008
    """Body `{"input": ..., "comment": "..."}`; the input must match the pause's schema
    (422 with `errors` otherwise). 409 when it was decided already."""
    return _decide(request, approval_id, payload, True)


@router.post("/{int:approval_id}/reject", summary="Reject (raises RejectedError at the pause)")
@api_requires(APPROVE)
def reject(request: HttpRequest, approval_id: int,
           payload: DecisionIn | None = Body(None)) -> Any:  # noqa: B008
    """Body `{"comment": "..."}`. The workflow gets `flux.errors.RejectedError`."""
    return _decide(request, approval_id, payload, False)


@router.post("/bulk", summary="Approve or reject many approvals")
@api_requires(APPROVE)
def bulk(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    """Each item is decided on its own; `items` reports each outcome (`ok`, or the
    error's `status`, `code` and `detail`)."""
    results = approvals.decide_many(payload.ids, request.user,
                                    approve=payload.action == "approve",
                                    input=payload.input, comment=payload.comment)
    return {"items": [r.to_dict() for r in results]}
