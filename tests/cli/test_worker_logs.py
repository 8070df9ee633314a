"""What a worker logs at its default verbosity: Huey's warnings and the consumer's own
lines, not two INFO lines per task (hundreds a second on a busy worker)."""

from __future__ import annotations

import logging

import pytest

from executions.cli.worker import quiet_per_task_lines


@pytest.fixture
def huey_loggers():
    loggers = [logging.getLogger(name) for name in ("huey", "huey.consumer")]
    levels = [lg.level for lg in loggers]
    loggers[0].setLevel(logging.INFO)  # as Huey's consumer set-up leaves it
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


def test_per_task_lines_are_off_and_the_consumers_lines_and_warnings_stay(huey_loggers,
                                                                         caplog):
    quiet_per_task_lines()
    with caplog.at_level(logging.DEBUG, logger="nothing"):  # capture; levels left as set
        logging.getLogger("huey").info("Executing executions.core.runner.run_execution: x")
        logging.getLogger("huey").warning("Task x was revoked, not executing")
        logging.getLogger("huey.consumer").info("Huey consumer started with 4 threads")
        logging.getLogger("huey.consumer.Worker-1").info("a worker's own line")
    assert [r.getMessage() for r in caplog.records] == [
        "Task x was revoked, not executing", "Huey consumer started with 4 threads",
        "a worker's own line"]
