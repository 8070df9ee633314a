"""The REST API: one NinjaAPI at /api/, to which each app adds its router.

Apps' routers are mounted at the end of this module (``executions/api/routes.py``,
``graphs/api.py``...). Every operation needs a caller (``executions/access/auth.py``: a
bearer token, or the session with CSRF) unless it says ``auth=None``; permissions
are checked in the operations (``executions/access/permissions.py``).

Every error answers `{"detail": "<for a person>", "code": "<stable_code>"}` (422s add
`"errors"`). Views raise `ApiError(status, detail, code=...)` (``executions/api/errors.py``)
for their own errors; the commands' and the engine's errors are mapped here (wrong
state 409, bad input 422, too large 413, unknown 404, not allowed 403).
`/api/docs`, `/api/openapi.json` and `/api/health` need no login. docs/api.md
documents the API.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError

from executions.access.auth import BadToken, CsrfFailed, api_auth
from executions.access.permissions import NotAuthenticated
from executions.api.errors import STATUS_CODES, ApiError
from executions.core import commands, outages
from executions.core.approvals import ApprovalError
from executions.core.schedules import ScheduleNotFound

log = logging.getLogger(__name__)

class FluxwebAPI(NinjaAPI):
    """The one API object; its operation ids stay what clients generated code from."""

    #: Operation ids are ``<module>_<function>`` with dots as underscores, and clients'
    #: generated code names them: the modules that moved into ``executions/api/`` keep
    #: the prefixes of their old names.
    STABLE_PREFIXES = {
        "executions.api.routes": "executions_api",
        "executions.api.events": "executions_events_api",
        "executions.api.schedules": "executions_schedules_api",
    }

    def get_openapi_operation_id(self, operation: Any) -> str:
        module = operation.view_func.__module__
        prefix = self.STABLE_PREFIXES.get(module, module.replace(".", "_"))
        return f"{prefix}_{operation.view_func.__name__}"


api = FluxwebAPI(
    title="Fluxweb",
    version="1",
    description="Run, watch and approve durable workflows.",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=api_auth,
)


def error(request: HttpRequest, status: int, detail: str, code: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error(request, exc.status_code, str(exc.message), exc.code)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "Log in or send a token to use this endpoint.", "not_authenticated")


@api.exception_handler(BadToken)
def on_bad_token(request: HttpRequest, exc: BadToken) -> HttpResponse:
    return error(request, 401, "The token is not valid: unknown, revoked or expired (send "
                               "'Authorization: Bearer <token>').", "invalid_token")


@api.exception_handler(NotAuthenticated)
def on_not_authenticated(request: HttpRequest, exc: NotAuthenticated) -> HttpResponse:
    return error(request, 401, str(exc) or "Log in or send a token.", "not_authenticated")


@api.exception_handler(CsrfFailed)
def on_csrf_failed(request: HttpRequest, exc: CsrfFailed) -> HttpResponse:
    return error(request, 403, "The CSRF check failed: send the csrftoken cookie's value in "
                               "the X-CSRFToken header (or use a bearer token).", "csrf_failed")


def on_command_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The command layer's errors, as its one map says (``commands.error_answer``)."""
    status, code, detail, extra = commands.error_answer(exc)
    return error(request, status, detail, code, **extra)


for _error in (ApprovalError, ScheduleNotFound, *commands.ERROR_CLASSES):
    api.add_exception_handler(_error, on_command_error)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = STATUS_CODES.get(exc.status_code, "error")
    return error(request, exc.status_code, str(exc.message), code)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error(request, 422, "The request is not valid: see errors.", "invalid",
                 errors=exc.errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, str(exc) or "Not found.", "not_found")


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error(request, 413, "The request body is too large.", "payload_too_large")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    part = outages.unavailable(exc)
    if part is not None:
        return unavailable(request, part, exc)
    log.exception("Unhandled error in %s %s", request.method, request.path)
    return error(request, 500, "Something went wrong on the server.", "internal_error")


def unavailable(request: HttpRequest, part: str, exc: BaseException) -> HttpResponse:
    """503 ``database_unavailable`` / ``queue_unavailable`` (executions/core/outages.py), with
    Retry-After; one line in the log, not a traceback per request of an outage."""
    log.warning("%s %s: the %s is unavailable: %s", request.method, request.path, part,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    response = error(request, 503, outages.DETAILS[part], outages.code(part))
    response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
    return response


@api.get("/", auth=None, include_in_schema=False)
def index(request: HttpRequest) -> dict[str, str]:
    """Where to start: the docs, the schema, the health check."""
    return {"docs": "/api/docs", "openapi": "/api/openapi.json", "health": "/api/health"}


class Health(Schema):
    status: str
    database: str
    queue: str
    #: Worker processes heard of in the last 10 s (None when the database is down).
    #: Informative: no worker does not make this web process unhealthy.
    workers: int | None = None


@api.get("/health", response={200: Health, 503: Health}, auth=None, tags=["health"])
def health(request: HttpRequest) -> Status:
    """Whether the database and the queue answer (503 names the part that does not),
    and how many workers are running."""
    database, workers = check_database()
    parts = {"database": database, "queue": check_queue()}
    ok = all(value == "ok" for value in parts.values())
    return Status(200 if ok else 503, {"status": "ok" if ok else "error", **parts,
                                       "workers": workers})


def check_database() -> tuple[str, int | None]:
    """``("ok", workers alive)`` when the database answers, ``("error", None)`` when it
    does not. One query does both: counting the workers is the database answering.
    When the count fails for another reason (a bug, a table not migrated yet), the
    database is asked ``SELECT 1`` on its own and the count is None."""
    from executions.core import workers

    try:
        return "ok", workers.count_alive()
    except Exception as exc:
        if outages.unavailable(exc) is not None:
            return _failed("the database", exc), None
        log.exception("Health check: could not count workers")

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _answers("the database", select_one), None


def _answers(what: str, probe: Any) -> str:
    """``"ok"`` when ``probe()`` returns, else ``"error"`` (and the reason in the log)."""
    try:
        probe()
    except Exception as exc:
        return _failed(what, exc)
    return "ok"


def _failed(what: str, exc: Exception) -> str:
    """``"error"``, and why in the log: one line for an outage, else a traceback."""
    if outages.unavailable(exc) is None:
        log.error("Health check: %s did not answer", what, exc_info=exc)
    else:
        log.warning("Health check: %s did not answer: %s", what,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return "error"


def check_queue() -> str:
    from huey.contrib.djhuey import HUEY

    return _answers("the queue", HUEY.storage.queue_size)


@csrf_exempt  # it changes nothing: a POST with a token gets this 404, not a CSRF page
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any /api/ path no router claims, with any method: the API's error shape."""
    return error(request, 404, f"No API endpoint at {request.path}.", "not_found")


# Apps' routers.
from executions.api.events import router as events_router  # noqa: E402
from executions.api.routes import router as executions_router  # noqa: E402
from executions.api.schedules import router as schedules_router  # noqa: E402
from executions.inbox.api import router as approvals_router  # noqa: E402
from graphs.api import router as graphs_router, tasks_router  # noqa: E402

api.add_router("/", executions_router)
api.add_router("/", schedules_router)
api.add_router("/", events_router)
api.add_router("/graphs", graphs_router)
api.add_router("/tasks", tasks_router)

api.add_router("/approvals", approvals_router)
