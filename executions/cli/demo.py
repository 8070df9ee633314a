"""``flux demo``: record the workflows, and start a few demo runs on an empty database.

So the dashboard has something to show on first start: a completed run, one
with retries, a graph, a failure, a sleep and one waiting for approval. It
starts nothing when any execution exists, or when the demo workflows are off
(``FLUX_DEMO=0``).
"""

from __future__ import annotations

from typing import Any

from executions.cli import actions
from executions.cli.common import EXIT_OK, verb
from executions.core import registry
from executions.models import Execution

#: (workflow, input) of the runs started on an empty database.
DEMO_RUNS: tuple[tuple[str, Any], ...] = (
    ("demo_hello", "world"),
    ("demo_retries", {"failures": 2}),
    ("demo_parallel", {}),
    ("demo_graph", 7),
    ("demo_rollback", {}),
    ("demo_failure", {}),
    ("demo_sleep", {"seconds": 5}),
    ("demo_approval", {"employee": "Ada", "amount": 120.0, "reason": "Conference ticket"}),
)


def add_parser(verbs: Any) -> None:
    verb(verbs, "demo", "sync workflows; start demo runs on an empty database", handle)


def handle(command: Any, options: dict[str, Any]) -> int:
    command.check(display_num_errors=False)
    command.stdout.write(str(registry.sync_workflows()))
    known = registry.registered()
    if not all(name in known for name, _ in DEMO_RUNS):
        command.stdout.write("Demo workflows are off (FLUX_DEMO=0): no demo runs started.")
        return EXIT_OK
    try:
        import executions.core.runner  # noqa: F401
    except ImportError:
        command.stdout.write("The runtime (executions.core.runner) is not here yet: no demo runs.")
        return EXIT_OK
    if Execution.objects.exists():
        command.stdout.write("Executions exist already: no demo runs started.")
        return EXIT_OK
    for name, value in DEMO_RUNS:
        execution = actions.start(name, value).execution
        command.stdout.write(f"Started {name} {execution.id}")
    return EXIT_OK
