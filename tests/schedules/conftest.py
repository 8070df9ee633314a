"""Schedule tests: the test workflows, a frozen clock, a trusted actor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import tests.schedules.workflows  # noqa: F401 - registers the test workflows
from executions.core.conf import clock

#: A Friday, 08:00 UTC (09:00 in Paris).
T0 = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with clock.frozen(T0) as now:
        yield now
