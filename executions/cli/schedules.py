"""``flux schedules <verb>``: runs started by the clock (docs/schedules.md).

- ``list [--json]``
- ``show NAME [--json]`` (with the next 5 fire times and the last runs)
- ``create NAME --workflow W (--cron EXPR | --every 15m) [--timezone TZ] [--input JSON]
  [--overlap P] [--catchup 10m] [--priority N] [--note TEXT] [--paused]``
- ``pause NAME [--note TEXT]``, ``resume NAME``, ``delete NAME``
- ``trigger NAME [--json]`` (a run now)
- ``backfill NAME --start ISO --end ISO [--json]`` (one run per fire time in the range)

Changes go through ``executions.core.schedules`` as the operating-system user (a trusted
actor, as every verb); a bad expression, timezone or range prints one line on stderr
and exits 2, having written nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from executions.cli.actions import actor
from executions.cli.common import (
    EXIT_OK,
    CliError,
    add_json_option,
    dumps,
    json_option,
    parse_span,
    print_json,
    print_list,
    table,
    verb,
    verb_group,
    when,
)
from executions.core import schedules
from executions.core.conf import clock
from executions.models import Execution, Schedule
from flux.schedule import OVERLAP_POLICIES

AS_JSON = "the schedule as JSON"


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "schedules", "list, make and operate schedules")
    verb(sub, "list", "every schedule, by name", handle_list, json="a JSON array")
    verb(sub, "show", "one schedule, its next 5 fire times and last runs", handle_show,
         target="NAME", json=AS_JSON)

    cr = verb(sub, "create", "a new schedule", handle_create, target="NAME", json=AS_JSON)
    cr.add_argument("--workflow", required=True, metavar="W")
    spec = cr.add_mutually_exclusive_group(required=True)
    spec.add_argument("--cron", metavar="EXPR", help="e.g. '0 9 * * MON-FRI'")
    spec.add_argument("--every", metavar="SPAN", help="an interval: 30s, 15m, 6h, 1d")
    cr.add_argument("--timezone", default="UTC", metavar="TZ", help="IANA name (UTC)")
    add_json_option(cr, "--input", "each run's input")
    cr.add_argument("--overlap", choices=OVERLAP_POLICIES, default="skip",
                    help="when the last run has not finished (skip)")
    cr.add_argument("--catchup", metavar="SPAN",
                    help="how late a missed fire may still start (5m)")
    cr.add_argument("--priority", type=int, default=0, metavar="N", help="higher first (0)")
    cr.add_argument("--note", default="", help="a note for people")
    cr.add_argument("--paused", action="store_true", help="create it paused")

    for name, helptext, handler in (("pause", "stop firing (until resumed)", handle_pause),
                                    ("resume", "fire again, from now on", handle_resume)):
        verb(sub, name, helptext, handler, target="NAME", json=AS_JSON).add_argument(
            "--note", help="why (shown with the schedule)")

    verb(sub, "delete", "delete a schedule (its runs stay)", handle_delete, target="NAME")
    verb(sub, "trigger", "start a run now", handle_trigger, target="NAME",
         json="the execution as JSON")
    bf = verb(sub, "backfill", "one run per fire time in a range", handle_backfill,
              target="NAME", json="the executions as JSON")
    bf.add_argument("--start", required=True, metavar="ISO", help="e.g. 2026-01-01T00:00Z")
    bf.add_argument("--end", required=True, metavar="ISO", help="included")


def _print(command: Any, row: Schedule, as_json: bool) -> None:
    now = clock.now()
    if as_json:
        print_json(command, row.to_dict(now))
        return
    state = "paused" if row.paused else "active"
    lines = [f"{row.name}  ({state})  workflow {row.workflow}",
             f"  {row.sentence()}",
             f"  overlap {row.overlap}, catch-up {row.catchup_seconds} s, priority "
             f"{row.priority}, input {dumps(row.input) if row.input is not None else 'null'}"]
    if row.note:
        lines.append(f"  note: {row.note}")
    fires = row.next_fires(now)
    lines.append("  next fires: " + (", ".join(when(t) for t in fires) if fires else "-"))
    if row.skipped:
        lines.append(f"  skipped: {row.skipped} (last {when(row.last_skipped_at)}: "
                     f"{row.last_skip_reason})")
    command.stdout.write("\n".join(lines))


def handle_list(command: Any, options: dict[str, Any]) -> int:
    now = clock.now()

    def row(r: Schedule) -> list[str]:
        fires = r.next_fires(now, 1)
        return [r.name, r.workflow, "paused" if r.paused else "active", r.sentence(),
                when(fires[0]) if fires else "-"]

    return print_list(command, options, Schedule.objects.order_by("name"),
                      headers=["NAME", "WORKFLOW", "STATE", "WHEN", "NEXT"], row=row,
                      empty="No schedules.", as_json=lambda r: r.to_dict(now))


def handle_show(command: Any, options: dict[str, Any]) -> int:
    row = schedules.get(options["name"])
    _print(command, row, options["json"])
    if not options["json"]:
        recent = Execution.objects.filter(schedule=row.name).order_by("-created_at")[:10]
        runs = [[e.id, e.status, when(e.scheduled_for), when(e.created_at)] for e in recent]
        if runs:
            command.stdout.write(table(runs, ["RUN", "STATUS", "FOR", "CREATED"]))
    return EXIT_OK


def handle_create(command: Any, options: dict[str, Any]) -> int:
    fields: dict[str, Any] = {
        "workflow": options["workflow"], "timezone": options["timezone"],
        "input": json_option(options), "overlap": options["overlap"],
        "priority": options["priority"], "note": options["note"],
        "paused": options["paused"]}
    if options["cron"] is not None:
        fields["cron"] = options["cron"]
    else:
        fields["interval_seconds"] = _seconds(options["every"], "--every")
    if options["catchup"] is not None:
        fields["catchup_seconds"] = _seconds(options["catchup"], "--catchup")
    row = schedules.create(options["name"], actor=actor(), **fields)
    if not options["json"]:
        command.stdout.write(f"Created schedule {row.name}.")
    _print(command, row, options["json"])
    return EXIT_OK


def _seconds(text: str, option: str) -> int:
    seconds = parse_span(text, option).total_seconds()
    if seconds != int(seconds):
        raise CliError(f"{option} must be whole seconds, not {text!r}")
    return int(seconds)


def handle_pause(command: Any, options: dict[str, Any]) -> int:
    row = schedules.pause(options["name"], actor=actor(), note=options["note"])
    return _done(command, row, "Paused", options)


def handle_resume(command: Any, options: dict[str, Any]) -> int:
    row = schedules.resume(options["name"], actor=actor(), note=options["note"])
    return _done(command, row, "Resumed", options)


def _done(command: Any, row: Schedule, what: str, options: dict[str, Any]) -> int:
    if options["json"]:
        return print_json(command, row.to_dict(clock.now()))
    command.stdout.write(f"{what} schedule {row.name}.")
    return EXIT_OK


def handle_delete(command: Any, options: dict[str, Any]) -> int:
    schedules.delete(options["name"], actor=actor())
    command.stdout.write(f"Deleted schedule {options['name']}.")
    return EXIT_OK


def handle_trigger(command: Any, options: dict[str, Any]) -> int:
    execution = schedules.trigger(options["name"], actor=actor())
    if options["json"]:
        return print_json(command, execution.to_dict())
    command.stdout.write(f"Started {execution.workflow} {execution.id} ({execution.status})")
    return EXIT_OK


def handle_backfill(command: Any, options: dict[str, Any]) -> int:
    start, end = _moment(options["start"], "--start"), _moment(options["end"], "--end")
    done = schedules.backfill(options["name"], start, end, actor=actor())
    if options["json"]:
        return print_json(command, [e.to_dict() for e in done.started + done.existing])
    command.stdout.write(f"Started {len(done.started)} run(s); {len(done.existing)} "
                         "fire time(s) had one already.")
    return EXIT_OK


def _moment(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} takes an ISO 8601 time such as 2026-01-01T09:00:00+01:00, "
                       f"not {text!r}") from None
    if value.tzinfo is None:
        raise CliError(f"{option} needs its offset (e.g. +00:00 or Z): {text!r}")
    return value
