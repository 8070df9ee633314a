"""``/api/approvals/``: list, read, approve and reject approvals (docs/inbox.md).

Mounted by ``fluxweb/api.py``. Every operation needs the ``decide_approval``
permission (``executions/access/permissions.py``: 403 without it); deciding goes
through :func:`executions.core.commands.decide`, so the rules are the page's:
409 ``already_decided`` for the loser of a race or an item decided before,
409 ``execution_not_paused``, 422 ``invalid_input`` with ``errors`` for input
failing the pause's schema, 403 for who may not decide this item.
"""

from typing import Any, Literal

from django.db.models import F, QuerySet
from django.http import HttpRequest
from ninja import Body, Field, Query, Router, Schema
from ninja.pagination import paginate

from executions.access.permissions import APPROVE, api_requires
from executions.api.errors import ApiError
from executions.api.pagination import KeysetPagination
from executions.api.schemas import (
    ERRORS,
    MUTATION_ERRORS,
    ApprovalDetail,
    ApprovalOut,
    BulkOut,
    Text,
)
from executions.core import approvals, commands
from executions.core.commands import Actor
from executions.core.conf import clock
from executions.models import Approval

router = Router(tags=["approvals"])

STATUSES = {choice.value for choice in Approval.StatusChoices}


class ListQuery(Schema):
    status: str | None = None
    workflow: str | None = None
    assigned: Literal["me"] | None = None
    overdue: bool = False
    order: Literal["newest", "due"] = "newest"


class DecisionIn(Schema):
    input: Any = Field(None, description="What the pause returns (JSON, its schema's shape).")
    comment: Text | None = None


class BulkIn(Schema):
    ids: list[int]
    action: Literal["approve", "reject"]
    input: Any = Field(None, description="What each pause returns (approve only).")
    comment: Text | None = None


@router.get("/", response={200: list[ApprovalOut], **ERRORS}, by_alias=True,
            summary="List approvals")
@paginate(KeysetPagination, item=Approval.to_dict)
@api_requires(APPROVE)
def list_approvals(request: HttpRequest, query: Query[ListQuery]) -> QuerySet[Approval]:
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
        rows = rows.filter(status=approvals.PENDING, deadline__lt=clock.now())
    if query.order == "due":
        return rows.order_by(F("deadline").asc(nulls_last=True), "id")
    return rows.order_by("-requested_at", "-id")


@router.get("/{int:approval_id}", response={200: ApprovalDetail, **ERRORS}, by_alias=True,
            summary="Read an approval")
@api_requires(APPROVE)
def get_approval(request: HttpRequest, approval_id: int) -> dict[str, Any]:
    approval = approvals.visible(request.user).filter(pk=approval_id).first()
    if approval is None:
        raise ApiError(404, f"No approval {approval_id}.", "not_found")
    data = approval.to_dict()
    data["may_decide"] = approval.is_pending and approvals.refusal(request.user, approval) is None
    return data


def _decide(request: HttpRequest, approval_id: int, payload: DecisionIn | None,
            approve: bool) -> dict[str, Any]:
    payload = payload or DecisionIn()
    return commands.decide(approval_id, actor=Actor.of(request.user), approve=approve,
                           input=payload.input, comment=payload.comment).to_dict()


@router.post("/{int:approval_id}/approve", response={200: ApprovalOut, **MUTATION_ERRORS},
             by_alias=True, summary="Approve (answers the pause with `input`)")
@api_requires(APPROVE)
def approve(request: HttpRequest, approval_id: int,
            payload: DecisionIn | None = Body(None)) -> dict[str, Any]:  # noqa: B008
    """Body `{"input": ..., "comment": "..."}`; the input must match the pause's schema
    (422 with `errors` otherwise). 409 when it was decided already."""
    return _decide(request, approval_id, payload, True)


@router.post("/{int:approval_id}/reject", response={200: ApprovalOut, **MUTATION_ERRORS},
             by_alias=True, summary="Reject (raises RejectedError at the pause)")
@api_requires(APPROVE)
def reject(request: HttpRequest, approval_id: int,
           payload: DecisionIn | None = Body(None)) -> dict[str, Any]:  # noqa: B008
    """Body `{"comment": "..."}`. The workflow gets `flux.errors.RejectedError`."""
    return _decide(request, approval_id, payload, False)


@router.post("/bulk", response={200: BulkOut, **MUTATION_ERRORS}, by_alias=True,
             summary="Approve or reject many approvals")
@api_requires(APPROVE)
def bulk(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    """Each item is decided on its own; `items` reports each outcome (`ok`, or the
    error's `status`, `code` and `detail`)."""
    results = commands.decide_many(payload.ids, actor=Actor.of(request.user),
                                   approve=payload.action == "approve",
                                   input=payload.input, comment=payload.comment)
    return {"items": [{"id": r.id, "ok": True, "approval": r.result.to_dict()} if r.ok else
                      {"id": r.id, "ok": False, "status": r.status, "code": r.code,
                       "detail": r.detail} for r in results]}
