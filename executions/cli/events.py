"""``flux events send NAME --payload JSON [--execution ID] [--json]``: deliver an event to
the executions waiting for it (``wait_for_event``), as the command layer does for the
API. Prints who got it, or that it was kept for a later wait; ``--json`` prints
``{"delivered": [ids], "kept": bool}``."""

from __future__ import annotations

from typing import Any

from executions.cli.actions import actor
from executions.cli.common import (
    EXIT_OK,
    add_json_option,
    json_option,
    print_json,
    verb,
    verb_group,
)
from executions.core import commands


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "events", "send events to waiting executions")
    send = verb(sub, "send", "deliver an event (by name, or to one execution)", handle_send,
                target="NAME", target_help="the event's name, e.g. payment",
                json="the answer as JSON")
    add_json_option(send, "--payload", "the payload as JSON (default: null)")
    send.add_argument("--execution", metavar="ID", help="only this execution")


def handle_send(command: Any, options: dict[str, Any]) -> int:
    payload = json_option(options, "--payload")
    answer = commands.send_event(options["name"], payload, actor=actor(),
                                 execution_id=options["execution"])
    if options["json"]:
        return print_json(command, answer)
    if answer["delivered"]:
        command.stdout.write(f"Delivered to {len(answer['delivered'])} execution(s): "
                             + ", ".join(answer["delivered"]))
    else:
        command.stdout.write("Nobody waits for it: kept for a later wait.")
    return EXIT_OK
