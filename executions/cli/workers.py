"""``flux workers [--json]``: the worker processes, as their heartbeats tell.

Each ``flux worker`` reports itself every 2 s (``executions/core/workers.py``); those
heard of in the last 10 s are alive. Stopped ones are listed until they are
forgotten (a day), marked ``(silent)``; a worker that stops gracefully removes
its row at once.
"""

from __future__ import annotations

from typing import Any

from executions.cli.common import print_list, verb


def add_parser(verbs: Any) -> None:
    verb(verbs, "workers", "list the worker processes and whether they are alive", handle,
         json="a JSON array")


def handle(command: Any, options: dict[str, Any]) -> int:
    from executions.core import workers

    return print_list(
        command, options, workers.recent(), headers=["WORKER", "THREADS", "STARTED", "SEEN"],
        row=lambda w: [w["name"] + ("" if w["alive"] else " (silent)"), str(w["threads"]),
                       w["started_at"], w["seen_at"]],
        empty="No worker has reported (start one: manage.py flux worker).")
