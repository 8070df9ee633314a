"""Middleware for the edges of every request.

:class:`ApiErrorsAsJson`: every error answer under ``/api/`` is the API's
``{"detail", "code"}``, whatever produced it: Django's 405 for a method an
endpoint does not take, its 400 for a request it refuses (a bad ``Host``), an
error page from any middleware. Answers that are JSON already
(the API's own) pass unchanged.

:class:`ServiceUnavailable`: when the database or the queue cannot be reached
(``executions/core/outages.py``), a request gets 503 with Retry-After: the API's
``database_unavailable`` / ``queue_unavailable`` under ``/api/``, the short
``503.html`` page elsewhere (it needs neither the database nor a session), never a
500 or a traceback. :func:`server_error` (``handler500``) does the same for an
outage met outside a view (a middleware saving the session).

:class:`RefuseUnstorableText`: no URL, query parameter or form field may hold
text that no store keeps (a NUL; ``flux.text``). Such a request is refused
at the edge, once for every page and endpoint: 404 when the path holds it (no
object can have that name), 422 naming the parameter or field otherwise, as
``{"detail", "code", "errors"}`` under ``/api/`` and as text on pages. Text in
JSON bodies is checked by the API's schemas (``executions.api.schemas.Text``) and
by the engine (workflow inputs, pause answers, comments).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, QueryDict

from executions.core import outages
from flux.text import printable, text_problem

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def answer(request: HttpRequest, status: int, detail: str, code: str, **extra) -> HttpResponse:
    """An error in the API's shape under /api/, as plain text elsewhere."""
    if is_api(request):
        from fluxweb.api import error

        return error(request, status, detail, code, **extra)
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


class ApiErrorsAsJson:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code < 400 or not is_api(request)
                or response.get("Content-Type", "").startswith("application/json")):
            return response
        from fluxweb.api import STATUS_CODES

        status = response.status_code
        code = STATUS_CODES.get(status, "internal_error" if status >= 500 else "error")
        if status == 405:
            detail = f"{request.path} does not take {request.method}: use " \
                     f"{response.get('Allow', '')}."
        else:
            try:
                detail = f"{HTTPStatus(status).phrase}."
            except ValueError:
                detail = "The request failed."
        shaped = answer(request, status, detail, code)
        for header in ("Allow", "Retry-After"):
            if header in response:
                shaped[header] = response[header]
        return shaped


class RefuseUnstorableText:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = text_problem(request.path)
        if problem:
            return answer(request, 404, f"Nothing is at {printable(request.path)}: the path "
                                        f"{problem}.", "not_found")
        errors = self.problems("query", request.GET)
        if request.method == "POST" and request.content_type in FORMS:
            try:
                errors += self.problems("form", request.POST)
            except RequestDataTooBig:
                pass  # the view meets it again and answers 413 its own way
        if errors:
            detail = " ".join(f"'{e['loc'][1]}' {e['msg']}." for e in errors[:5])
            return answer(request, 422, f"The request is not valid: {detail}", "invalid",
                          errors=errors)
        return self.get_response(request)

    @staticmethod
    def problems(where: str, data: QueryDict) -> list[dict]:
        out = []
        for key, values in data.lists():
            for value in (key, *values):
                problem = text_problem(value) if isinstance(value, str) else None
                if problem:
                    out.append({"loc": [where, printable(key)], "msg": problem,
                                "type": "bad_text"})
                    break
        return out


def unavailable_response(request: HttpRequest, part: str, exc: BaseException) -> HttpResponse:
    """503 for an outage of ``part``: JSON under /api/, the 503 page elsewhere."""
    if is_api(request):
        from fluxweb.api import unavailable

        return unavailable(request, part, exc)
    from django.template import loader

    body = loader.get_template("503.html").render({"part": part})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(outages.RETRY_AFTER_SECONDS)
    return response


class ServiceUnavailable:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        part = outages.unavailable(exc)
        return None if part is None else unavailable_response(request, part, exc)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the 503 page when the uncaught error is an outage, else 500.html."""
    import sys

    from django.views.defaults import server_error as django_server_error

    exc = sys.exc_info()[1]
    part = outages.unavailable(exc)
    if part is not None:
        return unavailable_response(request, part, exc)
    return django_server_error(request)
