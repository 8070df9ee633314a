"""``flux run WORKFLOW [--input JSON] [--idempotency-key K] [--priority N] [--tag K=V]...
[--wait] [--timeout S] [--json]``: start an execution.

With ``--idempotency-key``, a key already used for this workflow starts nothing and
prints that execution ("Already started ...").

Without ``--wait`` it prints the new execution (queued) and exits 0. With
``--wait`` it waits until the execution completes (0), fails or is cancelled
(1), pauses (3), or ``--timeout`` passes first (4), then prints it.
"""

from __future__ import annotations

from typing import Any

from executions.cli import actions
from executions.cli.common import (
    EXIT_OK,
    add_json_option,
    add_wait_options,
    exit_code_for,
    json_option,
    verb,
)
from executions.cli.show import print_execution, wait_for
from executions.core import starting


def add_parser(verbs: Any) -> None:
    p = verb(verbs, "run", "start an execution of a workflow", handle, target="WORKFLOW",
             target_help="the workflow's name")
    add_json_option(p, "--input", "the input, as JSON (default null)")
    p.add_argument("--idempotency-key", metavar="K",
                   help="start nothing if a run of this workflow has this key; print it")
    p.add_argument("--priority", type=int, default=0, metavar="N",
                   help="higher runs first (-1000 to 1000; default 0)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                   help="a tag (repeat for more)")
    add_wait_options(p)


def handle(command: Any, options: dict[str, Any]) -> int:
    value = json_option(options)
    tags = dict(starting.parse_tag_filters(options["tag"], "="))
    outcome = actions.start(options["workflow"], value,
                            idempotency_key=options["idempotency_key"],
                            priority=options["priority"], tags=tags)
    return finish(command, outcome.execution, options, started=outcome.created)


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
