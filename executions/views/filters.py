"""The executions list's filters, sort orders and keyset pages, all kept in the URL.

``?status=failed,running&workflow=W&since=24h&until=2026-01-02&id=abc&sort=-duration
&cursor=...&limit=50``. A bad value never raises: :func:`parse` collects a message
per bad parameter and ignores that parameter. Pages are keyset pages (``WHERE
(key, id) < (last key, last id)``), so page 1,000 of a million rows costs what page
1 costs (``executions/api/pagination.py``, as for the REST lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.http import QueryDict

from executions.api import pagination
from executions.core import dates, queries
from executions.models import Execution
from executions.views.common import STATUSES

SORTS = {"-started": "newest first", "started": "oldest first",
         "-duration": "longest first", "duration": "shortest first"}
DEFAULT_SORT = "-started"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_RELATIVE = re.compile(r"^(\d{1,5})\s*(m|h|d|w)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FILTER_KEYS = ("status", "workflow", "since", "until", "id", "parent")
TIME_HELP = "use 30m, 24h, 7d, a date (2026-01-31) or a date and time (2026-01-31T09:30)."


@dataclass
class Filters:
    statuses: list[str] = field(default_factory=list)
    workflow: str = ""
    since: datetime | None = None
    until: datetime | None = None
    id: str = ""
    #: Only the children a call() of this execution started.
    parent: str = ""
    sort: str = DEFAULT_SORT
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT
    errors: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.workflow or self.since or self.until or self.id
                    or self.parent)

    @property
    def query_without_sort(self) -> str:
        return self.query(sort=None)

    def query(self, **changes: str | None) -> str:
        """This view's query string with ``changes`` (None drops a key); no cursor."""
        params = {k: v for k, v in self.raw.items() if v and k not in ("cursor",)}
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        q = QueryDict(mutable=True)
        q.update(params)
        return q.urlencode()


def parse_time(value: str, now: datetime, *, end: bool = False) -> datetime:
    """``30m``/``24h``/``7d``/``2w`` ago, an ISO date (its start, or its end) or datetime,
    in UTC (``executions.core.dates``); BadMoment when it is none of these or out of range."""
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        return dates.ago(now, dates.span(**{_UNITS[match.group(2)]: int(match.group(1))}))
    return dates.parse(value, end_of_day=end)


def parse(params: QueryDict, now: datetime | None = None) -> Filters:
    now = now or datetime.now(UTC)
    f = Filters(raw={k: params.get(k, "") for k in (*FILTER_KEYS, "sort", "cursor", "limit")})
    statuses = [s.strip() for value in params.getlist("status") for s in value.split(",")
                if s.strip()]
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        f.errors.append(f"Unknown status {', '.join(repr(s) for s in bad)}: choose from "
                        f"{', '.join(STATUSES)}.")
    f.statuses = [s for s in statuses if s in STATUSES]
    f.raw["status"] = ",".join(f.statuses)
    f.workflow = params.get("workflow", "").strip()[:200]
    f.id = params.get("id", "").strip()[:64]
    f.parent = params.get("parent", "").strip()[:64]
    for key in ("since", "until"):
        value = params.get(key, "").strip()
        if not value:
            continue
        try:
            setattr(f, key, parse_time(value, now, end=key == "until"))
        except dates.BadMoment as exc:
            hint = str(exc) if isinstance(exc, dates.OutOfRange) else TIME_HELP
            f.errors.append(f"'{value}' is not a time for {key}: {hint}")
            f.raw[key] = ""
    if f.since and f.until and f.since >= f.until:
        f.errors.append("'since' is after 'until': nothing can match; showing both ignored.")
        f.since = f.until = None
        f.raw["since"] = f.raw["until"] = ""
    sort = params.get("sort", "") or DEFAULT_SORT
    if sort not in SORTS:
        f.errors.append(f"Unknown sort '{sort}': use {', '.join(SORTS)}.")
        sort = DEFAULT_SORT
    f.sort = f.raw["sort"] = sort
    limit = params.get("limit", "")
    if limit:
        try:
            f.limit = min(max(int(limit), 1), MAX_LIMIT)
        except ValueError:
            f.errors.append(f"'{limit}' is not a number of rows per page.")
            f.raw["limit"] = ""
    f.cursor = params.get("cursor", "")[:pagination.MAX_CURSOR] or None
    return f




def matching(f: Filters) -> QuerySet[Execution]:
    """Every execution the filters match (no order, no cursor)."""
    return queries.matching(statuses=f.statuses, workflow=f.workflow, parent=f.parent,
                            since=f.since, until=f.until, id_prefix=f.id)


def page(f: Filters) -> tuple[list[Execution], str | None]:
    """One keyset page of the matching executions and the next page's cursor (a broken
    cursor: the first page, and a message in ``f.errors``)."""
    rows = matching(f).defer("input", "output", "meta")
    key = "created_at" if f.sort.endswith("started") else "duration"
    if key == "duration":
        rows = rows.filter(duration__isnull=False)
    order = (f"-{key}", "-id") if f.sort.startswith("-") else (key, "id")
    try:
        return pagination.page(rows, f.limit, f.cursor, order=order)
    except pagination.BadCursor:
        f.errors.append("That page link is broken or outdated: showing the first page.")
        f.cursor = None
        return pagination.page(rows, f.limit, None, order=order)
