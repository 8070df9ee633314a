"""The executions list's filters, sort orders and keyset pages, all kept in the URL.

``?status=failed,running&workflow=W&since=24h&until=2026-01-02&id=abc&sort=-duration
&cursor=...&limit=50``. A bad value never raises: :func:`parse` collects a message
per bad parameter and ignores that parameter. Pages are keyset pages (``WHERE
(key, id) < (last key, last id)``), so page 1,000 of a million rows costs what page
1 costs; the cursor is the last row's key, base64url-encoded JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime

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
    cursor: tuple[Any, str] | None = None
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


def parse_time(value: str, now: datetime, *, end: bool = False) -> datetime | None:
    """``30m``/``24h``/``7d``/``2w`` ago, an ISO date (its start, or its end) or datetime."""
    value = value.strip()
    match = _RELATIVE.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is not None:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    return None


def encode_cursor(key: Any, pk: str) -> str:
    if isinstance(key, datetime):
        key = key.isoformat()
    elif isinstance(key, timedelta):
        key = key.total_seconds()
    raw = json.dumps([key, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str, sort: str) -> tuple[Any, str] | None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        key, pk = json.loads(raw)
        if not isinstance(pk, str):
            return None
        if sort.endswith("started"):
            moment = parse_datetime(key)
            return (moment, pk) if moment is not None else None
        return (timedelta(seconds=float(key)), pk)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


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
        moment = parse_time(value, now, end=key == "until")
        if moment is None:
            f.errors.append(f"'{value}' is not a time for {key}: use 30m, 24h, 7d, a date "
                            "(2026-01-31) or a date and time (2026-01-31T09:30).")
            f.raw[key] = ""
        else:
            setattr(f, key, moment)
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
    cursor = params.get("cursor", "")
    if cursor:
        f.cursor = decode_cursor(cursor, sort)
        if f.cursor is None:
            f.errors.append("That page link is broken or outdated: showing the first page.")
    return f




def matching(f: Filters) -> QuerySet[Execution]:
    """Every execution the filters match (no order, no cursor)."""
    rows = Execution.objects.all()
    if f.statuses:
        rows = rows.filter(status__in=f.statuses)
    if f.workflow:
        rows = rows.filter(workflow=f.workflow)
    if f.parent:
        rows = rows.filter(parent_execution_id=f.parent)
    if f.since:
        rows = rows.filter(created_at__gte=f.since)
    if f.until:
        rows = rows.filter(created_at__lt=f.until)
    if f.id:
        rows = rows.filter(pk=f.id) if len(f.id) == 32 else rows.filter(pk__startswith=f.id)
    return rows


def page(f: Filters) -> tuple[list[Execution], str | None]:
    """One keyset page of the matching executions and the next page's cursor."""
    rows = matching(f)
    descending = f.sort.startswith("-")
    if f.sort.endswith("started"):
        key = "created_at"
    else:
        key = "duration"
        rows = rows.filter(duration__isnull=False)
    if f.cursor is not None:
        value, pk = f.cursor
        op = "lt" if descending else "gt"
        rows = rows.filter(Q(**{f"{key}__{op}": value}) | Q(**{key: value, f"pk__{op}": pk}))
    order = [f"-{key}", "-id"] if descending else [key, "id"]
    found = list(rows.order_by(*order).defer("input", "output", "meta")[:f.limit + 1])
    more = len(found) > f.limit
    found = found[:f.limit]
    cursor = None
    if more and found:
        last = found[-1]
        cursor = encode_cursor(getattr(last, key), last.pk)
    return found, cursor
