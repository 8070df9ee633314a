"""``flux runs <verb>``: list, inspect and act on executions.

- ``list [--status S] [--workflow W] [--since 1h] [--tag K=V] [--limit N] [--json]``
- ``status ID [--json]`` (with "Recovery: 2/3 attempts" and the last event)
- ``logs ID [--json] [--follow]`` (the event log in seq order)
- ``resume ID [--input JSON] [--pause NAME] [--wait] [--json]`` (a paused one)
- ``cancel ID [--json]`` (anything not finished)
- ``retry ID [--wait] [--json]`` (a failed one, from its failed task)
- ``rerun ID [--input JSON] [--wait] [--json]`` (a new execution, ``parent_id`` = ID)
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.utils import timezone

from executions.cli import actions
from executions.cli.common import (
    EXIT_OK,
    CliError,
    add_json_option,
    add_wait_options,
    at_least,
    duration,
    json_option,
    parse_span,
    print_json,
    print_list,
    verb,
    verb_group,
    when,
)
from executions.cli.run import finish
from executions.cli.show import event_line, get_execution, print_execution
from executions.core import dates, queries, starting
from flux import Status

AS_JSON = "the execution as JSON"


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "runs", "list, inspect and act on executions")

    lst = verb(sub, "list", "recent executions, newest first", handle_list,
               json="a JSON array")
    lst.add_argument("--status", choices=Status.ALL, help="only this status")
    lst.add_argument("--workflow", metavar="W", help="only this workflow")
    lst.add_argument("--since", metavar="SPAN", help="created in the last 30m, 1h, 2d, 1w...")
    lst.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                     help="only runs with this tag (repeat: all of them)")
    lst.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")

    verb(sub, "status", "one execution's state", handle_status, target="ID", json=AS_JSON)
    logs = verb(sub, "logs", "an execution's event log", handle_logs, target="ID",
                json="a JSON array of events (with --follow: one per line)")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing new events until the execution stops")

    res = verb(sub, "resume", "answer a paused execution and continue it", handle_resume,
               target="ID")
    add_json_option(res, "--input", "what the pause returns, as JSON")
    res.add_argument("--pause", metavar="NAME", help="which pause (when several wait)")
    add_wait_options(res)

    verb(sub, "cancel", "cancel an execution that has not finished", handle_cancel,
         target="ID", json=AS_JSON)
    add_wait_options(verb(sub, "retry", "resume a failed execution from its failed task",
                          handle_retry, target="ID"))
    rer = verb(sub, "rerun", "start a new execution with the same (or new) input",
               handle_rerun, target="ID")
    add_json_option(rer, "--input", "a different input, as JSON")
    add_wait_options(rer)


def handle_list(command: Any, options: dict[str, Any]) -> int:
    at_least(options["limit"], "--limit")
    start = None
    if options["since"]:
        try:
            start = dates.ago(timezone.now(), parse_span(options["since"]))
        except dates.BadMoment as exc:
            raise CliError(f"--since {options['since']}: {exc}") from None
    runs = queries.matching(
        statuses=[options["status"]] if options["status"] else [],
        workflow=options["workflow"], since=start,
        tags=starting.parse_tag_filters(options["tag"] or [], "="),
    ).order_by("-created_at", "-id")
    return print_list(
        command, options, runs[: options["limit"]],
        headers=["ID", "WORKFLOW", "STATUS", "CREATED", "TOOK", "RECOVERY"],
        row=lambda r: [r.id, r.workflow, r.status, when(r.created_at),
                       duration(r.started_at, r.finished_at),
                       f"{r.recovery_attempts}/{r.max_recovery_attempts}"],
        empty="No executions.", as_json=lambda r: r.to_dict())


def handle_status(command: Any, options: dict[str, Any]) -> int:
    print_execution(command, get_execution(options["id"]), options["json"])
    return EXIT_OK


def handle_logs(command: Any, options: dict[str, Any]) -> int:
    execution = get_execution(options["id"])
    events = list(execution.events.order_by("seq"))
    if options["json"] and not options["follow"]:
        return print_json(command, [e.to_dict() for e in events])
    show = _printer(command, options["json"])
    for e in events:
        show(e)
    if not options["follow"]:
        if not events:
            command.stdout.write("No events yet.")
        return EXIT_OK
    last = events[-1].seq if events else 0
    delay = 0.05
    while True:
        new = list(execution.events.filter(seq__gt=last).order_by("seq"))
        for e in new:
            show(e)
            last = e.seq
        execution.refresh_from_db(fields=["status"])
        if not new and execution.status not in (Status.CREATED, Status.QUEUED,
                                                 Status.RUNNING, Status.INTERRUPTED,
                                                 Status.CANCELLING, Status.SLEEPING):
            return EXIT_OK
        delay = 0.05 if new else min(delay * 1.5, 0.5)
        time.sleep(delay)


def _printer(command: Any, as_json: bool) -> Any:
    if as_json:
        return lambda e: command.stdout.write(json.dumps(e.to_dict(), ensure_ascii=False,
                                                         default=str))
    return lambda e: command.stdout.write(event_line(e))


def handle_resume(command: Any, options: dict[str, Any]) -> int:
    value = json_option(options)
    execution = actions.resume(get_execution(options["id"]), value, options["pause"])
    return finish(command, execution, options)


def handle_cancel(command: Any, options: dict[str, Any]) -> int:
    execution = actions.cancel(get_execution(options["id"]))
    execution.refresh_from_db()
    if options["json"]:
        print_execution(command, execution, True)
    elif execution.status == Status.CANCELLED:
        command.stdout.write(f"Cancelled {execution.workflow} {execution.id}")
    else:
        command.stdout.write(f"Cancelling {execution.workflow} {execution.id} "
                             f"({execution.status}): its worker stops it within seconds")
    return EXIT_OK


def handle_retry(command: Any, options: dict[str, Any]) -> int:
    execution = actions.retry(get_execution(options["id"]))
    return finish(command, execution, options)


def handle_rerun(command: Any, options: dict[str, Any]) -> int:
    original = get_execution(options["id"])
    given = options["input"] is not None
    value = json_option(options)
    execution = actions.rerun(original, value, use_input=given)
    return finish(command, execution, options, started=True)
