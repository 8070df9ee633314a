"""Looking executions up, printing them for people, and waiting on them."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from executions.cli.common import CliError, dumps, duration, summary, when
from executions.models import Event, Execution
from executions.views import composition
from flux import Status

#: Statuses in which a worker has work to do (or is doing it) right now.
ACTIVE = frozenset({Status.CREATED, Status.QUEUED, Status.RUNNING, Status.INTERRUPTED,
                    Status.CANCELLING})


def get_execution(execution_id: str) -> Execution:
    try:
        return Execution.objects.get(pk=execution_id)
    except Execution.DoesNotExist:
        raise CliError(f"No execution with id '{execution_id}'.") from None


def wait_for(execution_id: str, timeout: float) -> Execution:
    """Poll until the execution stops needing a worker soon, or ``timeout`` passes.

    Returns when it is completed, failed, cancelled or paused, or sleeping
    until after the deadline; otherwise it keeps waiting (a sleep that ends
    before the deadline is waited out).
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        execution = get_execution(execution_id)
        left = deadline - time.monotonic()
        if execution.status not in ACTIVE:
            if execution.status != Status.SLEEPING:
                return execution
            wake = execution.wake_at
            if wake is None or wake > timezone.now() + timedelta(seconds=max(left, 0)):
                return execution
        if left <= 0:
            return execution
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, 0.25)


def print_execution(command: Any, execution: Execution, as_json: bool) -> None:
    if as_json:
        command.stdout.write(dumps(execution.to_dict()))
    else:
        command.stdout.write(describe(execution))


def describe(execution: Execution) -> str:
    """The ``runs status`` block."""
    version = f" (version {execution.workflow_version})" if execution.workflow_version else ""
    lines = [
        f"Run ID: {execution.id}",
        f"Workflow: {execution.workflow}{version}",
        f"Status: {execution.status}",
        f"Input: {as_json(execution.input)}",
        f"Created: {when(execution.created_at)}",
        f"Started: {when(execution.started_at)}",
    ]
    if execution.finished_at:
        lines.append(f"Finished: {when(execution.finished_at)} "
                     f"(took {duration(execution.started_at, execution.finished_at)})")
    lines.append(
        f"Recovery: {execution.recovery_attempts}/{execution.max_recovery_attempts} attempts "
        f"(recover_on_worker_loss: {str(execution.recover_on_worker_loss).lower()})")
    if execution.parent_id:
        lines.append(f"Rerun of: {execution.parent_id}")
    if execution.worker:
        lines.append(f"Worker: {execution.worker}")
    if execution.status == Status.PAUSED:
        pauses = pending_pauses(execution)
        lines.append(f"Waiting at: {', '.join(pauses) or '?'} "
                     f"(resume: manage.py flux runs resume {execution.id} --input JSON)")
    if execution.status != Status.PAUSED:
        waits = composition.waiting(execution)
        if waits:
            lines.append(f"Waiting for: {composition.summary(waits)}")
    if execution.status == Status.SLEEPING and execution.wake_at:
        lines.append(f"Wakes at: {when(execution.wake_at)}")
    if execution.status == Status.COMPLETED:
        lines.append(f"Output: {as_json(execution.output)}")
    if execution.error:
        lines.append(f"Error: {error_text(execution.error)}")
    last = execution.events.order_by("-seq").first()
    if last is not None:
        lines.append(f"Last Event: {last.type} {last.name} (#{last.seq}, {when(last.time)})")
    return "\n".join(lines)


def as_json(value: Any) -> str:
    return summary(json.dumps(value, ensure_ascii=False, default=str), 200)


def error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return summary(error, 200)
    return summary(f"{error.get('type', 'Error')}: {error.get('message', '')}", 200)


def pending_pauses(execution: Execution) -> list[str]:
    """Names of pauses that were reached and not yet answered."""
    open_: dict[str, str] = {}
    for source_id, kind, name in execution.events.filter(
            type__in=("TASK_PAUSED", "TASK_RESUMED", "TASK_COMPLETED", "TASK_FAILED"),
            source_id__startswith="pause_").values_list("source_id", "type", "name"):
        if kind == "TASK_PAUSED":
            open_[source_id] = name
        else:
            open_.pop(source_id, None)
    return list(open_.values())


def event_line(event: Event) -> str:
    attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
    value = summary(event.value, 80)
    return (f"{event.seq:>4}  {when(event.time)}  {event.type:<24} {event.name}{attempt}"
            + (f"  {value}" if value else "")).rstrip()
