"""Huey tasks of the executions app (found by Huey's autodiscovery of ``tasks``).

``run_execution(id)`` is defined beside what it runs, in ``executions/core/runner.py``.
"""

from __future__ import annotations

from executions.core.runner import run_execution

__all__ = ["run_execution"]
