"""Dates and times that people and clients send: parsed and normalised in one place.

Every user-supplied moment (API filters and cursors, the executions page's
filters and cursors, bulk actions by filter, the inbox's cursors, the CLI's
``--since``) goes through here, so each is read the same way:

* a date-time without an offset is UTC;
* a moment that cannot be expressed in UTC between years 1 and 9999 (``0001-01-01
  T00:00+14:00``, ``9999-12-31T23:59-14:00``) or a span that reaches outside them
  raises :class:`BadMoment` (a ``ValueError`` whose message says what is wrong),
  never ``OverflowError`` where the database would meet it.

:data:`UtcDatetime` is the same rule as a pydantic type for the API's schemas
(a bad value is a 422 naming the field).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

RANGE = "between years 1 and 9999 in UTC"


class BadMoment(ValueError):
    """A date or time that cannot be used; the message says why."""


class OutOfRange(BadMoment):
    """A well-formed moment (or span) that falls outside the calendar once in UTC."""


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC (naive ones are taken as UTC); BadMoment when out of range."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise OutOfRange(f"{moment.isoformat()} is out of range: use a time {RANGE}.") from None


def parse(text: object, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date-time (or a date: its start, or with ``end_of_day`` the next
    day's start) in UTC; BadMoment for anything else."""
    if not isinstance(text, str):
        raise BadMoment(f"{text!r} is not a date or time: use ISO 8601 (2026-01-31T09:30Z).")
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return ago(start, -timedelta(days=1)) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadMoment(f"'{value[:100]}' is not a date or time: use ISO 8601 "
                        "(2026-01-31 or 2026-01-31T09:30Z).") from None
    return utc(moment)


def readable(value: datetime | str) -> datetime | None:
    """A moment to show (a datetime, or ISO 8601 text such as a record's JSON) in UTC;
    None when it is not one (the caller shows the text as it is)."""
    try:
        return parse(value) if isinstance(value, str) else utc(value)
    except BadMoment:
        return None


def ago(now: datetime, length: timedelta) -> datetime:
    """``now - length``; OutOfRange when that is outside the calendar."""
    try:
        return now - length
    except OverflowError:
        raise OutOfRange(f"{length} before {now.isoformat()} is out of range: use a time "
                         f"{RANGE}.") from None


def span(**units: float) -> timedelta:
    """``timedelta(**units)``; OutOfRange when it is too long to be one."""
    try:
        return timedelta(**units)
    except OverflowError:
        raise OutOfRange(f"That span is out of range (too long): use a time "
                         f"{RANGE}.") from None


#: A date-time field of an API schema: parsed by pydantic, then normalised by :func:`utc`.
UtcDatetime = Annotated[datetime, AfterValidator(utc)]
