"""Huey tasks of the executions app (found by Huey's autodiscovery of ``tasks``).

``run_execution(id)`` is the only message workers get: "look at execution
``id`` and run it if it may run". Everything it needs is in the database, so a
duplicated message does nothing and a lost one is re-sent by the reaper
(``executions.runner.reap``).
"""

from __future__ import annotations

from huey.contrib.djhuey import task

from executions import runner


@task()
def run_execution(execution_id: str) -> None:
    """Run the execution until it finishes, pauses or sleeps (no result is stored)."""
    runner.run(execution_id)
