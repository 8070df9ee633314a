"""The nav badge: how many pending approvals the logged-in user may decide.

Registered in ``settings.TEMPLATES`` as a context processor; the count is
computed only when a template uses ``inbox_count`` (base.html's nav does).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def inbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from executions.access.permissions import APPROVE, allowed
        from executions.core import approvals

        if not allowed(user, APPROVE):  # nothing to decide: no query to build
            return 0
        return approvals.decidable(user).count()

    return {"inbox_count": SimpleLazyObject(count)}
