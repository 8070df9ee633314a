"""The executions app's REST API: workflows, executions, events, tokens and secrets.

Mounted under ``/api/`` by ``fluxweb/api.py``. Every operation needs a caller
(a bearer token or a session, ``executions/access/auth.py``) and the permission named
in ``executions/access/permissions.py`` (``@api_requires``). Mutations are
``executions.core.commands`` with the caller as actor, so the event log says who
started, resumed, retried, re-ran or cancelled, and the rules are every door's.
Their errors become the API's error answers in ``fluxweb/api.py`` (409 wrong state,
422 bad input, 413 too large, 404 unknown, 403 not allowed).

Lists answer ``{"items": [...], "next": cursor | null}``: keyset pages
(``executions/api/pagination.py``), newest first for executions and tokens, by name for
workflows and secrets, by ``seq`` for events (which also take ``?after=``).
"""


import statistics
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field as NinjaField, Query, Router, Schema, Status
from ninja.pagination import paginate

from executions.access.permissions import (
    APPROVE,
    CANCEL,
    MANAGE_SECRETS,
    MANAGE_TOKENS,
    RUN,
    VIEW,
    NotAuthenticated,
    allowed,
    api_requires,
)
from executions.api import schemas
from executions.api.errors import ApiError
from executions.api.pagination import KeysetPagination
from executions.core import commands, dates, queries, registry, starting
from executions.core.commands import Actor
from executions.models import Event, Execution, Secret, Token, Workflow as WorkflowRow
from flux import Status as RunStatus

router = Router(tags=["executions"])
tokens_router = Router(tags=["tokens"])
secrets_router = Router(tags=["secrets"])

ERRORS = schemas.ERRORS
MUTATION_ERRORS = schemas.MUTATION_ERRORS


def actor(request: HttpRequest) -> str:
    return request.user.get_username()


# workflows -------------------------------------------------------------------------

def workflow_items() -> list[dict[str, Any]]:
    """Registered workflows (and, inactive, those only the database knows), by name."""
    registered = registry.registered()
    items = {}
    for row in WorkflowRow.objects.exclude(name__in=list(registered)).defer("source"):
        item = row.to_dict()
        item["is_active"] = False
        items[row.name] = item
    for name, wf in registered.items():
        fields = registry.describe(wf)
        fields.pop("source")
        items[name] = {"name": name, **fields}
    return [items[name] for name in sorted(items)]


@router.get("/workflows/", response={200: list[schemas.WorkflowSummary], **ERRORS},
            summary="List workflows")
@paginate(KeysetPagination, order=("name",))
@api_requires(VIEW)
def list_workflows(request: HttpRequest):
    """The workflows this deployment can run, by name."""
    return workflow_items()


STATS_DAYS = 7


@router.get("/workflows/{name}", response={200: schemas.WorkflowDetail, **ERRORS},
            summary="One workflow, with its input schema and recent statistics")
@api_requires(VIEW)
def get_workflow(request: HttpRequest, name: str):
    item = next((i for i in workflow_items() if i["name"] == name), None)
    if item is None:
        raise ApiError(404, f"No workflow named '{name}'.", code="workflow_not_found")
    since = timezone.now() - timedelta(days=STATS_DAYS)
    recent = Execution.objects.filter(workflow=name, created_at__gte=since)
    by_status = dict(recent.values_list("status").annotate(n=Count("id")).order_by())
    durations = [(f - s).total_seconds() for s, f in recent.filter(
        status=RunStatus.COMPLETED, started_at__isnull=False, finished_at__isnull=False,
    ).order_by("-created_at").values_list("started_at", "finished_at")[:500]]
    last = Execution.objects.filter(workflow=name).order_by("-created_at").values_list(
        "created_at", flat=True).first()
    item["stats"] = {
        "window_days": STATS_DAYS,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "last_run_at": last.isoformat() if last else None,
        "median_duration_seconds": statistics.median(durations) if durations else None,
    }
    item.setdefault("graphs", [])
    return item


@router.post("/workflows/{name}/run",
             response={200: schemas.Execution, 201: schemas.Execution, **MUTATION_ERRORS},
             summary="Start an execution")
@api_requires(RUN)
def run_workflow(request: HttpRequest, name: str, body: schemas.RunBody | None = None):
    """Answers 201 with the new (queued) execution, or 200 with the existing one when
    a run of this workflow has the body's ``idempotency_key`` already; 422 when the
    input fails the workflow's schema (or a bad key, priority or tags), 404 for an
    unknown workflow."""
    body = body or schemas.RunBody()
    outcome = commands.begin(name, body.input, actor=Actor.of(request.user),
                             idempotency_key=body.idempotency_key, priority=body.priority,
                             tags=body.tags)
    return Status(201 if outcome.created else 200, outcome.execution.to_dict())


@router.post("/workflows/{name}/runs",
             response={200: schemas.RunsStarted, 201: schemas.RunsStarted,
                       **MUTATION_ERRORS},
             summary="Start many executions at once")
@api_requires(RUN)
def run_workflow_many(request: HttpRequest, name: str, body: schemas.RunsBody):
    """One run per item of ``inputs`` (each the single run's body: ``input``,
    ``idempotency_key``, ``priority``, ``tags``), started in one transaction and queued
    together. Answers the executions in the items' order: 201 when any was created, 200
    when every item's key had a run already (``created`` says which). A bad item refuses
    the whole batch, nothing started: 422 (413 for an input over the size limit) whose
    ``errors`` name it (``inputs[3].priority``); at most 10,000 items (413)."""
    outcomes = commands.start_many(name, body.inputs, actor=Actor.of(request.user))
    created = sum(o.created for o in outcomes)
    items = [{"created": o.created, "execution": o.execution.to_dict()} for o in outcomes]
    return Status(201 if created else 200, {"items": items, "created": created})


# executions ------------------------------------------------------------------------

class ExecutionFilters(Schema):
    status: str | None = NinjaField(None, description="One status (see Execution.status).")
    workflow: str | None = NinjaField(None, max_length=200)
    since: dates.UtcDatetime | None = NinjaField(
        None, description="Created at or after (ISO 8601; without an offset: UTC).")
    until: dates.UtcDatetime | None = NinjaField(
        None, description="Created before (ISO 8601; without an offset: UTC).")
    tag: list[str] = NinjaField([], description="KEY:VALUE; repeat for all of several.")
    parent: str | None = NinjaField(None, max_length=64,
                                    description="Only the children a call() of this "
                                                "execution started.")


get_execution = commands.execution


@router.get("/executions/", response={200: list[schemas.Execution], **ERRORS},
            summary="List executions, newest first")
@paginate(KeysetPagination, order=("-created_at", "-id"), item=Execution.to_dict)
@api_requires(VIEW)
def list_executions(request: HttpRequest, params: Query[ExecutionFilters]):
    if params.status and params.status not in RunStatus.ALL:
        raise ApiError(400, f"Unknown status '{params.status}': use one of "
                            f"{', '.join(RunStatus.ALL)}.", code="bad_status")
    return queries.matching(statuses=[params.status] if params.status else [],
                            workflow=params.workflow, parent=params.parent,
                            since=params.since, until=params.until,
                            tags=starting.parse_tag_filters(params.tag, ":"))


@router.get("/executions/{execution_id}", response={200: schemas.ExecutionDetail, **ERRORS},
            summary="One execution")
@api_requires(VIEW)
def get_one(request: HttpRequest, execution_id: str):
    found = get_execution(execution_id, knowing_children=True)
    return {**found.to_dict(), "children": found.children_summary()}


class EventParams(Schema):
    after: int = NinjaField(0, ge=0, description="Only events with a greater seq.")


@router.get("/executions/{execution_id}/events", response={200: list[schemas.Event], **ERRORS},
            summary="An execution's events, by seq")
@paginate(KeysetPagination, order=("seq",), item=Event.to_dict, default=500, maximum=1000)
@api_requires(VIEW)
def list_events(request: HttpRequest, execution_id: str, params: Query[EventParams]):
    """Ordered by ``seq`` (1, 2, 3… no gaps). ``?after=SEQ`` gives the events after the
    last one you have; ``next`` is the cursor of the following page."""
    return get_execution(execution_id).events.filter(seq__gt=params.after)


@router.post("/executions/{execution_id}/cancel",
             response={200: schemas.Execution, **MUTATION_ERRORS}, summary="Cancel")
@api_requires(CANCEL)
def cancel(request: HttpRequest, execution_id: str):
    """409 when it already finished. A running one stops within about a second
    (``status`` is ``cancelling`` until then)."""
    return commands.cancel(execution_id, actor=Actor.of(request.user)).to_dict()


@router.post("/executions/{execution_id}/resume",
             response={200: schemas.Execution, **MUTATION_ERRORS},
             summary="Resume a paused execution (approve its pause)")
@api_requires(APPROVE)
def resume(request: HttpRequest, execution_id: str, body: schemas.ResumeBody | None = None):
    """Approves the pending pause (``pause``: its name or task id; else the first) with
    ``input`` and queues the execution: the same decision, with the same rules, as the
    inbox's (the pause's ``approvers`` and ``groups``, ``forbid_self_approval``: 403).
    422 when the input fails the pause's schema, 409 when it is not paused."""
    return commands.resume(execution_id, body.input if body else None,
                           pause=body.pause if body else None,
                           actor=Actor.of(request.user)).to_dict()


@router.post("/executions/{execution_id}/retry",
             response={200: schemas.Execution, **MUTATION_ERRORS},
             summary="Retry a failed execution from its failed task")
@api_requires(RUN)
def retry(request: HttpRequest, execution_id: str):
    """409 unless it failed. Recorded results are kept; the failed task runs again."""
    return commands.retry(execution_id, actor=Actor.of(request.user)).to_dict()


@router.post("/executions/{execution_id}/rerun",
             response={201: schemas.Execution, **MUTATION_ERRORS},
             summary="Start a new execution with the same (or a new) input")
@api_requires(RUN)
def rerun(request: HttpRequest, execution_id: str, body: schemas.RerunBody | None = None):
    """A new execution of the same workflow, ``parent_id`` naming this one; with the
    body's ``input`` when given, else the original input."""
    if body is not None and "input" in body.model_fields_set:
        new = commands.rerun(execution_id, input=body.input, actor=Actor.of(request.user))
    else:
        new = commands.rerun(execution_id, actor=Actor.of(request.user))
    return Status(201, new.to_dict())


# tokens ----------------------------------------------------------------------------

def _authenticated(request: HttpRequest) -> None:
    """Every logged-in user may manage their own tokens."""
    if not request.user.is_authenticated:
        raise NotAuthenticated("Log in or send a token.")


@tokens_router.get("/tokens/", response={200: list[schemas.TokenOut], **ERRORS},
                   summary="Your API tokens (everyone's with the manage_tokens permission)")
@paginate(KeysetPagination, order=("-id",), item=Token.to_dict)
def list_tokens(request: HttpRequest):
    """Newest first."""
    _authenticated(request)
    rows = Token.objects.select_related("user")
    if not allowed(request.user, MANAGE_TOKENS):
        rows = rows.filter(user=request.user)
    return rows


@tokens_router.post("/tokens/", response={201: schemas.TokenCreated, **MUTATION_ERRORS},
                    summary="Create a token for yourself (shown once)")
def create_token(request: HttpRequest, body: schemas.TokenCreate):
    _authenticated(request)
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, raw = Token.issue(request.user, name=body.name, expires_in=expires)
    return Status(201, {**token.to_dict(), "token": raw})


@tokens_router.delete("/tokens/{token_id}", response={200: schemas.TokenOut, **ERRORS},
                      summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int):
    _authenticated(request)
    token = Token.objects.select_related("user").filter(pk=token_id).first()
    if token is None or (token.user_id != request.user.pk
                         and not allowed(request.user, MANAGE_TOKENS)):
        raise ApiError(404, f"You have no token {token_id}.", code="token_not_found")
    token.revoke()
    return token.to_dict()


# secrets (names only: values go in, never out) ------------------------------------

@secrets_router.get("/secrets/", response={200: list[schemas.SecretOut], **ERRORS},
                    summary="Secret names (never values), by name")
@paginate(KeysetPagination, order=("name",), item=Secret.to_dict)
@api_requires(MANAGE_SECRETS)
def list_secrets(request: HttpRequest):
    return Secret.objects.all()


@secrets_router.put("/secrets/{name}", response={200: schemas.SecretOut, **MUTATION_ERRORS},
                    summary="Set a secret's value")
@api_requires(MANAGE_SECRETS)
def put_secret(request: HttpRequest, name: str, body: schemas.SecretSet):
    from django.core.exceptions import ValidationError

    from executions.core.secrets_store import set_secret

    try:
        secret = set_secret(name, body.value, actor=actor(request),
                            description=body.description)
    except ValidationError as exc:
        raise ApiError(422, " ".join(exc.messages), code="invalid_secret") from None
    return secret.to_dict()


@secrets_router.delete("/secrets/{name}", response={204: None, **ERRORS},
                       summary="Delete a secret")
@api_requires(MANAGE_SECRETS)
def delete_secret(request: HttpRequest, name: str):
    from executions.core.secrets_store import delete_secret as delete

    if not delete(name):
        raise ApiError(404, f"No secret named '{name}'.", code="secret_not_found")
    return Status(204, None)


router.add_router("", tokens_router)
router.add_router("", secrets_router)
