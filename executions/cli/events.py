"""``flux events send NAME --payload JSON [--execution ID] [--json]``: deliver an event to
the executions waiting for it (``wait_for_event``), as the command layer does for the
API. Prints who got it, or that it was kept for a later wait; ``--json`` prints
``{"delivered": [ids], "kept": bool}``."""

from __future__ import annotations

from typing import Any

from executions.cli.actions import actor
from executions.cli.common import EXIT_OK, dumps, parse_json
from executions.core import commands


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("events", help="send events to waiting executions")
    sub = p.add_subparsers(dest="events_verb", metavar="VERB", required=True)
    send = sub.add_parser("send", help="deliver an event (by name, or to one execution)")
    send.add_argument("name", metavar="NAME", help="the event's name, e.g. payment")
    send.add_argument("--payload", help="the payload as JSON (default: null)")
    send.add_argument("--execution", metavar="ID", help="only this execution")
    send.add_argument("--json", action="store_true", help="print the answer as JSON")
    send.set_defaults(handler=handle_send)


def handle_send(command: Any, options: dict[str, Any]) -> int:
    payload = parse_json(options["payload"], "--payload")
    answer = commands.send_event(options["name"], payload, actor=actor(),
                                 execution_id=options["execution"])
    if options["json"]:
        command.stdout.write(dumps(answer))
    elif answer["delivered"]:
        command.stdout.write(f"Delivered to {len(answer['delivered'])} execution(s): "
                             + ", ".join(answer["delivered"]))
    else:
        command.stdout.write("Nobody waits for it: kept for a later wait.")
    return EXIT_OK
