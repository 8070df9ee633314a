"""Approvals: the inbox's items, who may decide them, deciding, deadlines, reminders.

* **Creation.** :func:`record_events` is called by ``DjangoStore.append`` inside the
  transaction that writes a batch of events holding a ``TASK_PAUSED``,
  ``TASK_RESUMED`` or ``WORKFLOW_CANCELLED``/``WORKFLOW_COMPLETED``: a pause
  creates its :class:`~executions.models.Approval` (once per execution and pause
  task id), a resume closes it (approved, rejected, or expired when the actor is
  :data:`DEADLINE_ACTOR`), the end of the execution cancels what is still pending.
  So the inbox and the event log can never disagree, however a pause is answered
  (the inbox, the API, ``flux runs resume``, ``wf.resume``).
* **Deciding.** :func:`decide` is the one way the page, the API and bulk actions
  decide. It locks the execution and the approval rows, checks who may decide
  (:func:`refusal`), refuses what is no longer pending, and answers the pause
  through the engine (``Engine.request_resume``: the input is validated against
  the pause's schema there, before anything is written) in the same transaction;
  the execution is queued after the commit. Two people deciding at once: the
  second waits for the first's lock, then finds the item decided
  (:class:`AlreadyDecided`, a 409).
* **Deadlines.** :func:`reap` (called by the workers' reaper,
  ``executions.runner.reap``) applies ``on_deadline`` to pending items whose
  deadline passed (approve with the pause's ``default``, or reject) as the actor
  ``"deadline"``, and sends the optional reminder and escalation emails
  (``settings.FLUX_INBOX``; Django's email backend).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import markdown as markdown_lib
import nh3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet

from executions.models import Approval, Execution
from executions.permissions import APPROVE, allowed
from flux.domain.events import ExecutionEvent, ExecutionEventType as T
from flux.errors import InvalidInputError, InvalidStateError
from flux.projection import Status

log = logging.getLogger("executions.approvals")

#: The actor recorded when a deadline decides.
DEADLINE_ACTOR = "deadline"
PENDING = Approval.StatusChoices.PENDING
#: Event types whose batches :func:`record_events` must see.
_CONCERNS = frozenset({T.TASK_PAUSED, T.TASK_RESUMED, T.WORKFLOW_CANCELLED,
                       T.WORKFLOW_COMPLETED})
#: Events that only close pending approvals (nothing to do for a log without pauses).
_CLOSING = frozenset({T.WORKFLOW_CANCELLED, T.WORKFLOW_COMPLETED})
_INBOX_DEFAULTS: dict[str, Any] = {
    # Fractions of the time between the request and the deadline; None: off.
    "remind_at": None,
    "escalate_at": None,
    # The group an escalation adds to the item's deciders and emails.
    "escalate_to": "admin",
    "from_email": None,
    "base_url": "",
}


def inbox_setting(name: str) -> Any:
    return {**_INBOX_DEFAULTS, **getattr(settings, "FLUX_INBOX", {})}[name]


# errors ---------------------------------------------------------------------------

class ApprovalError(Exception):
    """A decision that cannot be made; ``status`` and ``code`` are the API's answer."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, errors: list | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ApprovalNotFound(ApprovalError):
    status, code = 404, "not_found"


class NotAllowed(ApprovalError):
    status, code = 403, "permission_denied"


class AlreadyDecided(ApprovalError):
    status, code = 409, "already_decided"


class NotPaused(ApprovalError):
    status, code = 409, "execution_not_paused"


class InvalidApprovalInput(ApprovalError):
    status, code = 422, "invalid_input"


# markdown -------------------------------------------------------------------------

def render_markdown(text: str | None) -> str:
    """Markdown to HTML, sanitized by nh3 (no scripts, handlers or javascript: links)."""
    if not text:
        return ""
    html = markdown_lib.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(html, link_rel="noopener noreferrer nofollow")


# creation and closing, inside DjangoStore.append's transaction ----------------------

def concerns(events: Sequence[ExecutionEvent], *, may_have_pauses: bool = True) -> bool:
    """Whether :func:`record_events` has work in this batch (cheap; every append asks).

    ``may_have_pauses=False`` (the caller has seen the whole log and it has no pause):
    the end of the workflow has no approval to close.
    """
    if may_have_pauses:
        return any(e.type in _CONCERNS for e in events)
    return any(e.type in _CONCERNS and e.type not in _CLOSING for e in events)


def record_events(execution_id: str, events: Sequence[ExecutionEvent], workflow: str,
                  using: str = "default") -> None:
    """Mirror pauses and their answers into Approval rows (the append's transaction)."""
    rows = Approval.objects.using(using)
    for e in events:
        if e.type is T.TASK_PAUSED:
            rows.bulk_create([_from_pause(execution_id, workflow, e)], ignore_conflicts=True)
        elif e.type is T.TASK_RESUMED:
            value = e.value if isinstance(e.value, dict) else {}
            approved = bool(value.get("approved", True))
            actor = value.get("actor")
            status = (Approval.StatusChoices.EXPIRED if actor == DEADLINE_ACTOR else
                      Approval.StatusChoices.APPROVED if approved else
                      Approval.StatusChoices.REJECTED)
            rows.filter(execution_id=execution_id, source_id=e.source_id, status=PENDING).update(
                status=status, decided_by=actor, decided_at=e.time, comment=value.get("comment"),
                input=value.get("input") if approved else None, updated_at=_now())
        elif e.type in (T.WORKFLOW_CANCELLED, T.WORKFLOW_COMPLETED):
            actor = (e.value or {}).get("actor") if isinstance(e.value, dict) else None
            rows.filter(execution_id=execution_id, status=PENDING).update(
                status=Approval.StatusChoices.CANCELLED, decided_by=actor, decided_at=e.time,
                updated_at=_now())


def _from_pause(execution_id: str, workflow: str, event: ExecutionEvent) -> Approval:
    info = event.value if isinstance(event.value, dict) else {}
    approvers = [str(u) for u in info.get("approvers") or ()]
    groups = [str(g) for g in info.get("groups") or ()]
    deadline = info.get("deadline")
    return Approval(
        execution_id=execution_id, workflow=workflow,
        pause_name=str(info.get("name") or event.name)[:200], source_id=event.source_id,
        title=str(info.get("title") or "")[:300], description=info.get("description") or "",
        schema=info.get("schema"), approvers=approvers, groups=groups,
        assignees=_assignees(approvers, groups),
        forbid_self_approval=bool(info.get("forbid_self_approval")),
        deadline=datetime.fromisoformat(deadline) if deadline else None,
        on_deadline=info.get("on_deadline") or "reject", default=info.get("default"),
        output=info.get("output"), requested_at=event.time, updated_at=_now())


def _assignees(approvers: Iterable[str], groups: Iterable[str]) -> str:
    tokens = [f"u:{u}" for u in approvers] + [f"g:{g}" for g in groups]
    return f" {' '.join(tokens)} " if tokens else ""


def _now() -> datetime:
    return datetime.now(UTC)


# who may decide ---------------------------------------------------------------------

def visible(user: Any) -> QuerySet[Approval]:
    """Approvals ``user`` may see: none without the permission; else those open to
    everyone holding it and those naming the user or one of their groups."""
    rows = Approval.objects.select_related("execution")
    if not allowed(user, APPROVE):
        return rows.none()
    if user.is_superuser:
        return rows
    return rows.filter(Q(assignees="") | _assigned_q(user))


def _assigned_q(user: Any) -> Q:
    q = Q(assignees__contains=f" u:{user.get_username()} ")
    for name in user.groups.values_list("name", flat=True):
        q |= Q(assignees__contains=f" g:{name} ")
    return q


def assigned_to(user: Any) -> Q:
    """Items naming ``user`` or one of their groups (the "assigned to me" filter)."""
    return _assigned_q(user)


def decidable(user: Any) -> QuerySet[Approval]:
    """Pending items ``user`` may decide now (the nav badge counts these)."""
    rows = visible(user).filter(status=PENDING)
    if user is not None and user.is_authenticated:
        rows = rows.exclude(forbid_self_approval=True, execution__actor=user.get_username())
    return rows


def refusal(user: Any, approval: Approval) -> str | None:
    """Why ``user`` may not decide ``approval`` (a sentence), or None when they may."""
    if not allowed(user, APPROVE):
        return (f"You need the permission '{APPROVE}' to approve or reject "
                "(the groups approver and admin hold it).")
    name = user.get_username()
    if (approval.approvers or approval.groups) and not user.is_superuser:
        mine = set(user.groups.values_list("name", flat=True))
        if name not in approval.approvers and not mine & set(approval.groups):
            who = ", ".join([*approval.approvers, *(f"group {g}" for g in approval.groups)])
            return f"Only {who} may decide '{approval.title or approval.pause_name}'."
    if approval.forbid_self_approval and approval.execution.actor == name:
        return "You started this run, and this pause forbids approving your own run."
    return None


def not_decidable_now(approval: Approval) -> str | None:
    """Why nobody can decide this pending item until something else happens, or None."""
    execution = approval.execution
    if execution.status == Status.FAILED:
        return (f"The run failed while it waited here: retry it (its page, or "
                f"flux runs retry {execution.pk}), then decide.")
    return None


# deciding ---------------------------------------------------------------------------

def decide(approval_id: int | str, user: Any, *, approve: bool, input: Any = None,
           comment: str | None = None) -> Approval:
    """Approve (with ``input``) or reject ``approval_id`` as ``user``; see the module doc.

    Raises ApprovalNotFound, NotAllowed, AlreadyDecided, NotPaused or
    InvalidApprovalInput, having written nothing.
    """
    try:
        pk = int(approval_id)
    except (TypeError, ValueError):
        raise ApprovalNotFound(f"No approval {approval_id}.") from None
    comment = (comment or "").strip() or None
    with transaction.atomic():
        approval = _locked(pk)
        reason = refusal(user, approval)
        if reason is not None:
            raise NotAllowed(reason)
        _resume(approval, approve=approve, input=input, actor=user.get_username(),
                comment=comment)
    approval.refresh_from_db()
    return approval


@dataclass
class BulkResult:
    """One item of a bulk decision: the approval's JSON, or the error."""

    id: int | str
    approval: dict | None = None
    status: int = 200
    code: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.approval is not None:
            return {"id": self.id, "ok": True, "approval": self.approval}
        return {"id": self.id, "ok": False, "status": self.status, "code": self.code,
                "detail": self.detail}


def decide_many(ids: Iterable[int | str], user: Any, *, approve: bool,
                comment: str | None = None, input: Any = None) -> list[BulkResult]:
    """Decide each item on its own (one transaction each); report each outcome."""
    out = []
    for approval_id in ids:
        try:
            done = decide(approval_id, user, approve=approve, input=input, comment=comment)
        except ApprovalError as exc:
            out.append(BulkResult(approval_id, status=exc.status, code=exc.code,
                                  detail=exc.detail))
        else:
            out.append(BulkResult(approval_id, approval=done.to_dict()))
    return out


def _locked(pk: int) -> Approval:
    """The approval with its execution, both rows locked (execution first, as appends do)."""
    execution_id = Approval.objects.filter(pk=pk).values_list("execution_id", flat=True).first()
    if execution_id is None:
        raise ApprovalNotFound(f"No approval {pk}.")
    list(Execution.objects.select_for_update().filter(pk=execution_id).values_list("pk"))
    approval = Approval.objects.select_for_update().get(pk=pk)
    approval.execution = Execution.objects.get(pk=execution_id)
    return approval


def _resume(approval: Approval, *, approve: bool, input: Any, actor: str,
            comment: str | None) -> None:
    """Answer the pause through the engine (in the caller's transaction), queue the run."""
    from executions import runner

    if not approval.is_pending:
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        when = f" at {approval.decided_at:%Y-%m-%d %H:%M:%S} UTC" if approval.decided_at else ""
        raise AlreadyDecided(f"This item was already {approval.status}{by}{when}; "
                             "nothing was changed.")
    execution = approval.execution
    waiting = not_decidable_now(approval)
    if waiting:
        raise NotPaused(f"{waiting} Nothing was changed.")
    if execution.status in (Status.CANCELLED, Status.CANCELLING) or execution.cancel_requested:
        raise NotPaused(f"Execution {execution.pk} is {execution.status}: its pause can no "
                        "longer be answered.")
    try:
        runner.engine().request_resume(execution.pk, input if approve else None,
                                       pause=approval.source_id, approved=approve, actor=actor,
                                       comment=comment)
    except InvalidInputError as exc:
        raise InvalidApprovalInput(str(exc), errors=getattr(exc, "errors", None)) from None
    except InvalidStateError as exc:
        raise NotPaused(f"{exc} Nothing was changed; try again once it is paused.") from None
    runner.enqueue(execution.pk)
    if not Approval.objects.filter(pk=approval.pk).exclude(status=PENDING).exists():
        raise RuntimeError(f"approval {approval.pk} stayed pending after its resume event")


# deadlines, reminders, escalation ---------------------------------------------------

def reap(now: datetime | None = None, *, limit: int = 100) -> list[int]:
    """One pass for the workers' reaper: apply due deadlines, send due reminders.

    Returns the ids of the approvals whose deadline was applied.
    """
    now = now or _now()
    fired = []
    due = (Approval.objects.filter(status=PENDING, deadline__lte=now)
           .order_by("deadline", "id").values_list("pk", flat=True)[:limit])
    for pk in list(due):
        try:
            if expire(pk):
                fired.append(pk)
        except Exception:
            log.exception("inbox: applying the deadline of approval %s failed", pk)
    try:
        remind(now, limit=limit)
    except Exception:
        log.exception("inbox: sending reminders failed")
    if fired:
        log.info("inbox: deadlines applied to approvals %s", fired)
    return fired


def expire(pk: int) -> bool:
    """Apply the approval's ``on_deadline`` as the actor "deadline"; False if it was not
    pending (anymore) or its execution cannot be resumed now (the next pass retries)."""
    with transaction.atomic():
        try:
            approval = _locked(pk)
        except ApprovalNotFound:
            return False
        if not approval.is_pending:
            return False
        approve = approval.on_deadline == "approve"
        outcome = "approved with the default input" if approve else "rejected"
        comment = f"The deadline passed: {outcome} automatically."
        try:
            _resume(approval, approve=approve, input=approval.default, actor=DEADLINE_ACTOR,
                    comment=comment)
        except InvalidApprovalInput as exc:
            _resume(approval, approve=False, input=None, actor=DEADLINE_ACTOR,
                    comment=f"The deadline passed and the default input does not fit the "
                            f"schema ({exc.detail}): rejected automatically.")
        except NotPaused:
            return False
    return True


def remind(now: datetime, *, limit: int = 100) -> None:
    """Email reminders and escalations that are due (each at most once per item)."""
    for field, key in (("reminded_at", "remind_at"), ("escalated_at", "escalate_at")):
        fraction = inbox_setting(key)
        if fraction is None:
            continue
        rows = Approval.objects.filter(status=PENDING, deadline__isnull=False, deadline__gt=now,
                                       **{f"{field}__isnull": True})
        for approval in rows.select_related("execution").order_by("deadline")[:limit]:
            if now < approval.requested_at + (approval.deadline - approval.requested_at) * fraction:
                continue
            # Exactly once, however many reapers run: a conditional UPDATE claims it.
            won = Approval.objects.filter(pk=approval.pk, status=PENDING,
                                          **{f"{field}__isnull": True})
            if field == "escalated_at":
                group = inbox_setting("escalate_to")
                groups = sorted({*approval.groups, group}) if approval.groups or \
                    approval.approvers else approval.groups
                won = won.update(escalated_at=now, groups=groups,
                                 assignees=_assignees(approval.approvers, groups),
                                 updated_at=_now())
                if won:
                    _email(approval, _group_members(group), escalation=True)
            elif won.update(reminded_at=now, updated_at=_now()):
                _email(approval, deciders(approval), escalation=False)


def deciders(approval: Approval) -> list[Any]:
    """Active users who may decide ``approval`` (for reminders)."""
    users = get_user_model().objects.with_perm(APPROVE, include_superusers=True)
    if approval.approvers or approval.groups:
        users = users.filter(Q(username__in=approval.approvers)
                             | Q(groups__name__in=approval.groups)
                             | Q(is_superuser=True))
    found = list(users.distinct())
    return [u for u in found if refusal(u, approval) is None]


def _group_members(name: str) -> list[Any]:
    return list(get_user_model().objects.filter(groups__name=name, is_active=True).distinct())


def _email(approval: Approval, users: Iterable[Any], *, escalation: bool) -> None:
    to = sorted({u.email for u in users if getattr(u, "email", "")})
    if not to:
        return
    title = approval.title or approval.pause_name
    subject = (f"[Fluxweb] {'Escalated' if escalation else 'Reminder'}: {title} "
               f"({approval.workflow}) is waiting for a decision")
    link = f"{inbox_setting('base_url')}/inbox/#approval-{approval.pk}"
    outcome = ("approved with the default input" if approval.on_deadline == "approve"
               else "rejected")
    body = (f"{approval.workflow} (execution {approval.execution_id}) is waiting at "
            f"'{approval.pause_name}' since {approval.requested_at:%Y-%m-%d %H:%M} UTC.\n"
            f"Deadline: {approval.deadline:%Y-%m-%d %H:%M} UTC; then it is "
            f"{outcome} automatically.\n\nDecide: {link}\n")
    try:
        send_mail(subject, body, inbox_setting("from_email"), to)
    except Exception:
        log.exception("inbox: could not email %s about approval %s", to, approval.pk)
