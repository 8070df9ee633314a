"""The CLI's calls into the command layer (``executions.core.commands``), in one place.

The command line acts with the machine's authority (it holds the database's
credentials), as the operating-system user: a trusted actor, so the approval rules'
"who may decide" does not apply here, but everything else does (states, schemas,
sizes). Errors are the commands' typed errors: the ``flux`` command prints their
message and exits 2, having written nothing.
"""

from __future__ import annotations

import getpass
from typing import Any

from executions.cli.common import CliError
from executions.core import commands, registry
from executions.core.commands import Actor
from executions.models import Execution
from flux import Workflow


def actor() -> Actor:
    """Who acts from the command line: the operating-system user."""
    try:
        name: str | None = getpass.getuser()
    except Exception:
        name = None
    return Actor.system(name)


def workflow_named(name: str) -> Workflow:
    workflows = registry.registered()
    if name not in workflows:
        from flux.workflowdef import resolvers

        for resolve in resolvers:  # workflows outside the registry: saved graphs
            found = resolve(name, None)
            if found is not None:
                return found
        known = ", ".join(sorted(workflows)) or "none"
        raise CliError(f"Unknown workflow '{name}'. Registered workflows: {known}.")
    return workflows[name]


def start(name: str, input: Any, **options: Any) -> commands.Started:
    """Start a run (``options``: idempotency_key, priority, tags); the key of an earlier
    run gives that run back (``created`` False)."""
    return commands.begin(workflow_named(name), input, actor=actor(), **options)


def resume(execution: Execution, input: Any, pause: str | None) -> Execution:
    return commands.resume(execution.pk, input, pause=pause, actor=actor())


def retry(execution: Execution) -> Execution:
    workflow_named(execution.workflow)
    return commands.retry(execution.pk, actor=actor())


def cancel(execution: Execution) -> Execution:
    return commands.cancel(execution.pk, actor=actor())


def rerun(execution: Execution, input: Any = None, *, use_input: bool = False) -> Execution:
    workflow_named(execution.workflow)
    if use_input:
        return commands.rerun(execution, input=input, actor=actor())
    return commands.rerun(execution, actor=actor())
