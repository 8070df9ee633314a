"""The one clock of the engine and the runtime.

Everything that decides by the time (leases, durable sleeps, retry delays,
deadlines, reapers, short caches) asks :data:`clock`, so a test can stop it and
move it instead of sleeping::

    from flux.clock import clock

    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)) as now:
        ...
        now.advance(seconds=31)

Event times are stamped from it too. Durations measured inside one process
(timeouts of a running task) keep using the event loop's monotonic clock.
"""

from __future__ import annotations

import contextlib
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time for the runtime; :meth:`frozen` lets a test set and move it."""

    def __init__(self) -> None:
        self._shared: list[datetime] | None = None

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        if self._shared is not None:
            return self._shared[0]
        return datetime.now(UTC)

    def time(self) -> float:
        """The current time as a Unix timestamp (leases are stored this way)."""
        if self._shared is not None:
            return self._shared[0].timestamp()
        return _time.time()

    @contextlib.contextmanager
    def frozen(self, at: datetime | None = None) -> Iterator[FrozenTime]:
        """Stop the clock at ``at`` (default: now) for every thread until the block ends."""
        previous = self._shared
        self._shared = [at or datetime.now(UTC)]
        try:
            yield FrozenTime(self._shared)
        finally:
            self._shared = previous


@dataclass
class FrozenTime:
    _cell: list[datetime]

    @property
    def now(self) -> datetime:
        return self._cell[0]

    def advance(self, **delta: float) -> datetime:
        """Move the frozen clock forward (``seconds=``, ``minutes=``, ...)."""
        self._cell[0] = self._cell[0] + timedelta(**delta)
        return self._cell[0]

    def set(self, at: datetime) -> None:
        self._cell[0] = at


#: The runtime's clock.
clock = Clock()
