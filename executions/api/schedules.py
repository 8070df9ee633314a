"""The REST API of schedules: ``/api/schedules/`` (DESIGN.md's shape; docs/schedules.md).

Reading needs ``view_execution``; every change needs ``manage_schedules`` (operators,
admins) and goes through ``executions.core.schedules``. A schedule's JSON carries
``next_fires`` (the next five, ISO 8601 with offset). ``POST /api/schedules/preview``
checks a spec without saving anything (the schedule form uses it as you type).
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from executions.access.permissions import MANAGE_SCHEDULES, VIEW, api_requires
from executions.api import schemas
from executions.api.pagination import KeysetPagination
from executions.core import schedules
from executions.core.commands import Actor
from executions.core.conf import clock
from executions.models import Schedule
from flux.schedule import OVERLAP_POLICIES

router = Router(tags=["schedules"])

ERRORS = schemas.ERRORS
MUTATION_ERRORS = schemas.MUTATION_ERRORS


class ScheduleOut(Schema):
    model_config = ConfigDict(extra="allow")

    name: str
    workflow: str
    cron: str | None
    interval_seconds: int | None
    timezone: str
    input: Any = None
    overlap: str = Field(description=", ".join(OVERLAP_POLICIES))
    catchup_seconds: int
    priority: int
    paused: bool
    note: str
    next_fires: list[str] = Field(description="The next five fire times (none while "
                                              "paused), ISO 8601 with offset.")
    last_execution_id: str | None
    description: str = Field(description="The spec in words.")


class ScheduleChange(Schema):
    workflow: str | None = Field(None, max_length=200)
    cron: str | None = Field(None, max_length=200, description="e.g. '0 9 * * MON-FRI'")
    interval_seconds: int | None = Field(None, ge=1)
    timezone: str | None = Field(None, max_length=64, description="An IANA name (UTC).")
    input: Any = None
    overlap: str | None = Field(None, description=", ".join(OVERLAP_POLICIES))
    catchup_seconds: int | None = Field(None, ge=0)
    priority: int | None = None
    paused: bool | None = None
    note: str | None = Field(None, max_length=2000)


class ScheduleCreate(ScheduleChange):
    name: str = Field(max_length=200)
    workflow: str = Field(max_length=200)


class Backfill(Schema):
    start: datetime
    end: datetime


class BackfillOut(Schema):
    started: list[schemas.Execution]
    existing: list[schemas.Execution] = Field(description="Fire times that had a run.")


class Preview(Schema):
    cron: str | None = Field(None, max_length=200)
    interval_seconds: int | None = None
    timezone: str = Field("UTC", max_length=64)


class PreviewOut(Schema):
    valid: bool
    error: str | None
    description: str | None
    next_fires: list[str]


class PauseBody(Schema):
    note: str | None = Field(None, max_length=2000)


def _out(row: Schedule) -> dict[str, Any]:
    return row.to_dict(clock.now())


def _given(body: Schema) -> dict[str, Any]:
    return {k: getattr(body, k) for k in body.model_fields_set if k != "name"}


@router.get("/schedules/", response={200: list[ScheduleOut], **ERRORS},
            summary="List schedules, by name")
@paginate(KeysetPagination, order=("name",), item=_out)
@api_requires(VIEW)
def list_schedules(request: HttpRequest):
    return Schedule.objects.all()


@router.post("/schedules/", response={201: ScheduleOut, **MUTATION_ERRORS},
             summary="Create a schedule")
@api_requires(MANAGE_SCHEDULES)
def create_schedule(request: HttpRequest, body: ScheduleCreate):
    """422 for an invalid expression, an unknown timezone or workflow, an input that
    fails the workflow's schema; 409 when the name is taken."""
    row = schedules.create(body.name, actor=Actor.of(request.user), **_given(body))
    return Status(201, _out(row))


@router.post("/schedules/preview", response={200: PreviewOut, **ERRORS},
             summary="Check a cron expression or interval: its sentence and next fires")
@api_requires(VIEW)
def preview(request: HttpRequest, body: Preview):
    return schedules.preview(body.cron, body.interval_seconds, body.timezone)


@router.get("/schedules/{name}", response={200: ScheduleOut, **ERRORS},
            summary="One schedule, with its next five fire times")
@api_requires(VIEW)
def get_schedule(request: HttpRequest, name: str):
    return _out(schedules.get(name))


@router.patch("/schedules/{name}", response={200: ScheduleOut, **MUTATION_ERRORS},
              summary="Change a schedule")
@api_requires(MANAGE_SCHEDULES)
def update_schedule(request: HttpRequest, name: str, body: ScheduleChange):
    return _out(schedules.update(name, actor=Actor.of(request.user), **_given(body)))


@router.delete("/schedules/{name}", response={204: None, **ERRORS},
               summary="Delete a schedule (its runs stay)")
@api_requires(MANAGE_SCHEDULES)
def delete_schedule(request: HttpRequest, name: str):
    schedules.delete(name, actor=Actor.of(request.user))
    return Status(204, None)


@router.post("/schedules/{name}/pause", response={200: ScheduleOut, **MUTATION_ERRORS},
             summary="Pause a schedule")
@api_requires(MANAGE_SCHEDULES)
def pause(request: HttpRequest, name: str, body: PauseBody | None = None):
    return _out(schedules.pause(name, actor=Actor.of(request.user),
                                note=body.note if body else None))


@router.post("/schedules/{name}/resume", response={200: ScheduleOut, **MUTATION_ERRORS},
             summary="Resume a schedule (from now on: missed fires are not run)")
@api_requires(MANAGE_SCHEDULES)
def resume(request: HttpRequest, name: str, body: PauseBody | None = None):
    return _out(schedules.resume(name, actor=Actor.of(request.user),
                                 note=body.note if body else None))


@router.post("/schedules/{name}/trigger", response={201: schemas.Execution, **MUTATION_ERRORS},
             summary="Start a run of the schedule now")
@api_requires(MANAGE_SCHEDULES)
def trigger(request: HttpRequest, name: str):
    return Status(201, schedules.trigger(name, actor=Actor.of(request.user)).to_dict())


@router.post("/schedules/{name}/backfill", response={200: BackfillOut, **MUTATION_ERRORS},
             summary="One run per fire time in [start, end]")
@api_requires(MANAGE_SCHEDULES)
def backfill(request: HttpRequest, name: str, body: Backfill):
    """Fire times that have a run already are not started again (``existing``); a
    range of more than ``FLUX_SCHEDULES["max_backfill"]`` fire times is refused (422)."""
    done = schedules.backfill(name, body.start, body.end, actor=Actor.of(request.user))
    return {"started": [e.to_dict() for e in done.started],
            "existing": [e.to_dict() for e in done.existing]}
