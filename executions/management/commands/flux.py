"""``manage.py flux <verb>``: run, inspect and operate workflows from the command line.

The verbs live in ``executions/cli/`` (one module each); this command builds
the parser from them and turns their result into the exit code. Exit codes
are a public contract (see ``executions/cli/common.py``): a request that
cannot be done prints one line on stderr and exits 2, never a traceback
(``--traceback`` shows one for unexpected errors).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from executions.cli import VERB_MODULES
from executions.cli.common import EXIT_USAGE, CliError, is_refusal, verb_name


class Command(BaseCommand):
    help = ("Run and operate flux workflows: run, runs (list, status, logs, resume, cancel, "
            "retry, rerun), workflows list, schedules, worker, workers, up, demo, token, "
            "secret, events send.")
    # Verbs that start things (worker, up, demo) run the system checks themselves.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
        for name in VERB_MODULES:
            importlib.import_module(name).add_parser(verbs)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            code = options["handler"](self, options)
        except DatabaseError as exc:
            if options.get("traceback"):
                raise
            hint = " (is it migrated? run `manage.py migrate`)" if "table" in str(exc) else ""
            self.stderr.write(f"flux {verb_name(options)}: database error: "
                              f"{_one_line(exc)}{hint}")
            code = EXIT_USAGE
        except Exception as exc:
            if not is_refusal(exc):
                raise
            self.stderr.write(f"flux {verb_name(options)}: {_one_line(exc)}")
            code = exc.code if isinstance(exc, CliError) else EXIT_USAGE
        if code:
            raise SystemExit(code)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
