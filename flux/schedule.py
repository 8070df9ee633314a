"""When a workflow starts by itself: ``cron(...)`` and ``interval(...)`` (flux-core's names).

    from flux import cron, interval, workflow

    @workflow.with_options(schedule=cron("0 9 * * MON-FRI", timezone="Europe/Paris"))
    async def report(ctx): ...

    @workflow.with_options(schedule=interval(hours=6))
    async def sync(ctx): ...

A :class:`Schedule` is a value: the spec (a cron expression, or an interval in
seconds), its timezone, what each run gets (``input``, ``priority``), what to do when
the previous run is still going (``overlap``) and how late a missed fire may still
start (``catchup_seconds``). It computes fire times; it does not run anything. The
Django runtime records a workflow's schedule as ``<workflow>_auto`` when workflows
are synced, and its scheduler starts one run per fire time (``executions/core/schedules.py``).

Fire times. A cron expression is read by cronsim in the schedule's timezone, the way
Debian's cron reads it across daylight-saving changes: a fire time the clock skips
(02:30 on the night it jumps from 02:00 to 03:00) fires once, at the next valid
instant (03:00); one the clock passes twice (02:30 on the night it falls back) fires
once. An expression of six fields has seconds first. An interval fires at whole
multiples of itself from ``start_time`` (default the Unix epoch, so every process
computes the same instants): ``interval(hours=6)`` fires at 00:00, 06:00, 12:00 and
18:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: What a fire does while an earlier run of the same schedule has not finished:
#: ``skip`` it (recorded as skipped), ``buffer_one`` (start one run once the running one
#: ends; further fires meanwhile are skipped), ``allow`` (start it anyway) or
#: ``cancel_other`` (cancel the running one, start this one).
OVERLAP_POLICIES = ("skip", "buffer_one", "allow", "cancel_other")

#: How late a missed fire may still start, by default.
DEFAULT_CATCHUP_SECONDS = 300

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The longest interval and catch-up window, in seconds (about 68 years): what every
#: database stores in the runtime's columns, and far inside the calendar's end.
MAX_SECONDS = 2**31 - 1


class ScheduleError(ValueError):
    """A schedule that cannot be: a bad expression, an unknown timezone, a bad policy."""


@dataclass(frozen=True)
class Schedule:
    """A cron expression or an interval, in a timezone, with what each fire starts."""

    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str = "UTC"
    overlap: str = "skip"
    catchup_seconds: int = DEFAULT_CATCHUP_SECONDS
    input: Any = None
    priority: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    note: str = ""
    _zone: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ScheduleError("A schedule has either a cron expression or an interval, "
                                "and not both.")
        object.__setattr__(self, "_zone", zone(self.timezone))
        if self.overlap not in OVERLAP_POLICIES:
            raise ScheduleError(f"Unknown overlap policy '{self.overlap}': use one of "
                                f"{', '.join(OVERLAP_POLICIES)}.")
        if (not isinstance(self.catchup_seconds, int) or isinstance(self.catchup_seconds, bool)
                or not 0 <= self.catchup_seconds <= MAX_SECONDS):
            raise ScheduleError(f"The catch-up window must be a whole number of seconds from "
                                f"0 to {MAX_SECONDS} (about 68 years), not "
                                f"{self.catchup_seconds!r}.")
        if not isinstance(self.priority, int) or isinstance(self.priority, bool):
            raise ScheduleError(f"The priority must be an integer, not {self.priority!r}.")
        if self.cron is not None:
            object.__setattr__(self, "cron", " ".join(str(self.cron).split()))
            _cronsim(self.cron, datetime.now(self._zone))  # raises ScheduleError
        else:
            seconds = self.interval_seconds
            if (not isinstance(seconds, int) or isinstance(seconds, bool)
                    or not 1 <= seconds <= MAX_SECONDS):
                raise ScheduleError(f"An interval must be a whole number of seconds from 1 "
                                    f"to {MAX_SECONDS} (about 68 years), not {seconds!r}.")
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=self._zone))

    # fire times --------------------------------------------------------------------
    def fires_after(self, moment: datetime) -> Iterator[datetime]:
        """The fire times strictly after ``moment``, in order, as UTC datetimes; they end
        with the calendar (year 9999)."""
        moment = _aware(moment)
        if self.start_time is not None and moment < self.start_time:
            moment = _just_before(self.start_time)
        try:
            if self.cron is not None:
                times: Iterator[datetime] = (
                    t.astimezone(UTC) for t in _cronsim(self.cron, moment.astimezone(self._zone)))
            else:
                times = self._intervals_after(moment)
            for t in times:
                if self.end_time is not None and t > self.end_time:
                    return
                yield t
        except OverflowError:  # past the last representable moment: no more fires
            return

    def _intervals_after(self, moment: datetime) -> Iterator[datetime]:
        anchor = self.start_time or EPOCH
        step = self.interval_seconds or 1
        elapsed = (moment - anchor).total_seconds()
        k = int(elapsed // step) + 1 if elapsed >= 0 else 0
        while True:
            yield (anchor + timedelta(seconds=k * step)).astimezone(UTC)
            k += 1

    def next_fires(self, moment: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` fire times after ``moment``."""
        out = []
        for t in self.fires_after(moment):
            out.append(t)
            if len(out) >= count:
                break
        return out

    def next_fire(self, moment: datetime) -> datetime | None:
        return next(iter(self.fires_after(moment)), None)

    def fires_between(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """The fire times in ``[start, end]``; ScheduleError when there are more than
        ``limit`` of them."""
        out = []
        for t in self.fires_after(_just_before(_aware(start))):
            if t > _aware(end):
                break
            out.append(t)
            if len(out) > limit:
                raise ScheduleError(f"That range has more than {limit} fire times; "
                                    "ask for a shorter one.")
        return out

    # for people --------------------------------------------------------------------
    def describe(self) -> str:
        """The spec as a sentence: "At 09:00, Monday through Friday (Europe/Paris)"."""
        if self.cron is not None:
            return f"{cron_sentence(self.cron)} ({self.timezone})"
        return f"Every {span_words(self.interval_seconds or 0)}"

    def to_dict(self) -> dict[str, Any]:
        return {"cron": self.cron, "interval_seconds": self.interval_seconds,
                "timezone": self.timezone, "overlap": self.overlap,
                "catchup_seconds": self.catchup_seconds, "input": self.input,
                "priority": self.priority}

    def with_input(self, input: Any) -> Schedule:
        return replace(self, input=input)


def cron(expression: str, timezone: str = "UTC", overlap: str = "skip", *,
         input: Any = None, catchup_seconds: int = DEFAULT_CATCHUP_SECONDS,
         priority: int = 0) -> Schedule:
    """A schedule firing at the times of a cron expression, read in ``timezone``."""
    return Schedule(cron=expression, timezone=timezone, overlap=overlap, input=input,
                    catchup_seconds=catchup_seconds, priority=priority)


def interval(seconds: int = 0, minutes: int = 0, hours: int = 0, days: int = 0,
             weeks: int = 0, timezone: str = "UTC", start_time: datetime | None = None,
             end_time: datetime | None = None, overlap: str = "skip", *, input: Any = None,
             catchup_seconds: int = DEFAULT_CATCHUP_SECONDS, priority: int = 0) -> Schedule:
    """A schedule firing every so long (from ``start_time``, default the Unix epoch)."""
    total = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days,
                      weeks=weeks).total_seconds()
    if total != int(total):
        raise ScheduleError(f"An interval must be a whole number of seconds, not {total}.")
    return Schedule(interval_seconds=int(total), timezone=timezone, overlap=overlap,
                    input=input, catchup_seconds=catchup_seconds, priority=priority,
                    start_time=start_time, end_time=end_time)


# helpers ----------------------------------------------------------------------------

def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name``, or ScheduleError."""
    if not isinstance(name, str) or not name or name == "local":
        raise ScheduleError(f"Unknown timezone {name!r}: use an IANA name such as "
                            "'Europe/Paris' or 'UTC'.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"Unknown timezone '{name}': use an IANA name such as "
                            "'Europe/Paris' or 'UTC'.") from None


def _cronsim(expression: str, start: datetime) -> Iterator[datetime]:
    from cronsim import CronSim, CronSimError

    try:
        return CronSim(expression, start)
    except CronSimError as exc:
        raise ScheduleError(f"Invalid cron expression '{expression}': {exc}.") from None


def cron_sentence(expression: str) -> str:
    """A cron expression in words (cron-descriptor), e.g. "At 09:00, Monday through Friday"."""
    from cron_descriptor import Options, get_description

    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(get_description(expression, options))
    except Exception:
        return expression


def span_words(seconds: int) -> str:
    """``3600`` -> "1 hour"; ``90`` -> "90 seconds"."""
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _just_before(value: datetime) -> datetime:
    """A microsecond before ``value`` (``value`` itself at the calendar's first instant)."""
    try:
        return value - timedelta(microseconds=1)
    except OverflowError:
        return value


# how many may run at once ------------------------------------------------------------

@dataclass(frozen=True)
class Concurrency:
    """At most ``limit`` runs of the workflow at once; with ``key`` (a CEL expression
    over the run's ``input``, e.g. ``input.customer``), at most ``limit`` per value of
    the key, each value with its own slots. Runs over the limit wait, queued."""

    limit: int
    key: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1:
            raise ScheduleError(f"A concurrency limit must be a whole number, 1 or more, "
                                f"not {self.limit!r}.")
        if self.key is not None and (not isinstance(self.key, str) or not self.key.strip()):
            raise ScheduleError(f"A concurrency key must be a CEL expression over 'input' "
                                f"(e.g. 'input.customer'), not {self.key!r}.")

    @classmethod
    def of(cls, value: Any) -> Concurrency | None:
        """``N``, ``{"limit": N, "key": "input.customer"}`` or a Concurrency (None: none)."""
        if value is None or isinstance(value, Concurrency):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"limit", "key"}
            if unknown or "limit" not in value:
                raise ScheduleError("A concurrency setting is a number or {'limit': N, "
                                    f"'key': 'input.field'}}, not {value!r}.")
            return cls(value["limit"], value.get("key"))
        return cls(value)

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "key": self.key}


def check_start_options(schedule: Any, concurrency: Any
                        ) -> tuple[Schedule | None, Concurrency | None]:
    """``@workflow.with_options(schedule=..., concurrency=...)``, checked."""
    if schedule is not None and not isinstance(schedule, Schedule):
        raise ScheduleError(f"schedule= takes cron(...) or interval(...), not {schedule!r}.")
    return schedule, Concurrency.of(concurrency)
