"""The REST API's doors for events from the world (``wait_for_event``), mounted under
``/api/`` by ``fluxweb/api.py``:

* ``POST /api/events/{name}`` with ``{"payload": ...}``: every waiting execution whose
  ``match`` the payload holds gets it (each once);
* ``POST /api/executions/{id}/events/{name}`` with ``{"payload": ...}``: that execution
  only.

Both answer ``{"delivered": [execution ids], "kept": bool}``: ``kept`` is true when
nobody waited and the event is kept for a later wait (``FLUX_EVENT_KEEP_SECONDS``).
Thin adapters over :func:`executions.core.commands.send_event` (permission ``run_workflow``).
"""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from executions.access.permissions import RUN, api_requires
from executions.api import schemas
from executions.core import commands
from executions.core.commands import Actor

router = Router(tags=["events"])

ERRORS = {400: schemas.Error, 401: schemas.Error, 403: schemas.Error, 404: schemas.Error,
          409: schemas.Error, 413: schemas.Error, 422: schemas.Error}


class EventBody(Schema):
    payload: Any = Field(None, description="Any JSON value; a waiter's match compares "
                                           "fields of an object payload.")


class Delivery(Schema):
    delivered: list[str] = Field(description="The executions that got the event.")
    kept: bool = Field(description="Nobody waited: kept for a later wait.")


@router.post("/events/{name}", response={200: Delivery, **ERRORS},
             summary="Send an event to every execution waiting for it")
@api_requires(RUN)
def send(request: HttpRequest, name: str, body: EventBody | None = None):
    payload = body.payload if body is not None else None
    return commands.send_event(name, payload, actor=Actor.of(request.user))


@router.post("/executions/{execution_id}/events/{name}", response={200: Delivery, **ERRORS},
             summary="Send an event to one execution")
@api_requires(RUN)
def send_to(request: HttpRequest, execution_id: str, name: str, body: EventBody | None = None):
    payload = body.payload if body is not None else None
    return commands.send_event(name, payload, actor=Actor.of(request.user),
                               execution_id=execution_id)
