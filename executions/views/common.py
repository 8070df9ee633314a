"""Helpers shared by the dashboard's views: permissions, durations, JSON for templates."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from executions.access import permissions
from executions.core.conf import clock
from executions.models import Execution
from flux.projection import Status
from flux.text import printable

#: Statuses in the order pages list them.
STATUSES = [Status.CREATED, Status.QUEUED, Status.RUNNING, Status.PAUSED, Status.SLEEPING,
            Status.INTERRUPTED, Status.CANCELLING, Status.COMPLETED, Status.FAILED,
            Status.CANCELLED]
FINISHED = frozenset(Status.FINISHED)
ACTIVE = (Status.RUNNING, Status.CANCELLING)


def can(request: HttpRequest, action: str) -> bool:
    """Whether the request's user may do ``action`` (a key of permissions.ACTIONS)."""
    return permissions.allowed(request.user, permissions.ACTIONS[action])


def capabilities(request: HttpRequest) -> dict[str, bool]:
    return {name: can(request, name) for name in ("run", "cancel", "retry", "rerun")}


def back_to(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the form's ``next`` when it points into this site, else to ``default``.

    The one place a user-supplied redirect target is followed: another host, a
    protocol-relative ``//host`` or a ``javascript:`` URL is ignored.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    return HttpResponseRedirect(target or default)


def worker_lost(execution: Execution, now: float | None = None) -> bool:
    """Running (or being cancelled) with an expired lease: its worker is gone."""
    if execution.status not in ACTIVE:
        return False
    now = clock.time() if now is None else now
    return execution.lease_expires is None or execution.lease_expires < now


def duration(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return end - start


def human_duration(value: timedelta | float | None) -> str:
    """``412 ms``, ``3.2 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def pretty(value: Any) -> str:
    """``value`` as indented JSON for a page (printable: ``flux.text.printable``)."""
    return printable(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False,
                                default=str))


def error_chain(error: Any) -> list[dict[str, str]]:
    """An execution's error and its causes, outermost first."""
    chain = []
    seen = 0
    while isinstance(error, dict) and seen < 20:
        chain.append({"type": printable(str(error.get("type") or "Error")),
                      "message": printable(str(error.get("message") or "")),
                      "traceback": printable(str(error.get("traceback") or ""))})
        error = error.get("cause")
        seen += 1
    if error is not None and not chain:
        chain.append({"type": "Error", "message": printable(str(error)), "traceback": ""})
    return chain
