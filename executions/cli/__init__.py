"""The verbs of ``manage.py flux``, one module each (the command only dispatches).

Each module has ``add_parser(subparsers)``, which adds its verb (or its group of verbs)
with the shared builders of :mod:`executions.cli.common` (``verb_group``, ``verb``:
the positional target, ``--json``, the handler; ``add_json_option``,
``add_wait_options``). A handler is a function ``(command, options) -> exit code``; it
raises the command layer's errors (or ``CliError``) for a request that cannot be done,
and the command prints them as one line and exits 2 (``common.is_refusal``). To add a
verb, write such a module and list it in :data:`VERB_MODULES`.
"""

VERB_MODULES = (
    "executions.cli.run",
    "executions.cli.runs",
    "executions.cli.workflows",
    "executions.cli.worker",
    "executions.cli.workers",
    "executions.cli.up",
    "executions.cli.demo",
    "executions.cli.token",
    "executions.cli.secret",
    "executions.cli.schedules",
    "executions.cli.events",
)
