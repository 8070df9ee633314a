"""The executions app's REST API: workflows, executions, events, tokens and secrets.

Mounted under ``/api/`` by ``fluxweb/api.py``. Every operation needs a caller
(a bearer token or a session, ``executions/auth.py``) and the permission named
in ``executions/permissions.py`` (``@api_requires``). Mutations are
``executions.commands`` with the caller as actor, so the event log says who
started, resumed, retried, re-ran or cancelled, and the rules are every door's.
Their errors become the API's error answers in ``fluxweb/api.py`` (409 wrong state,
422 bad input, 413 too large, 404 unknown, 403 not allowed).

Lists answer ``{"items": [...], "next": cursor | null}``: keyset pages, newest
first for executions (``?cursor=`` is opaque), by ``seq`` for events (``?after=``).
"""


import base64
import binascii
import json
import statistics
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field as NinjaField, Query, Router, Schema, Status

from executions import commands, registry, schemas
from executions.api_errors import ApiError
from executions.commands import Actor
from executions.models import Execution, Secret, Token, Workflow as WorkflowRow
from executions.permissions import (
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
from flux import Status as RunStatus

router = Router(tags=["executions"])
tokens_router = Router(tags=["tokens"])
secrets_router = Router(tags=["secrets"])

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ERRORS = {400: schemas.Error, 401: schemas.Error, 403: schemas.Error, 404: schemas.Error,
          422: schemas.Error}
MUTATION_ERRORS = {**ERRORS, 409: schemas.Error, 413: schemas.Error, 422: schemas.Error}


def actor(request: HttpRequest) -> str:
    return request.user.get_username()


# cursors ---------------------------------------------------------------------------

def encode_cursor(*parts: Any) -> str:
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        parts = None
    if not isinstance(parts, list) or len(parts) != size or not all(
            isinstance(p, str) for p in parts):
        raise ApiError(400, "The cursor is not one this API gave out: pass the 'next' value "
                            "of the previous page unchanged.", code="bad_cursor")
    return parts


# workflows -------------------------------------------------------------------------

def workflow_items() -> list[dict[str, Any]]:
    """Registered workflows (and, inactive, those only the database knows), by name."""
    items = {}
    for row in WorkflowRow.objects.order_by("name"):
        item = row.to_dict()
        item["is_active"] = False
        items[row.name] = item
    for name, wf in registry.registered().items():
        fields = registry.describe(wf)
        fields.pop("source")
        items[name] = {"name": name, **fields}
    return [items[name] for name in sorted(items)]


class ListParams(Schema):
    limit: int = NinjaField(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = NinjaField(None, max_length=500)


@router.get("/workflows/", response={200: schemas.WorkflowPage, **ERRORS},
            summary="List workflows")
@api_requires(VIEW)
def list_workflows(request: HttpRequest, params: Query[ListParams]):
    """The workflows this deployment can run, by name."""
    items = workflow_items()
    if params.cursor:
        (after,) = decode_cursor(params.cursor, 1)
        items = [i for i in items if i["name"] > after]
    page = items[: params.limit]
    more = len(items) > params.limit
    return {"items": page, "next": encode_cursor(page[-1]["name"]) if more else None}


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


@router.post("/workflows/{name}/run", response={201: schemas.Execution, **MUTATION_ERRORS},
             summary="Start an execution")
@api_requires(RUN)
def run_workflow(request: HttpRequest, name: str, body: schemas.RunBody | None = None):
    """Answers 201 with the new (queued) execution; 422 when the input fails the
    workflow's schema, 404 for an unknown workflow."""
    value = body.input if body is not None else None
    return Status(201, commands.start(name, value, actor=Actor.of(request.user)).to_dict())


# executions ------------------------------------------------------------------------

class ExecutionFilters(ListParams):
    status: str | None = NinjaField(None, description="One status (see Execution.status).")
    workflow: str | None = NinjaField(None, max_length=200)
    since: datetime | None = NinjaField(None, description="Created at or after (ISO 8601).")
    until: datetime | None = NinjaField(None, description="Created before (ISO 8601).")
    parent: str | None = NinjaField(None, max_length=64,
                                    description="Only the children a call() of this "
                                                "execution started.")


get_execution = commands.execution


@router.get("/executions/", response={200: schemas.ExecutionPage, **ERRORS},
            summary="List executions, newest first")
@api_requires(VIEW)
def list_executions(request: HttpRequest, params: Query[ExecutionFilters]):
    rows = Execution.objects.order_by("-created_at", "-id")
    if params.status:
        if params.status not in RunStatus.ALL:
            raise ApiError(400, f"Unknown status '{params.status}': use one of "
                                f"{', '.join(RunStatus.ALL)}.", code="bad_status")
        rows = rows.filter(status=params.status)
    if params.workflow:
        rows = rows.filter(workflow=params.workflow)
    if params.parent:
        rows = rows.filter(parent_execution_id=params.parent)
    if params.since:
        rows = rows.filter(created_at__gte=_aware(params.since))
    if params.until:
        rows = rows.filter(created_at__lt=_aware(params.until))
    if params.cursor:
        created, pk = decode_cursor(params.cursor, 2)
        try:
            moment = datetime.fromisoformat(created)
        except ValueError:
            raise ApiError(400, "The cursor is not one this API gave out.",
                           code="bad_cursor") from None
        rows = rows.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk))
    page = list(rows[: params.limit + 1])
    more = len(page) > params.limit
    page = page[: params.limit]
    nxt = encode_cursor(page[-1].created_at.isoformat(), page[-1].pk) if more else None
    return {"items": [e.to_dict() for e in page], "next": nxt}


def _aware(value: datetime) -> datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value, timezone.utc)


@router.get("/executions/{execution_id}", response={200: schemas.ExecutionDetail, **ERRORS},
            summary="One execution")
@api_requires(VIEW)
def get_one(request: HttpRequest, execution_id: str):
    found = get_execution(execution_id)
    return {**found.to_dict(), "children": found.children_summary()}


class EventParams(Schema):
    after: int = NinjaField(0, ge=0, description="Only events with a greater seq.")
    limit: int = NinjaField(500, ge=1, le=1000)
    cursor: str | None = NinjaField(None, max_length=500)


@router.get("/executions/{execution_id}/events", response={200: schemas.EventPage, **ERRORS},
            summary="An execution's events, by seq")
@api_requires(VIEW)
def list_events(request: HttpRequest, execution_id: str, params: Query[EventParams]):
    """Ordered by ``seq`` (1, 2, 3… no gaps). ``?after=SEQ`` gives the events after the
    last one you have; ``next`` is the cursor of the following page."""
    execution = get_execution(execution_id)
    after = params.after
    if params.cursor:
        (value,) = decode_cursor(params.cursor, 1)
        if not value.isdigit():
            raise ApiError(400, "The cursor is not one this API gave out.", code="bad_cursor")
        after = max(after, int(value))
    rows = list(execution.events.filter(seq__gt=after).order_by("seq")[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {"items": [e.to_dict() for e in rows],
            "next": encode_cursor(str(rows[-1].seq)) if more else None}


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


@tokens_router.get("/tokens/", response={200: schemas.TokenPage, **ERRORS},
                   summary="Your API tokens (everyone's with the manage_tokens permission)")
def list_tokens(request: HttpRequest, params: Query[ListParams]):
    _authenticated(request)
    rows = Token.objects.select_related("user").order_by("-id")
    if not allowed(request.user, MANAGE_TOKENS):
        rows = rows.filter(user=request.user)
    if params.cursor:
        (last,) = decode_cursor(params.cursor, 1)
        if not last.isdigit():
            raise ApiError(400, "The cursor is not one this API gave out.", code="bad_cursor")
        rows = rows.filter(id__lt=int(last))
    page = list(rows[: params.limit + 1])
    more = len(page) > params.limit
    page = page[: params.limit]
    return {"items": [t.to_dict() for t in page],
            "next": encode_cursor(str(page[-1].pk)) if more else None}


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

@secrets_router.get("/secrets/", response={200: schemas.SecretPage, **ERRORS},
                    summary="Secret names (never values)")
@api_requires(MANAGE_SECRETS)
def list_secrets(request: HttpRequest, params: Query[ListParams]):
    rows = Secret.objects.order_by("name")
    if params.cursor:
        (last,) = decode_cursor(params.cursor, 1)
        rows = rows.filter(name__gt=last)
    page = list(rows[: params.limit + 1])
    more = len(page) > params.limit
    page = page[: params.limit]
    return {"items": [s.to_dict() for s in page],
            "next": encode_cursor(page[-1].name) if more else None}


@secrets_router.put("/secrets/{name}", response={200: schemas.SecretOut, **MUTATION_ERRORS},
                    summary="Set a secret's value")
@api_requires(MANAGE_SECRETS)
def put_secret(request: HttpRequest, name: str, body: schemas.SecretSet):
    from django.core.exceptions import ValidationError

    from executions.secrets_store import set_secret

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
    from executions.secrets_store import delete_secret as delete

    if not delete(name):
        raise ApiError(404, f"No secret named '{name}'.", code="secret_not_found")
    return Status(204, None)


router.add_router("", tokens_router)
router.add_router("", secrets_router)
