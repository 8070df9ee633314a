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
    dumps,
    duration,
    parse_json,
    parse_span,
    table,
    when,
)
from executions.cli.run import add_wait_options, finish
from executions.cli.show import event_line, get_execution, print_execution
from executions.core import dates, queries, starting
from flux import Status


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("runs", help="list, inspect and act on executions")
    sub = p.add_subparsers(dest="runs_verb", metavar="VERB", required=True)

    lst = sub.add_parser("list", help="recent executions, newest first")
    lst.add_argument("--status", choices=Status.ALL, help="only this status")
    lst.add_argument("--workflow", metavar="W", help="only this workflow")
    lst.add_argument("--since", metavar="SPAN", help="created in the last 30m, 1h, 2d, 1w...")
    lst.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                     help="only runs with this tag (repeat: all of them)")
    lst.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (50)")
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(handler=handle_list)

    st = sub.add_parser("status", help="one execution's state")
    st.add_argument("id", metavar="ID")
    st.add_argument("--json", action="store_true", help="print the execution as JSON")
    st.set_defaults(handler=handle_status)

    logs = sub.add_parser("logs", help="an execution's event log")
    logs.add_argument("id", metavar="ID")
    logs.add_argument("--json", action="store_true",
                      help="print a JSON array of events (with --follow: one per line)")
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing new events until the execution stops")
    logs.set_defaults(handler=handle_logs)

    res = sub.add_parser("resume", help="answer a paused execution and continue it")
    res.add_argument("id", metavar="ID")
    res.add_argument("--input", metavar="JSON", help="what the pause returns, as JSON")
    res.add_argument("--pause", metavar="NAME", help="which pause (when several wait)")
    add_wait_options(res)
    res.set_defaults(handler=handle_resume)

    can = sub.add_parser("cancel", help="cancel an execution that has not finished")
    can.add_argument("id", metavar="ID")
    can.add_argument("--json", action="store_true", help="print the execution as JSON")
    can.set_defaults(handler=handle_cancel)

    ret = sub.add_parser("retry", help="resume a failed execution from its failed task")
    ret.add_argument("id", metavar="ID")
    add_wait_options(ret)
    ret.set_defaults(handler=handle_retry)

    rer = sub.add_parser("rerun", help="start a new execution with the same (or new) input")
    rer.add_argument("id", metavar="ID")
    rer.add_argument("--input", metavar="JSON", help="a different input, as JSON")
    add_wait_options(rer)
    rer.set_defaults(handler=handle_rerun)


def handle_list(command: Any, options: dict[str, Any]) -> int:
    if options["limit"] < 1:
        raise CliError(f"--limit must be at least 1, not {options['limit']}")
    start = None
    if options["since"]:
        try:
            start = dates.ago(timezone.now(), parse_span(options["since"]))
        except dates.BadMoment as exc:
            raise CliError(f"--since {options['since']}: {exc}") from None
    runs = list(queries.matching(
        statuses=[options["status"]] if options["status"] else [],
        workflow=options["workflow"], since=start,
        tags=starting.parse_tag_filters(options["tag"] or [], "="),
    ).order_by("-created_at", "-id")[: options["limit"]])
    if options["json"]:
        command.stdout.write(dumps([r.to_dict() for r in runs]))
        return EXIT_OK
    if not runs:
        command.stdout.write("No executions.")
        return EXIT_OK
    rows = [[r.id, r.workflow, r.status, when(r.created_at),
             duration(r.started_at, r.finished_at),
             f"{r.recovery_attempts}/{r.max_recovery_attempts}"] for r in runs]
    command.stdout.write(table(rows, ["ID", "WORKFLOW", "STATUS", "CREATED", "TOOK",
                                      "RECOVERY"]))
    return EXIT_OK


def handle_status(command: Any, options: dict[str, Any]) -> int:
    print_execution(command, get_execution(options["id"]), options["json"])
    return EXIT_OK


def handle_logs(command: Any, options: dict[str, Any]) -> int:
    execution = get_execution(options["id"])
    events = list(execution.events.order_by("seq"))
    if options["json"] and not options["follow"]:
        command.stdout.write(dumps([e.to_dict() for e in events]))
        return EXIT_OK
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
    value = parse_json(options["input"])
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
    value = parse_json(options["input"])
    execution = actions.rerun(original, value, use_input=given)
    return finish(command, execution, options, started=True)
