"""The verbs of ``manage.py flux``, one module each (the command only dispatches).

Each module has ``add_parser(subparsers)``, which adds its verb and sets
``handler``: a function ``(command, options) -> exit code``. To add a verb,
write such a module and list it in :data:`VERB_MODULES`.
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
