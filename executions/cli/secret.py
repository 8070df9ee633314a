"""``flux secret set|list|delete``: the encrypted secrets tasks ask for (``secret_requests``).

- ``set NAME [--value V]`` stores a value (from ``--value``, else standard input:
  ``printf %s "$KEY" | manage.py flux secret set STRIPE_KEY``); encrypted with
  ``FLUX_SECRETS_KEY``. Prefer stdin: ``--value`` shows in the process list.
- ``list [--json]`` prints names, never values.
- ``delete NAME``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError

from executions.cli.actions import actor
from executions.cli.common import EXIT_OK, CliError, dumps, table, when
from executions.core.secrets_store import delete_secret, set_secret
from executions.models import Secret


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("secret", help="set, list and delete secrets for tasks")
    sub = p.add_subparsers(dest="secret_verb", metavar="VERB", required=True)

    st = sub.add_parser("set", help="store a secret (value from stdin or --value)")
    st.add_argument("name", metavar="NAME", help="e.g. STRIPE_API_KEY")
    st.add_argument("--value", help="the value (default: read standard input)")
    st.add_argument("--description", help="what it is for")
    st.set_defaults(handler=handle_set)

    lst = sub.add_parser("list", help="secret names (never values)")
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(handler=handle_list)

    dl = sub.add_parser("delete", help="delete a secret")
    dl.add_argument("name", metavar="NAME")
    dl.set_defaults(handler=handle_delete)


def handle_set(command: Any, options: dict[str, Any]) -> int:
    value = options["value"]
    if value is None:
        stdin = getattr(command, "stdin", None) or sys.stdin
        if stdin.isatty():
            command.stderr.write(f"Value for {options['name']} (then Enter, Ctrl-D): ")
        value = stdin.read()
        value = value[:-1] if value.endswith("\n") else value
    try:
        set_secret(options["name"], value, actor=actor() or "",
                   description=options["description"])
    except ValidationError as exc:
        raise CliError(" ".join(exc.messages)) from None
    command.stdout.write(f"Secret {options['name']} set.")
    return EXIT_OK


def handle_list(command: Any, options: dict[str, Any]) -> int:
    secrets = list(Secret.objects.order_by("name"))
    if options["json"]:
        command.stdout.write(dumps([s.to_dict() for s in secrets]))
        return EXIT_OK
    if not secrets:
        command.stdout.write("No secrets.")
        return EXIT_OK
    command.stdout.write(table([[s.name, when(s.updated_at), s.updated_by or "-",
                                 s.description] for s in secrets],
                               ["NAME", "UPDATED", "BY", "DESCRIPTION"]))
    return EXIT_OK


def handle_delete(command: Any, options: dict[str, Any]) -> int:
    if not delete_secret(options["name"]):
        raise CliError(f"No secret named '{options['name']}'.")
    command.stdout.write(f"Secret {options['name']} deleted.")
    return EXIT_OK
