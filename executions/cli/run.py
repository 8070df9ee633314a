"""``flux run WORKFLOW [--input JSON] [--idempotency-key K] [--priority N] [--tag K=V]...
[--wait] [--timeout S] [--json]``: start an execution.
``flux run WORKFLOW --inputs-file F.jsonl [--priority N] [--tag K=V]... [--json]``: start
one per line of F (``-``: standard input), in one transaction.

With ``--idempotency-key``, a key already used for this workflow starts nothing and
prints that execution ("Already started ...").

Without ``--wait`` it prints the new execution (queued) and exits 0. With
``--wait`` it waits until the execution completes (0), fails or is cancelled
(1), pauses (3), or ``--timeout`` passes first (4), then prints it.

A line of ``--inputs-file`` is an item of the API's ``POST /api/workflows/{name}/runs``:
an object with the run's ``input`` and optionally its ``idempotency_key``, ``priority``
and ``tags`` (``--priority`` and ``--tag`` apply to the lines that give none); blank
lines are skipped. A bad line starts nothing: exit 2 naming its line number.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from executions.cli import actions
from executions.cli.common import (
    EXIT_OK,
    CliError,
    add_json_option,
    add_wait_options,
    dumps,
    exit_code_for,
    json_option,
    verb,
)
from executions.cli.show import print_execution, wait_for
from executions.core import commands, starting


def add_parser(verbs: Any) -> None:
    p = verb(verbs, "run", "start an execution of a workflow", handle, target="WORKFLOW",
             target_help="the workflow's name")
    add_json_option(p, "--input", "the input, as JSON (default null)")
    p.add_argument("--inputs-file", metavar="FILE",
                   help="start one run per line of FILE (JSON Lines, - for stdin): each an "
                        'object like {"input": ..., "idempotency_key": ...}')
    p.add_argument("--idempotency-key", metavar="K",
                   help="start nothing if a run of this workflow has this key; print it")
    p.add_argument("--priority", type=int, default=0, metavar="N",
                   help="higher runs first (-1000 to 1000; default 0)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="a tag (repeat for more)")
    add_wait_options(p)


def handle(command: Any, options: dict[str, Any]) -> int:
    tags = dict(starting.parse_tag_filters(options["tag"], "="))
    if options.get("inputs_file") is not None:
        return handle_file(command, options, tags)
    value = json_option(options)
    outcome = actions.start(options["workflow"], value,
                            idempotency_key=options["idempotency_key"],
                            priority=options["priority"], tags=tags)
    return finish(command, outcome.execution, options, started=outcome.created)


def handle_file(command: Any, options: dict[str, Any], tags: dict[str, str]) -> int:
    """``--inputs-file``: every line checked, then all started in one transaction."""
    for option in ("input", "idempotency_key"):
        if options.get(option) is not None:
            raise CliError(f"--{option.replace('_', '-')} and --inputs-file do not go "
                           "together: give it on each line.")
    if options.get("wait"):
        raise CliError("--wait takes a single run; it does not go with --inputs-file.")
    lines, items = read_items(options["inputs_file"])
    for item in items:
        if isinstance(item, dict):
            if options["priority"] and "priority" not in item:
                item["priority"] = options["priority"]
            if tags:
                item["tags"] = {**tags, **(item.get("tags") or {})}
    try:
        outcomes = actions.start_many(options["workflow"], items)
    except commands.InvalidItem as exc:
        where = f"{options['inputs_file']} line {lines[exc.index]}"
        field = f" ({exc.field})" if exc.field else ""
        raise CliError(f"{where}{field}: {exc.reason} Nothing was started.") from None
    if options["json"]:
        command.stdout.write(dumps([{"created": o.created, "execution": o.execution.to_dict()}
                                    for o in outcomes]))
        return EXIT_OK
    for o in outcomes:
        what = "Started" if o.created else "Already started"
        command.stdout.write(f"{what} {options['workflow']} {o.id}")
    created = sum(o.created for o in outcomes)
    command.stdout.write(f"{created} started, {len(outcomes) - created} already started.")
    return EXIT_OK


def read_items(path: str) -> tuple[list[int], list[Any]]:
    """The items of a JSON Lines file, with each one's line number (blank lines
    skipped); CliError naming the line that is not JSON."""
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"--inputs-file {path}: {exc.strerror or exc}") from None
    lines, items = [], []
    try:
        with stream:
            for number, text in enumerate(stream, 1):
                if not text.strip():
                    continue
                try:
                    items.append(json.loads(text))
                except (ValueError, RecursionError) as exc:
                    reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    raise CliError(f"{path} line {number}: not valid JSON ({reason}). "
                                   "Nothing was started.") from None
                lines.append(number)
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason}).") from None
    if not items:
        raise CliError(f"{path} has no lines to start: one JSON object per line.")
    return lines, items


def finish(command: Any, execution: Any, options: dict[str, Any], *, started: bool = False
           ) -> int:
    """Print the execution (after waiting, with ``--wait``) and choose the exit code."""
    if options.get("wait"):
        execution = wait_for(execution.id, options["timeout"])
        print_execution(command, execution, options["json"])
        return exit_code_for(execution.status)
    execution.refresh_from_db()
    if options["json"]:
        print_execution(command, execution, True)
    else:
        what = "Started" if started else "Already started" if options.get(
            "idempotency_key") else "Queued"
        command.stdout.write(f"{what} {execution.workflow} {execution.id} ({execution.status})")
        command.stdout.write(f"  follow: manage.py flux runs logs {execution.id} --follow")
    return EXIT_OK
