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
from executions.cli.common import EXIT_OK, CliError, print_list, verb, verb_group, when
from executions.core.secrets_store import delete_secret, set_secret
from executions.models import Secret


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "secret", "set, list and delete secrets for tasks")
    st = verb(sub, "set", "store a secret (value from stdin or --value)", handle_set,
              target="NAME", target_help="e.g. STRIPE_API_KEY")
    st.add_argument("--value", help="the value (default: read standard input)")
    st.add_argument("--description", help="what it is for")
    verb(sub, "list", "secret names (never values)", handle_list, json="a JSON array")
    verb(sub, "delete", "delete a secret", handle_delete, target="NAME")


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
    return print_list(command, options, Secret.objects.order_by("name"),
                      headers=["NAME", "UPDATED", "BY", "DESCRIPTION"],
                      row=lambda s: [s.name, when(s.updated_at), s.updated_by or "-",
                                     s.description],
                      empty="No secrets.", as_json=lambda s: s.to_dict())


def handle_delete(command: Any, options: dict[str, Any]) -> int:
    if not delete_secret(options["name"]):
        raise CliError(f"No secret named '{options['name']}'.")
    command.stdout.write(f"Secret {options['name']} deleted.")
    return EXIT_OK
