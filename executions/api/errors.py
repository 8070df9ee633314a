"""The REST API's error answers: ``{"detail": "<for a person>", "code": "<stable_code>"}``
(422s add ``"errors"``), in one place for every app's router and for
``fluxweb/api.py``, which maps exceptions to them."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from ninja.errors import HttpError

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid",
    429: "throttled",
}


class ApiError(HttpError):
    """An error answer with a stable machine-readable code."""

    def __init__(self, status_code: int, detail: str, code: str | None = None) -> None:
        super().__init__(status_code, detail)
        self.code = code or STATUS_CODES.get(status_code, "error")


def error_response(status: int, detail: str, code: str, **extra: Any) -> JsonResponse:
    """An error answer outside ninja's operations (middleware, plain views)."""
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)
