"""Approvals: the inbox's items (mirrored from the event log), who may decide them,
reminders.

* **The mirror.** :data:`MIRROR` is an append hook of the Django store
  (``executions.core.store.add_append_hook``, installed by the app's ``ready``): inside
  the transaction that writes a batch of events holding a ``TASK_PAUSED``,
  ``TASK_RESUMED`` or ``WORKFLOW_CANCELLED``/``WORKFLOW_COMPLETED``, a pause creates
  its :class:`~executions.models.Approval` (once per execution and pause task id), a
  resume closes it (approved, rejected, or expired when the actor is
  :data:`DEADLINE_ACTOR`), the end of the execution cancels what is still pending.
  So the inbox and the event log can never disagree, however a pause is answered.
* **The rules.** :func:`visible`, :func:`decidable` and :func:`refusal` say who may
  see and decide an item. Deciding itself, and applying deadlines, are commands
  (``executions.core.commands.decide``, ``apply_deadline``): every door that answers a
  pause (the inbox, the API's resume, ``flux runs resume``) goes through them.
* **Reminders.** :func:`remind` (a pass of the workers' reaper) sends the optional
  reminder and escalation emails (``settings.FLUX_INBOX``; Django's email backend).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q, QuerySet

from executions.access.permissions import APPROVE, allowed
from executions.core.conf import app_settings, clock
from executions.core.store import AppendHook
from executions.models import Approval
from flux.domain.events import ExecutionEvent, ExecutionEventType as T
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


def inbox_setting(name: str) -> Any:
    return app_settings().inbox[name]


# errors ---------------------------------------------------------------------------

class ApprovalError(Exception):
    """A decision that cannot be made; ``status`` and ``code`` are the API's answer."""

    status = 400
    code = "bad_request"
    #: What was wrong, when the error is raised without a message.
    fallback = "That decision cannot be made."

    def __init__(self, detail: str, *, errors: list | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ApprovalNotFound(ApprovalError):
    status, code = 404, "not_found"
    fallback = "No such approval item."


class NotAllowed(ApprovalError):
    status, code = 403, "permission_denied"
    fallback = "You may not decide this item."


class AlreadyDecided(ApprovalError):
    status, code = 409, "already_decided"
    fallback = "This item was already decided; nothing was changed."


class NotPaused(ApprovalError):
    status, code = 409, "execution_not_paused"
    fallback = "The execution is not waiting at this pause now; nothing was changed."


class InvalidApprovalInput(ApprovalError):
    status, code = 422, "invalid_input"
    fallback = "The input does not fit the pause's schema."


# the mirror: creation and closing, inside DjangoStore.append's transaction -----------

def concerns(events: Sequence[ExecutionEvent], may_have_pauses: bool = True) -> bool:
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


#: The store's append hook that keeps the inbox in step with the log.
MIRROR = AppendHook("approvals", concerns, record_events)


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
    return clock.now()


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


# deadlines, reminders, escalation ---------------------------------------------------

def remind(now: datetime, limit: int = 100) -> int:
    """Email reminders and escalations that are due (each at most once per item);
    how many items were reminded or escalated. A pass of the workers' reaper."""
    sent = 0
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
            sent += bool(won)
    return sent


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
