"""The CLI's calls into the runtime (``executions.runner``), in one place.

Each checks what the CLI can check without writing (the workflow exists, the
input matches its schema, the execution is in a state where the request makes
sense) and raises :class:`CliError` before anything is written.
"""

from __future__ import annotations

import getpass
from typing import Any

from executions import registry
from executions.cli.common import CliError
from executions.models import Execution
from flux import Status, Workflow
from flux.serialization import decode


def actor() -> str | None:
    """Who acts from the command line: the operating-system user."""
    try:
        return getpass.getuser()
    except Exception:
        return None


def _runner() -> Any:
    try:
        from executions import runner
    except ImportError as exc:
        raise CliError(f"The runtime (executions.runner) cannot be imported: {exc}") from None
    return runner


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


def start(name: str, input: Any, *, parent_id: str | None = None) -> Execution:
    workflow_named(name).validate_input(input)
    return _runner().start_execution(name, input, actor=actor(), parent_id=parent_id)


def resume(execution: Execution, input: Any, pause: str | None) -> Execution:
    if execution.status != Status.PAUSED:
        raise CliError(f"Execution {execution.id} is {execution.status}, not paused: only a "
                       "paused execution can be resumed.")
    check_pause_input(execution, input, pause)
    return _runner().resume_execution(execution.id, input, pause=pause, actor=actor())


def retry(execution: Execution) -> Execution:
    if execution.status != Status.FAILED:
        raise CliError(f"Execution {execution.id} is {execution.status}: only a failed "
                       "execution can be retried (use `runs rerun` for a new execution).")
    workflow_named(execution.workflow)
    return _runner().retry_execution(execution.id, actor=actor())


def cancel(execution: Execution) -> Execution:
    if execution.status in Status.FINISHED:
        raise CliError(f"Execution {execution.id} already {execution.status}: there is "
                       "nothing to cancel.")
    return _runner().cancel_execution(execution.id, actor=actor())


def rerun(execution: Execution, input: Any = None, *, use_input: bool = False) -> Execution:
    value = input if use_input else decode(execution.input)
    return start(execution.workflow, value, parent_id=execution.id)


def check_pause_input(execution: Execution, input: Any, pause: str | None) -> None:
    """The pause exists and ``input`` matches its schema (the engine checks again)."""
    pending: dict[str, dict] = {}
    for event in execution.events.filter(type__in=("TASK_PAUSED", "TASK_RESUMED",
                                                   "TASK_COMPLETED", "TASK_FAILED"),
                                         source_id__startswith="pause_").order_by("seq"):
        if event.type == "TASK_PAUSED":
            pending[event.source_id] = {"name": event.name, **(event.value or {})}
        else:
            pending.pop(event.source_id, None)
    if not pending:
        return
    waiting = list(pending.values())
    target = waiting[0]
    if pause is not None:
        matches = [p for k, p in pending.items() if pause in (k, p["name"])]
        if not matches:
            names = ", ".join(p["name"] for p in waiting)
            raise CliError(f"Execution {execution.id} is not paused at '{pause}' "
                           f"(waiting at: {names}).")
        target = matches[0]
    schema = target.get("schema")
    if schema:
        import jsonschema

        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(input))
        if errors:
            problems = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
                                 for e in errors)
            raise CliError(f"Input for pause '{target['name']}' does not match its schema: "
                           f"{problems}")
