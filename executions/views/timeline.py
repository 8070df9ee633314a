"""The execution page's timeline (Gantt) and progress, derived from its events.

A task is one ``source_id`` that has a ``TASK_STARTED`` event. Its end is its
``TASK_COMPLETED``/``TASK_FAILED``/``TASK_FALLBACK_COMPLETED``/``TASK_FALLBACK_FAILED``;
retries count its ``TASK_RETRY_STARTED`` events; nesting follows ``parent_id``.
``frontend/lib/tasks.ts`` applies live events with the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from executions.views.common import human_duration

ENDS = {"TASK_COMPLETED": "completed", "TASK_FALLBACK_COMPLETED": "completed",
        "TASK_FAILED": "failed", "TASK_FALLBACK_FAILED": "failed"}
STATES = {"TASK_STARTED": "running", "TASK_RETRY_STARTED": "retrying",
          "TASK_RETRY_FAILED": "retrying", "TASK_PAUSED": "paused", "TASK_RESUMED": "running",
          "TASK_FALLBACK_STARTED": "running", "TASK_ROLLBACK_STARTED": "running"}
#: Tasks drawn at most (the rest are counted in the progress bar).
MAX_BARS = 400


@dataclass
class Bar:
    id: str
    name: str
    parent: str | None
    start: float  # epoch ms
    end: float | None
    state: str
    retries: int = 0
    depth: int = 0
    left: float = 0.0  # % of the timeline
    width: float = 0.0
    took: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Timeline:
    bars: list[Bar]
    start: float | None
    end: float | None
    done: int
    total: int
    hidden: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def span_ms(self) -> float:
        return (self.end - self.start) if self.start is not None and self.end else 0.0


def _ms(moment: datetime) -> float:
    return moment.timestamp() * 1000


def build(events: Iterable[tuple[str, str, str, str | None, datetime]],
          finished_at: datetime | None = None, now: datetime | None = None) -> Timeline:
    """``events``: (type, name, source_id, parent_id, time) in seq order."""
    tasks: dict[str, Bar] = {}
    first = last = None
    for etype, name, source, parent, moment in events:
        t = _ms(moment)
        first = t if first is None else first
        last = t
        bar = tasks.get(source)
        if etype == "TASK_STARTED":
            if bar is None:
                tasks[source] = Bar(source, name, parent, t, None, "running")
            continue
        if bar is None:
            continue
        if etype in ENDS:
            bar.end, bar.state = t, ENDS[etype]
        elif etype in STATES and bar.end is None:
            bar.state = STATES[etype]
            if etype == "TASK_RETRY_STARTED":
                bar.retries += 1
    total = len(tasks)
    done = sum(1 for b in tasks.values() if b.end is not None)
    end = _ms(finished_at) if finished_at else (_ms(now) if now else last)
    if end is not None and last is not None:
        end = max(end, last)
    ordered = _nested_order(tasks)[:MAX_BARS]
    span = (end - first) if first is not None and end is not None else 0
    for bar in ordered:
        if span > 0:
            bar.left = round(100 * (bar.start - first) / span, 3)
            stop = bar.end if bar.end is not None else end
            bar.width = round(max(100 * (stop - bar.start) / span, 0.4), 3)
        else:
            bar.left, bar.width = 0.0, 100.0
        if bar.end is not None:
            bar.took = took(bar.end - bar.start)
    return Timeline(ordered, first, end, done, total, max(0, total - len(ordered)))


def took(ms: float) -> str:
    """A task's duration for its bar (``human_duration``, as frontend/lib/format.ts)."""
    return human_duration(ms / 1000)


def _nested_order(tasks: dict[str, Bar]) -> list[Bar]:
    """Depth-first: each task followed by the tasks it started, by start time."""
    children: dict[str | None, list[Bar]] = {}
    for bar in tasks.values():
        parent = bar.parent if bar.parent in tasks else None
        children.setdefault(parent, []).append(bar)
    out: list[Bar] = []
    stack = [(b, 0) for b in reversed(children.get(None, []))]
    while stack:
        bar, depth = stack.pop()
        bar.depth = min(depth, 8)
        out.append(bar)
        stack.extend((c, depth + 1) for c in reversed(children.get(bar.id, [])))
    return out
