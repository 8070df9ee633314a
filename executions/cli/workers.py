"""``flux workers [--json]``: the worker processes, as their heartbeats tell.

Each ``flux worker`` reports itself every 2 s (``executions/core/workers.py``); those
heard of in the last 10 s are alive. Stopped ones are listed until they are
forgotten (a day), marked ``(silent)``; a worker that stops gracefully removes
its row at once.
"""

from __future__ import annotations

from typing import Any

from executions.cli.common import EXIT_OK, dumps, table


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("workers", help="list the worker processes and whether they are alive")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.set_defaults(handler=handle)


def handle(command: Any, options: dict[str, Any]) -> int:
    from executions.core import workers

    items = workers.recent()
    if options["json"]:
        command.stdout.write(dumps(items))
        return EXIT_OK
    if not items:
        command.stdout.write("No worker has reported (start one: manage.py flux worker).")
        return EXIT_OK
    rows = [[w["name"] + ("" if w["alive"] else " (silent)"), str(w["threads"]),
             w["started_at"], w["seen_at"]] for w in items]
    command.stdout.write(table(rows, ["WORKER", "THREADS", "STARTED", "SEEN"]))
    return EXIT_OK
