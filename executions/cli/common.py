"""What every ``manage.py flux`` verb shares: the parser's common parts, exit codes,
errors, parsing and printing. A verb module builds its parser with :func:`verb_group`,
:func:`verb`, :func:`add_json_option` and :func:`add_wait_options`, reads JSON options
with :func:`json_option`, and prints with :func:`print_json` / :func:`print_list`.

Exit codes are a public contract (DESIGN.md): 0 completed or ok, 1 failed
(or cancelled), 2 bad input or a request that makes no sense in the
execution's state, 3 paused, 4 still in progress when ``--wait`` gave up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from executions.core import commands, dates
from executions.core.approvals import ApprovalError
from flux import Status

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_PENDING = 4


class CliError(Exception):
    """A request that cannot be done: one line on stderr, exit 2, nothing written."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


#: Errors of the command layer that refuse a request (its one error map,
#: ``commands.ERROR_ANSWERS``, and the approval errors): exit 2 with their message.
REFUSALS: tuple[type[BaseException], ...] = (CliError, ApprovalError, *commands.ERROR_CLASSES)


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the request (exit 2, one line) rather than being a fault:
    :data:`REFUSALS`, or a feature's own error that answers a 4xx (``http_status``, as
    ``executions.core.schedules``' errors; ``commands.error_answer`` reads the same)."""
    status = getattr(exc, "http_status", None)
    return isinstance(exc, REFUSALS) or (isinstance(status, int) and 400 <= status < 500)


def verb_name(options: dict[str, Any]) -> str:
    """``runs resume``: the verb (and its group's verb) the options were parsed for."""
    verb = options.get("verb") or ""
    return " ".join(v for v in (verb, options.get(f"{verb}_verb")) if v)


def exit_code_for(status: str) -> int:
    """The exit code that tells a script how an execution stands."""
    if status == Status.COMPLETED:
        return EXIT_OK
    if status in (Status.FAILED, Status.CANCELLED):
        return EXIT_FAILED
    if status == Status.PAUSED:
        return EXIT_PAUSED
    return EXIT_PENDING


def json_option(options: dict[str, Any], option: str = "--input") -> Any:
    """The value of a JSON-valued option (:func:`add_json_option`; None when not given),
    read by the command layer's one parser (InvalidInputError naming the option)."""
    text = options[option.lstrip("-").replace("-", "_")]
    return None if text is None else commands.parse_json(text, option)


def at_least(value: int, option: str, minimum: int = 1) -> int:
    if value < minimum:
        raise CliError(f"{option} must be at least {minimum}, not {value}")
    return value


_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str, option: str = "--since") -> timedelta:
    """``30s``, ``30m``, ``1h``, ``2d``, ``1w`` as a timedelta."""
    match = _SPAN.match(text or "")
    if not match and (text or "").strip().startswith("-"):
        raise CliError(f"{option} cannot be negative: {text!r} (give a span like 30m, 1h, "
                       "2d or 1w)")
    if not match:
        raise CliError(f"{option} takes a span like 30m, 1h, 2d or 1w, not {text!r}")
    try:
        return dates.span(**{_UNITS[match.group(2)]: float(match.group(1))})
    except dates.BadMoment as exc:
        raise CliError(f"{option} {text}: {exc}") from None


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def when(value: datetime | str | None) -> str:
    """A timestamp for people: ``2025-01-15 10:30:00 UTC``."""
    if value is None:
        return "-"
    moment = dates.readable(value)
    return str(value) if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def summary(value: Any, width: int = 100) -> str:
    """A value on one line, clipped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return _clip(text, width)


def _clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Plain columns, left-aligned, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [headers, *rows]]
    return "\n".join(lines)


#: A verb's handler: takes the command (for stdout/stderr) and the options; returns a code.
Handler = Callable[[Any, dict[str, Any]], int]


# building the parser ----------------------------------------------------------------

def verb_group(verbs: Any, name: str, help: str) -> Any:
    """``flux NAME VERB ...`` (``runs``, ``schedules``...): what :func:`verb` adds the
    group's verbs to. The verb chosen is ``options["NAME_verb"]``."""
    group = verbs.add_parser(name, help=help)
    return group.add_subparsers(dest=f"{name}_verb", metavar="VERB", required=True)


def verb(parent: Any, name: str, help: str, handler: Handler, *, target: str | None = None,
         target_help: str | None = None, json: str | None = None) -> Any:
    """A verb that calls ``handler``: with ``target``, one positional argument (its
    metavar, e.g. ``ID``; ``options["id"]``); with ``json``, a ``--json`` flag that
    prints ``json`` (e.g. "a JSON array"). Returns its parser for further options."""
    parser = parent.add_parser(name, help=help)
    if target is not None:
        parser.add_argument(target.lower(), metavar=target, help=target_help)
    if json is not None:
        parser.add_argument("--json", action="store_true", help=f"print {json}")
    parser.set_defaults(handler=handler)
    return parser


def add_json_option(parser: Any, option: str, help: str) -> None:
    """An option whose value is JSON text (read it with :func:`json_option`)."""
    parser.add_argument(option, metavar="JSON", help=help)


def add_wait_options(parser: Any) -> None:
    """``--wait``, ``--timeout`` and ``--json`` of the verbs that start or continue a run."""
    parser.add_argument("--wait", action="store_true",
                        help="wait until it completes, fails or pauses; exit 0, 1 or 3")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S",
                        help="give up waiting after S seconds (exit 4); default 300")
    parser.add_argument("--json", action="store_true", help="print the execution as JSON")


# printing --------------------------------------------------------------------------

def print_json(command: Any, value: Any) -> int:
    """``--json``: one JSON value on stdout."""
    command.stdout.write(dumps(value))
    return EXIT_OK


def print_list(command: Any, options: dict[str, Any], items: Iterable[Any], *,
               headers: list[str], row: Callable[[Any], list[str]], empty: str,
               as_json: Callable[[Any], Any] | None = None) -> int:
    """A list verb's output: with ``--json`` a JSON array (``as_json`` of each item, or
    the items), else ``empty`` or a table of ``row`` of each item under ``headers``."""
    items = list(items)
    if options["json"]:
        return print_json(command, [as_json(i) for i in items] if as_json else items)
    command.stdout.write(table([row(i) for i in items], headers) if items else empty)
    return EXIT_OK
