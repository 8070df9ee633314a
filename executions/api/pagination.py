"""Keyset pages: one cursor format and one paging rule for every list.

A page is the rows after the last row of the previous page in the list's order
(``WHERE (key, id) < (last key, last id)``), so page 1,000 of a million rows costs
what page 1 costs, and rows added meanwhile neither repeat nor vanish. The order is
the queryset's own ``order_by`` (strings, or ``F(...).asc(nulls_last=True)``), or
``order=`` for a Python list of dicts; its last key must be unique (the id). The
cursor is the last row's keys as base64url JSON: opaque to clients, checked on the
way in (:class:`BadCursor`).

:class:`KeysetPagination` is the REST API's pagination class (ninja's
``PaginationBase``, used as ``@paginate(KeysetPagination, ...)``): it answers
``{"items": [...], "next": cursor | null}``, takes ``?limit=`` (1 to ``maximum``,
else 422 like any bad parameter) and ``?cursor=`` (400 ``bad_cursor`` when it is
not one the API gave out). The executions page (``executions/views/filters.py``)
pages with :func:`page` directly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import HttpRequest
from django.utils.duration import duration_iso_string
from ninja import Field, Query, Schema
from ninja.pagination import PaginationBase
from pydantic import create_model

from executions.api.errors import ApiError
from executions.core import dates

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 1000


class BadCursor(ValueError):
    """A cursor this code did not give out (edited, truncated, from another list)."""


@dataclass(frozen=True)
class Key:
    """One key of a list's order."""

    name: str
    descending: bool = False
    #: Where rows without a value go; None: the key never is null.
    nulls_last: bool | None = None


def keys_of(order: Sequence[str | OrderBy]) -> list[Key]:
    """``("-created_at", "-id")`` or ``F("deadline").asc(nulls_last=True)``, as keys."""
    keys = []
    for item in order:
        if isinstance(item, str):
            keys.append(Key(item.lstrip("-"), item.startswith("-")))
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            nulls = True if item.nulls_last else False if item.nulls_first else None
            keys.append(Key(item.expression.name, item.descending, nulls))
        else:
            raise TypeError(f"Keyset pages order by fields, not {item!r}.")
    if not keys:
        raise TypeError("Keyset pages need an ordered list (the last key unique).")
    return keys


# cursors -----------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_iso_string(value)
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def encode(values: Sequence[Any]) -> str:
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    """The ``size`` JSON values in ``cursor`` (not yet converted to the keys' types)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(values, list) or len(values) != size or not all(
            v is None or isinstance(v, str | int | float) for v in values):
        raise BadCursor(cursor)
    return values


# pages of a queryset -----------------------------------------------------------------

def _field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return getattr(field, "output_field", None) or field  # GeneratedField: its type


def _typed(model: type[models.Model], name: str, value: Any) -> Any:
    """A cursor's value as the key's type; a moment in UTC (executions.core.dates: one that
    cannot be, like year 1 at +14:00, raises instead of overflowing in the query)."""
    typed = _field(model, name).to_python(value)
    return dates.utc(typed) if isinstance(typed, datetime) else typed


def _after(keys: list[Key], values: list[Any]) -> Q:
    """Rows after ``values`` in the order of ``keys``: for each key, the rows equal on
    the keys before it and beyond it on this one."""
    nothing = Q(pk__in=[])
    found = nothing
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        if value is None:
            beyond = nothing if key.nulls_last else Q(**{f"{key.name}__isnull": False})
            same = Q(**{f"{key.name}__isnull": True})
        else:
            beyond = Q(**{f"{key.name}__{'lt' if key.descending else 'gt'}": value})
            if key.nulls_last:
                beyond |= Q(**{f"{key.name}__isnull": True})
            same = Q(**{key.name: value})
        found |= equal & beyond
        equal &= same
    return found


def _value(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def page(rows: QuerySet | list[dict[str, Any]], limit: int, cursor: str | None,
         order: Sequence[str | OrderBy] | None = None) -> tuple[list[Any], str | None]:
    """Up to ``limit`` rows after ``cursor`` and the next page's cursor (None at the end).

    ``rows`` is a queryset (ordered by ``order``, else by its own ``order_by``) or a
    list of dicts already sorted by ``order``. Raises :class:`BadCursor`."""
    if isinstance(rows, QuerySet):
        if order is not None:
            rows = rows.order_by(*order)
        keys = keys_of(rows.query.order_by)
        if cursor:
            values = decode(cursor, len(keys))
            try:
                values = [None if v is None else _typed(rows.model, k.name, v)
                          for k, v in zip(keys, values, strict=True)]
            except (ValidationError, TypeError, ValueError, FieldDoesNotExist):
                raise BadCursor(cursor) from None
            rows = rows.filter(_after(keys, values))
        found = list(rows[:limit + 1])
    else:
        keys = keys_of(order or ())
        if cursor:
            values = decode(cursor, len(keys))
            try:
                rows = [r for r in rows if _beyond(keys, [_value(r, k.name) for k in keys],
                                                   values)]
            except TypeError:
                raise BadCursor(cursor) from None
        found = rows[:limit + 1]
    more = len(found) > limit
    found = found[:limit]
    nxt = encode([_value(found[-1], k.name) for k in keys]) if more else None
    return found, nxt


def _beyond(keys: list[Key], row: list[Any], last: list[Any]) -> bool:
    """Whether ``row`` comes after ``last`` (a list's keys are never null)."""
    for key, mine, theirs in zip(keys, row, last, strict=True):
        if mine != theirs:
            return (mine < theirs) if key.descending else (mine > theirs)
    return False


# the REST API's pagination class -----------------------------------------------------

class KeysetPagination(PaginationBase):
    """``@paginate(KeysetPagination, order=..., item=..., default=..., maximum=...)``.

    The view returns an ordered queryset (or a list of dicts sorted by ``order``);
    ``item`` turns each row into its JSON (e.g. ``Execution.to_dict``). The route
    declares ``response={200: list[ItemSchema], ...}``; the answer's schema becomes
    ``Paged<ItemSchema>``: ``{"items": [...], "next": cursor | null}``."""

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
        cursor: str | None = Field(None, max_length=MAX_CURSOR)

    InputSource = Query(...)

    class Output(Schema):
        items: list[Any]
        next: str | None = Field(
            description="Pass as ?cursor= for the next page; null on the last page.")

    def __init__(self, *, order: Sequence[str | OrderBy] | None = None,
                 item: Callable[[Any], Any] | None = None, default: int = DEFAULT_LIMIT,
                 maximum: int = MAX_LIMIT, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.order = order
        self.item = item
        if (default, maximum) != (DEFAULT_LIMIT, MAX_LIMIT):
            self.Input = create_model(  # type: ignore[misc]
                f"KeysetInput{default}_{maximum}", __base__=Schema,
                limit=(int, Field(default, ge=1, le=maximum,
                                  description=f"Rows per page, 1 to {maximum}.")),
                cursor=(str | None, Field(None, max_length=MAX_CURSOR,
                                          description="The previous page's `next`.")))

    def paginate_queryset(self, queryset: QuerySet | list[Any], pagination: Any,
                          request: HttpRequest, **params: Any) -> dict[str, Any]:
        try:
            rows, nxt = page(queryset, pagination.limit, pagination.cursor, self.order)
        except BadCursor:
            raise ApiError(400, "The cursor is not one this API gave out: pass the 'next' "
                                "value of the previous page unchanged.",
                           code="bad_cursor") from None
        items = [self.item(r) for r in rows] if self.item else rows
        return {"items": items, "next": nxt}
