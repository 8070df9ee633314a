"""The workers' reaper during an outage: it backs off, logs one line, and carries on."""

from __future__ import annotations

import logging
import threading

from django.db import OperationalError

from executions.core import runner


class RecordedStop(threading.Event):
    """A stop event whose waits are recorded and return at once (no sleeping)."""

    def __init__(self, passes: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.passes = passes

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.passes:
            self.set()
        return self.is_set()


def test_the_backoff_doubles_up_to_its_ceiling():
    assert [runner.backoff(n, 2.0) for n in range(6)] == [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_a_reaper_that_meets_an_outage_backs_off_and_carries_on_when_it_ends(
        monkeypatch, caplog, transactional_db):
    outcomes = iter([None, "down", "down", "down", "down", None, None])
    passes: list[str] = []

    def reap():
        outcome = next(outcomes)
        passes.append(outcome or "ok")
        if outcome == "down":
            raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr(runner, "reap", reap)
    stop = RecordedStop(passes=7)
    with caplog.at_level(logging.WARNING, logger="flux.runner"):
        runner.reaper_loop(stop, interval=2.0)
    assert passes == ["ok", "down", "down", "down", "down", "ok", "ok"]
    assert stop.waits == [2.0, 4.0, 8.0, 10.0, 10.0, 2.0, 2.0]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # the outage's start and end, no traceback per pass
    assert "the database is unavailable" in lines[0] and not caplog.records[0].exc_info
    assert "working again after 4 failed passes" in lines[1]
