"""Helpers for the CLI tests: run ``manage.py flux`` in-process and read its result."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from executions.core import registry
from executions.core.store import DjangoStore
from executions.models import Execution
from flux import Engine


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def flux(*args: str) -> Result:
    """``manage.py flux ARGS`` in this process: exit code, stdout, stderr."""
    out, err = StringIO(), StringIO()
    try:
        call_command("flux", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def engine(transactional_db):
    """An engine on the test database that runs executions in this process."""
    store = DjangoStore()
    yield Engine(store, flush_delay=0)
    store.close()


@pytest.fixture
def run_inline(engine):
    """Run a registered workflow to its end (or pause) here; returns the Execution row."""

    def run(name: str, value: Any = None) -> Execution:
        workflow = registry.registered()[name]
        ctx = asyncio.run(engine.start(workflow, value))
        return Execution.objects.get(pk=ctx.execution_id)

    return run
