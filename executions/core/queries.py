"""Which executions a filter matches: the one query behind the dashboard's list
(``executions/views/filters.py``), ``GET /api/executions/`` and ``flux runs list``.
Each door parses its own words for the filters (a query string, a schema, options) and
orders and pages the answer itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from executions.core.starting import filter_tags
from executions.models import Execution


def matching(*, statuses: Iterable[str] = (), workflow: str | None = None,
             parent: str | None = None, since: datetime | None = None,
             until: datetime | None = None, id_prefix: str | None = None,
             tags: Iterable[tuple[str, str]] = ()) -> QuerySet[Execution]:
    """The executions with one of ``statuses`` (any when empty), of ``workflow``, called
    by ``parent``, created in ``[since, until)``, whose id is or starts with
    ``id_prefix``, holding every ``(key, value)`` of ``tags``. No order."""
    rows = Execution.objects.all()
    statuses = list(statuses)
    if statuses:
        rows = rows.filter(status__in=statuses)
    if workflow:
        rows = rows.filter(workflow=workflow)
    if parent:
        rows = rows.filter(parent_execution_id=parent)
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    if id_prefix:
        rows = (rows.filter(pk=id_prefix) if len(id_prefix) == 32
                else rows.filter(pk__startswith=id_prefix))
    return filter_tags(rows, tags)
